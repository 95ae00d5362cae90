"""Whether a signed body has the shape Slack's payloads have.

Bolt's own middleware indexes payloads as Slack sends them: a list where Slack sends an
object (`"view": []`), an object where it sends an id (`"action_id": {}`), or an event
without its object makes it raise, and Bolt answers 500 with a traceback in the log; an id
of the wrong type reaches the database as a parameter it cannot bind. Slack never sends
such a body, but anyone holding the signing secret can, so the HTTP edge answers it 400
before Bolt reads it.
"""

from __future__ import annotations

# Keys that hold an id or a name wherever they appear (in a payload, its view, its blocks).
_TEXT_KEYS = frozenset({
    "id", "type", "team_id", "user_id", "channel_id", "enterprise_id", "api_app_id",
    "action_id", "callback_id", "block_id", "trigger_id", "response_url", "private_metadata",
    "value", "ts", "event_id", "event_ts", "command", "channel_type", "tab",
})  # fmt: skip
_TEXT_LISTS = frozenset({
    "selected_users", "selected_channels", "selected_conversations", "team_ids",
})  # fmt: skip
# Objects (or null) at the top of an interactive payload.
_OBJECTS = ("team", "enterprise", "channel", "container", "message", "view", "state")
_INTERACTIVE = {"block_actions", "block_suggestion", "view_submission", "view_closed",
                "shortcut", "message_action", "interactive_message"}  # fmt: skip
# Events whose `user` is a whole user object; in every other event it is an id.
_USER_OBJECT_EVENTS = {"user_change", "team_join"}


def problem(body: object) -> str | None:
    """What is wrong with the body's shape, in a few words; None if Slack could send it."""
    if not isinstance(body, dict):
        return "not an object"
    wrong = _wrong_leaf(body)
    if wrong:
        return wrong
    kind = body.get("type")
    if kind in _INTERACTIVE:
        return _interactive(body)
    if kind == "event_callback":
        return _event(body.get("event"))
    return None


def _wrong_leaf(body: dict) -> str | None:
    """The first key anywhere in the body whose value is not of its kind (walked without
    recursion: a body may nest as deep as its size allows)."""
    stack: list[object] = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        for key, value in item.items():
            if key in _TEXT_KEYS and not (value is None or isinstance(value, str)):
                return f"{key} is not text"
            if key in _TEXT_LISTS and not (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                return f"{key} is not a list of ids"
            if key == "values" and isinstance(value, dict):  # a view's state: keyed by our
                for block in value.values():  # own block and action ids, which may be any word
                    stack.extend(block.values() if isinstance(block, dict) else [block])
            elif key == "message" and isinstance(value, dict):
                # A message is Slack's to shape (an attachment's or unfurl's id is a number);
                # the app reads only its ts and the blocks it posted itself.
                if not isinstance(value.get("ts", ""), str):
                    return "message ts is not text"
                stack.extend(b for b in value.get("blocks") or [] if isinstance(b, dict))
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return None


def _interactive(body: dict) -> str | None:
    for key in _OBJECTS:
        if not isinstance(body.get(key) or {}, dict):
            return f"{key} is not an object"
    if not isinstance(body.get("user"), dict):
        return "user is not an object"
    actions = body.get("actions", [])
    if not isinstance(actions, list) or not all(isinstance(a, dict) for a in actions):
        return "actions is not a list of objects"
    if body["type"] == "block_actions" and not all(isinstance(a.get("action_id"), str)
                                                   for a in actions or [{}]):  # fmt: skip
        return "an action without an action_id"
    if body["type"] in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return "view is not an object with a type"
        state = view.get("state") or {}
        if not isinstance(state, dict) or not _objects_of_objects(state.get("values", {})):
            return "view state is not an object of blocks"
    return None


def _objects_of_objects(values: object) -> bool:
    return isinstance(values, dict) and all(
        isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
        for block in values.values()
    )


def _event(event: object) -> str | None:
    if not isinstance(event, dict):
        return "event is not an object"
    if not isinstance(event.get("type"), str):
        return "event has no type"
    user = event.get("user")
    if event["type"] in _USER_OBJECT_EVENTS:
        if not isinstance(user or {}, dict):
            return "user is not an object"
    elif not (user is None or isinstance(user, str)):
        return "user is not an id"
    if not isinstance(event.get("channel", ""), (str, dict)):
        return "channel is neither an id nor an object"
    if not isinstance(event.get("tokens") or {}, dict):
        return "tokens is not an object"
    return None
