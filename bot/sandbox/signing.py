"""Build inbound Slack requests (slash commands, interactions, events) signed the way Slack signs.

Every builder returns ``(body: bytes, headers: dict)`` so the same request can be POSTed to a
running app over HTTP with :func:`post` or dispatched in-process through Bolt with
:func:`bolt_request`. Pass ``timestamp=`` (e.g. ``time.time() - 600``) to build a stale request
and :func:`bad_signature` to corrupt a valid one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlencode

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
VERIFICATION_TOKEN = "legacy-verification-token"


def signature(secret: str, timestamp: int | str, body: bytes | str) -> str:
    raw = body if isinstance(body, bytes) else body.encode()
    base = f"v0:{timestamp}:".encode() + raw
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(
    secret: str,
    body: bytes,
    content_type: str,
    timestamp: float | None = None,
    extra_headers: dict[str, str] | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Attach Slack's timestamp and v0 signature headers to an arbitrary body."""
    ts = int(time.time() if timestamp is None else timestamp)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
        **(extra_headers or {}),
    }
    return body, headers


def bad_signature(headers: dict[str, str]) -> dict[str, str]:
    """A copy of ``headers`` whose signature no longer matches (last hex digit flipped)."""
    out = dict(headers)
    sig = out["X-Slack-Signature"]
    out["X-Slack-Signature"] = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    return out


def new_trigger_id() -> str:
    return f"{secrets.randbelow(10**11)}.{secrets.randbelow(10**11)}.{secrets.token_hex(16)}"


def _user(user_id: str, team_id: str) -> dict[str, str]:
    name = user_id.lower()
    return {"id": user_id, "username": name, "name": name, "team_id": team_id}


def _payload(secret: str, payload: dict, timestamp: float | None) -> tuple[bytes, dict]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    return sign(secret, body, FORM, timestamp)


def slash_command(
    secret: str,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    response_url: str,
    team_id: str = "T1",
    command: str = "/meet",
    trigger_id: str | None = None,
    timestamp: float | None = None,
    team_domain: str = "acme",
    channel_name: str = "general",
    user_name: str | None = None,
    api_app_id: str = "A1",
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """With ``is_enterprise_install``, from a workspace of an org the app is installed in
    org-wide (``enterprise_id``)."""
    grid = [("enterprise_id", enterprise_id), ("enterprise_name", "Org")] if enterprise_id else []
    fields = [
        ("token", VERIFICATION_TOKEN),
        ("team_id", team_id),
        *grid,
        ("team_domain", team_domain),
        ("channel_id", channel_id),
        ("channel_name", channel_name),
        ("user_id", user_id),
        ("user_name", user_name or user_id.lower()),
        ("command", command),
        ("text", text),
        ("api_app_id", api_app_id),
        ("is_enterprise_install", "true" if is_enterprise_install else "false"),
        ("response_url", response_url),
        ("trigger_id", trigger_id or new_trigger_id()),
    ]
    return sign(secret, urlencode(fields).encode(), FORM, timestamp)


def block_action(
    secret: str,
    action_id: str,
    value: str,
    *,
    user_id: str,
    team_id: str = "T1",
    channel_id: str | None = None,
    message_ts: str | None = None,
    container: dict | None = None,
    view: dict | None = None,
    response_url: str | None = None,
    block_id: str = "actions",
    trigger_id: str | None = None,
    message: dict | None = None,
    action_type: str = "button",
    timestamp: float | None = None,
    api_app_id: str = "A1",
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """A ``block_actions`` payload from a message (channel_id/message_ts) or a view (view=);
    ``is_enterprise_install`` as from an org-wide install, whose payloads name no team."""
    action_ts = f"{time.time():.6f}"
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "type": action_type,
        "action_ts": action_ts,
    }
    if action_type == "button":
        action.update(value=value, text={"type": "plain_text", "text": value, "emoji": True})
    elif action_type == "multi_users_select":  # value: the chosen user ids, comma-separated
        action["selected_users"] = [user for user in value.split(",") if user]
    elif action_type == "plain_text_input":  # Enter pressed in an input that dispatches
        action["value"] = value
    elif action_type == "checkboxes":  # value: the checked options' values, comma-separated
        action["selected_options"] = [{"value": v} for v in value.split(",") if v]
    elif action_type == "timepicker":
        action["selected_time"] = value
    else:
        action["selected_option"] = {"text": {"type": "plain_text", "text": value}, "value": value}
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "team": None if is_enterprise_install else {"id": team_id, "domain": "acme"},
        "enterprise": {"id": enterprise_id, "name": "Org"} if enterprise_id else None,
        "is_enterprise_install": is_enterprise_install,
        "state": {"values": {}},
        "actions": [action],
    }
    if view is not None:
        view = {
            "id": "V0000000001",
            "team_id": team_id,
            "type": "home",
            "blocks": [],
            "private_metadata": "",
            "callback_id": "",
            "state": {"values": {}},
            "hash": "h",
            "app_id": api_app_id,
            **view,
        }
        payload["view"] = view
        payload["container"] = container or {"type": "view", "view_id": view["id"]}
    elif channel_id is not None:
        ts = message_ts or action_ts
        payload["container"] = container or {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": False,
        }
        payload["channel"] = {"id": channel_id, "name": "privategroup"}
        payload["message"] = message or {
            "type": "message",
            "ts": ts,
            "text": "",
            "user": "UBOT",
            "blocks": [],
        }
    elif container is not None:
        payload["container"] = container
    if response_url is not None:
        payload["response_url"] = response_url
    return _payload(secret, payload, timestamp)


def view_submission(
    secret: str,
    callback_id: str,
    values: dict[str, dict[str, Any]],
    *,
    user_id: str,
    team_id: str = "T1",
    private_metadata: str = "",
    view_id: str = "V0000000002",
    blocks: list | None = None,
    trigger_id: str | None = None,
    timestamp: float | None = None,
    api_app_id: str = "A1",
) -> tuple[bytes, dict[str, str]]:
    """``values`` is view.state.values; a plain string leaf becomes a plain_text_input value."""
    state = {
        block: {
            action: {"type": "plain_text_input", "value": v} if isinstance(v, str) else v
            for action, v in actions.items()
        }
        for block, actions in values.items()
    }
    payload = {
        "type": "view_submission",
        "team": {"id": team_id, "domain": "acme"},
        "user": _user(user_id, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or new_trigger_id(),
        "view": {
            "id": view_id,
            "team_id": team_id,
            "type": "modal",
            "blocks": blocks or [],
            "private_metadata": private_metadata,
            "callback_id": callback_id,
            "state": {"values": state},
            "hash": "h",
            "app_id": api_app_id,
            "title": {"type": "plain_text", "text": "Worth Knowing"},
            "close": None,
            "submit": {"type": "plain_text", "text": "Save"},
            "root_view_id": view_id,
            "previous_view_id": None,
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return _payload(secret, payload, timestamp)


def event_callback(
    secret: str,
    event: dict,
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    event_time: int | None = None,
    api_app_id: str = "A1",
    authorizations: list[dict] | None = None,
    bot_user_id: str = "UBOT",
    retry_num: int | None = None,
    retry_reason: str = "http_timeout",
    timestamp: float | None = None,
    enterprise_id: str | None = None,
    is_enterprise_install: bool = False,
) -> tuple[bytes, dict[str, str]]:
    """With ``is_enterprise_install``, as Slack sends an event through an org-wide
    installation: the workspace only in the outer ``team_id``, the installation's own
    ``team_id`` null."""
    now = int(time.time())
    body = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or "Ev" + secrets.token_hex(5).upper(),
        "event_time": event_time if event_time is not None else now,
        "authorizations": authorizations
        if authorizations is not None
        else [
            {
                "enterprise_id": enterprise_id,
                "team_id": None if is_enterprise_install else team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": is_enterprise_install,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_hex(12),
    }
    extra = {}
    if retry_num is not None:
        extra = {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
    return sign(secret, json.dumps(body).encode(), JSON, timestamp, extra)


def url_verification(
    secret: str, challenge: str, *, timestamp: float | None = None
) -> tuple[bytes, dict[str, str]]:
    body = {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    return sign(secret, json.dumps(body).encode(), JSON, timestamp)


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float = 10.0
) -> tuple[int, dict[str, str], str]:
    """POST to a running app; 4xx/5xx come back as values rather than exceptions."""
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers.items()), resp.read().decode("utf-8")
    except urllib.error.HTTPError as e:
        with e:
            return e.code, dict(e.headers.items()), e.read().decode("utf-8", "replace")


def bolt_request(body: bytes, headers: dict[str, str]):
    """The same request as a Bolt ``BoltRequest``, for ``app.dispatch(...)`` in-process."""
    from bot.edge.bolt_request import bolt_request as read

    return read(body.decode("utf-8"), headers=headers)
