"""The messages of a round (intro, check-in, answers, notices), built with Block Kit models
so Slack's limits are checked before anything is sent. None of them mentions a level, and
plain text (departments in "why", locations in a reason, the starter) is escaped here, where
the mrkdwn is built."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack import texts
from bot.slack.client import REINSTALL_ERRORS, TRANSIENT_ERRORS
from bot.slack.texts import escape

INTRO_EVENT = "worth_knowing_intro"

CHECKIN_MET = "checkin_met"
CHECKIN_NOT_YET = "checkin_not_yet"
CHECKIN_COULDNT = "checkin_couldnt"
CHECKIN_ACTIONS = {CHECKIN_MET: "met", CHECKIN_NOT_YET: "not_yet", CHECKIN_COULDNT: "couldnt"}
NUDGE_STAY = "nudge_stay"
NUDGE_LEAVE = "nudge_leave"
SAY_THANKS = "after_thanks"
KEEP_IN_TOUCH = "after_keep_in_touch"
STOP_KEEPING_IN_TOUCH = "after_keep_in_touch_stop"
# The longest thank-you note the modal takes (and the app sends).
MAX_NOTE = 500
THANKS_CALLBACK = "thanks_note"
LUNCH_PICK = "lunch_pick"
LUNCH_NONE = "lunch_none"
LUNCH_RESCHEDULE = "lunch_reschedule"

ANSWER_LINES = {
    "met": "✅ <@{user}> says you met. Thanks for letting us know!",
    "not_yet": "⏳ <@{user}> says not yet: there's still time this round.",
    "couldnt": "🙅 <@{user}> says you couldn't make it this time. Maybe next round!",
}
NOT_YET_AFTER_THE_ROUND = (
    "⏳ <@{user}> says not yet: this round is over, but you can still meet. Say so here when "
    "you have."
)


def mentions(user_ids: Sequence[str]) -> str:
    names = [f"<@{u}>" for u in user_ids]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def intro(
    channel_id: str,
    user_ids: Sequence[str],
    organiser: str,
    starter: str,
    why: str,
    group_id: int,
    abouts: Sequence[tuple[str, str]] = (),
    dates: Sequence | None = None,
    zone: str | None = None,
) -> tuple[str, list[dict]]:
    text = f"Hi {mentions(user_ids)}! You're a lunch group from <#{channel_id}> this round."
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f"👋 {text}\n{escape(why)}")),
        *([SectionBlock(text=MarkdownTextObject(
            text="\n".join(texts.ask_about(user, about) for user, about in abouts)))]
          if abouts else []),  # fmt: skip
        SectionBlock(
            text=MarkdownTextObject(
                text=f"🗓️ <@{organiser}> is organising this one: suggest a day and a place "
                "that works for everyone."
            )
        ),
        SectionBlock(text=MarkdownTextObject(text=f"💬 To get you started: _{escape(starter)}_")),
        *(date_blocks(group_id, dates, zone) if dates is not None else []),
        ActionsBlock(
            block_id=f"intro-{group_id}",
            elements=[
                ButtonElement(
                    text="We met 🎉", action_id=CHECKIN_MET, value=str(group_id), style="primary"
                ),
                ButtonElement(
                    text="We can't make it", action_id=CHECKIN_COULDNT, value=str(group_id)
                ),
            ],
        ),
    ]
    return text, [b.to_dict() for b in blocks]


def when(start) -> str:
    """A moment every reader sees in their own time zone (Slack's date formatting)."""
    epoch = int(start.timestamp())
    fallback = start.strftime("%a %d %b %H:%M UTC")
    return f"<!date^{epoch}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _label(start, zone: str | None, video: bool) -> str:
    """The day in the organiser's zone (a video lunch's button has no time: the list above
    it gives it in each reader's own; its UTC day was a day early for a Sydney-Auckland
    pair), and the time where the group shares that zone."""
    from zoneinfo import ZoneInfo

    local = start.astimezone(ZoneInfo(zone)) if zone else start
    return local.strftime("%a %-d %b") + ("" if video else local.strftime(", %H:%M"))


OFFER_BLOCK = "offer"  # the words offering the days (or asking the group to find one)
DATES_BLOCK = "dates"  # their buttons


def date_blocks(group_id: int, dates: Sequence, zone: str | None) -> list:
    """The dates everyone can make, as buttons (button text is plain text: the weekday and
    date, and the time where the group shares a zone); across zones the times are given in
    each reader's own zone beside them."""
    if not dates:
        return [SectionBlock(block_id=f"{OFFER_BLOCK}-{group_id}", text=MarkdownTextObject(
            text="📅 No day in this round suits everyone's lunch days: find one together "
            "here."))]  # fmt: skip
    video = any(d.video for d in dates)
    text = "📅 Days that suit everyone's lunch days: pick one, the others confirm."
    if video:
        text = ("📅 You're in different time zones: a video lunch, at a time inside "
                "everyone's working day. Pick one, the others confirm:\n"
                + "\n".join(f"• {when(d.start)}" for d in dates))  # fmt: skip
    buttons = [
        ButtonElement(text=_label(d.start, zone, video), action_id=f"{LUNCH_PICK}_{n}",
                      value=f"{group_id}:{int(d.start.timestamp())}")
        for n, d in enumerate(dates)
    ]  # fmt: skip
    buttons.append(ButtonElement(text="None of these", action_id=LUNCH_NONE, value=str(group_id)))
    return [SectionBlock(block_id=f"{OFFER_BLOCK}-{group_id}", text=MarkdownTextObject(text=text)),
            ActionsBlock(block_id=f"{DATES_BLOCK}-{group_id}-{len(dates)}", elements=buttons)]  # fmt: skip


def date_picked(user_id: str, start, organiser: str | None) -> str:
    confirm = f", or <@{organiser}> can confirm for the group" if organiser else ""
    return f"🙋 <@{user_id}> can do {when(start)}. The others: pick it too{confirm}."


def date_chosen_before(start, organiser: str | None) -> str:
    """To one person who pressed a day they had chosen already: the group was told then."""
    confirm = f" or <@{organiser}> confirms" if organiser else ""
    return (f"🙋 You already said you can do {when(start)}: it is set once the others pick it "
            f"too{confirm}.")  # fmt: skip


def lunch_day_gone(start) -> str:
    """To one person who pressed an old date button: that day has passed."""
    return (f"🗓️ {when(start)} has passed, so nothing changed. Pick a later day, or press "
            "None of these for more.")  # fmt: skip


ROUND_OVER = ("🗓️ This round is over, so its lunch stays as it was. The next round brings "
              "a new group.")  # fmt: skip


def lunch_already_agreed(start) -> str:
    """To one person whose click came after the day was set: nothing moved, and how to move it."""
    return (f"🗓️ Lunch is already on {when(start)}, so nothing changed. To choose another day, "
            "press Reschedule under that message.")  # fmt: skip


def lunch_agreed(
    group_id: int, start, google: str, outlook: str, picked: bool = False
) -> tuple[str, list[dict]]:
    text = f"🗓️ Lunch is on: {when(start)}. Enjoy!"
    if picked:
        text = (f"🗓️ Nobody had picked a day yet, so I picked the first that suits everyone: "
                f"{when(start)}. Reschedule if it doesn't work.")  # fmt: skip
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"agreed-{group_id}", elements=[
            ButtonElement(text="Add to Google Calendar", url=google, action_id="calendar_google"),
            ButtonElement(text="Add to Outlook", url=outlook, action_id="calendar_outlook"),
            ButtonElement(text="Reschedule", action_id=LUNCH_RESCHEDULE, value=str(group_id)),
        ]),
    ]  # fmt: skip
    return text, [b.to_dict() for b in blocks]


def lunch_reminder(start) -> tuple[str, list[dict]]:
    text = f"🥪 Lunch today: {when(start)}. Have a good one!"
    return text, [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()]


def checkin(group_id: int) -> tuple[str, list[dict]]:
    text = "Did you get to meet?"
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=f"👀 {text}")),
        ActionsBlock(
            block_id=f"checkin-{group_id}",
            elements=[
                ButtonElement(
                    text="We met", action_id=CHECKIN_MET, value=str(group_id), style="primary"
                ),
                ButtonElement(text="Not yet", action_id=CHECKIN_NOT_YET, value=str(group_id)),
                ButtonElement(
                    text="We couldn't make it", action_id=CHECKIN_COULDNT, value=str(group_id)
                ),
            ],
        ),
    ]
    return text, [b.to_dict() for b in blocks]


ANSWER_BLOCK = "answer"


def answered(
    outcome: str, user_id: str, group_id: int | None = None, round_over: bool = False
) -> tuple[str, list[dict]]:
    line = NOT_YET_AFTER_THE_ROUND if outcome == "not_yet" and round_over else ANSWER_LINES[outcome]
    text = line.format(user=user_id)
    blocks = [SectionBlock(block_id=ANSWER_BLOCK, text=MarkdownTextObject(text=text))]
    if outcome == "met" and group_id is not None:
        blocks.append(after_lunch_buttons(group_id))
    return text, [b.to_dict() for b in blocks]


def answered_on(
    blocks: Sequence[dict], outcome: str, user_id: str, group_id: int, round_over: bool = False
) -> tuple[str, list[dict]]:
    """The message a check-in button was pressed on, as it reads afterwards: what it said,
    the latest answer instead of an earlier one, and the buttons swapped for what comes
    next; after "not yet" its buttons stay, to answer once they have met."""
    text, answer = answered(outcome, user_id, group_id, round_over)
    buttons = [b for b in blocks if b.get("type") == "actions"] if outcome == "not_yet" else []
    offer = set() if buttons else _offer_of_days(blocks)  # no buttons: nothing left to pick
    kept = [b for n, b in enumerate(blocks) if b.get("type") != "actions"
            and b.get("block_id") != ANSWER_BLOCK and n not in offer]  # fmt: skip
    return text, kept + answer + buttons


def _offer_of_days(blocks: Sequence[dict]) -> set[int]:
    """Where the intro offers days to pick (or asks the group to find one): the block named
    so, or, in an intro sent before it was, the section just above the day buttons."""
    ids = [str(b.get("block_id") or "") for b in blocks]
    return {n for n, block_id in enumerate(ids) if block_id.startswith(f"{OFFER_BLOCK}-")
            or (blocks[n].get("type") == "section" and n + 1 < len(ids)
                and ids[n + 1].startswith(f"{DATES_BLOCK}-"))}  # fmt: skip


def after_lunch_buttons(group_id: int) -> ActionsBlock:
    """For each member after a lunch: a note to the others, and keeping in touch."""
    return ActionsBlock(
        block_id=f"after-{group_id}",
        elements=[
            ButtonElement(text="Say thanks 💌", action_id=SAY_THANKS, value=str(group_id)),
            ButtonElement(
                text="Let's keep in touch 🤝", action_id=KEEP_IN_TOUCH, value=str(group_id)
            ),
        ],
    )


def thanks_modal(group_id: int, others: Sequence[str]) -> View:
    return View(
        type="modal",
        callback_id=THANKS_CALLBACK,
        private_metadata=str(group_id),
        title="Say thanks",
        submit="Send",
        close="Cancel",
        blocks=[
            InputBlock(
                block_id="note",
                label="A note for the others in your lunch group",
                hint="Sent to each of them as a direct message from the app, with your name.",
                element=PlainTextInputElement(action_id="value", multiline=True,
                                              max_length=MAX_NOTE),  # fmt: skip
            ),
        ],
    )


def thanks_note(from_user: str, channel_id: str, note: str) -> str:
    """The note as the others read it: their words, shown as the plain text they are."""
    quoted = "\n".join(f"> {line}" for line in escape(note).splitlines() or [""])
    return f"💌 A note from <@{from_user}> after your lunch from <#{channel_id}>:\n{quoted}"


def keep_in_touch_formed(weeks: int) -> str:
    return (f"🤝 You all want to keep in touch: I'll remind you here every {weeks} weeks to "
            "have lunch again. `/meet keep-in-touch` shows or stops it.")  # fmt: skip


def keep_in_touch_reminder(group_id: int, weeks: int) -> tuple[str, list[dict]]:
    text = (f"🤝 It's been {weeks} weeks: time for another lunch together? Whoever suggests "
            "a day first is organising.")  # fmt: skip
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(block_id=f"touch-{group_id}", elements=[
            ButtonElement(text="Stop these reminders", action_id=STOP_KEEPING_IN_TOUCH,
                          value=str(group_id)),
        ]),
    ]  # fmt: skip
    return text, [b.to_dict() for b in blocks]


def unmatched(channel_id: str, reason: str) -> str:
    return (
        f"No lunch group for you this round in <#{channel_id}>: {escape(reason)}. "
        "You'll be first in line next round."
    )


def nudge(channel_id: str, program_id: int, rounds: int) -> tuple[str, list[dict]]:
    text = (
        f"We haven't heard from you in the last {rounds} lunch rounds in <#{channel_id}>. "
        "Would you like to keep getting lunch groups?"
    )
    blocks = [
        SectionBlock(text=MarkdownTextObject(text=text)),
        ActionsBlock(
            block_id=f"nudge-{program_id}",
            elements=[
                ButtonElement(
                    text="Keep me in", action_id=NUDGE_STAY, value=str(program_id), style="primary"
                ),
                ButtonElement(text="Take me out", action_id=NUDGE_LEAVE, value=str(program_id)),
            ],
        ),
    ]
    return text, [b.to_dict() for b in blocks]


def nudge_answer(stay: bool, channel_id: str) -> str:
    if stay:
        return f"Great, you're still in for lunch groups in <#{channel_id}>."
    return (
        f"Done: no more lunch groups in <#{channel_id}>. `/meet join` there brings you back."
    )


def summary(groups: int, met: int) -> str:
    noun = "group" if groups == 1 else "groups"
    return (
        f"🥪 This round of Worth Knowing: {groups} lunch {noun} formed, "
        f"{met} reported meeting. Next round soon!"
    )



# What an admin can do about a group whose intro Slack refused, by Slack's error code.
_REINSTALL = (
    "Slack no longer accepts the app's token in this workspace: reinstall Worth Knowing "
    "(and check it still has every scope it asks for)."
)
FAILURE_ADVICE = {
    "user_not_visible": "The app can't DM someone outside this workspace (Slack Connect) "
    "who shares no channel with it: invite them to a channel the app is in, or leave them out.",
    "too_many_users": "A group DM holds at most 8 people besides the app: choose a smaller "
    "group size (`/meet size`).",
    "user_disabled": "Someone in the group was deactivated; they won't be paired again.",
    "user_not_found": "Someone in the group is no longer in the workspace; they won't be "
    "paired again.",
    "cannot_dm_bot": "A bot was in the group; bots are left out from the next round.",
    "restricted_action": "This workspace's settings don't let the app start group DMs: a "
    "workspace admin can allow it.",
    "not_allowed_token_type": _REINSTALL,
    "ratelimited": "Slack kept asking the app to slow down for every attempt; nothing to fix "
    "unless it happens every round.",
    "timeout": "Slack didn't answer in time at any attempt: check the server's connection to "
    "Slack if it happens again.",
}
FAILURE_ADVICE["invalid_user_combination"] = FAILURE_ADVICE["user_not_visible"]
FAILURE_ADVICE["users_not_found"] = FAILURE_ADVICE["user_not_found"]
FAILURE_ADVICE["user_is_restricted"] = FAILURE_ADVICE["restricted_action"]
FAILURE_ADVICE["connection_error"] = FAILURE_ADVICE["timeout"]
for _code in REINSTALL_ERRORS:
    FAILURE_ADVICE[_code] = _REINSTALL
for _code in TRANSIENT_ERRORS:  # those without a sentence of their own above
    FAILURE_ADVICE.setdefault(
        _code,
        "Slack had trouble at every attempt; nothing to fix unless it happens again "
        "(see status.slack.com).",
    )


def failure_advice(code: str | None) -> str:
    """One sentence for an admin: what the error means and what to do about it."""
    code = code or ""
    if code in FAILURE_ADVICE:
        return FAILURE_ADVICE[code]
    if code.startswith("http_"):
        return FAILURE_ADVICE["fatal_error"]
    return (
        "Slack refused this group's DM with that error; Slack's docs for conversations.open "
        "and chat.postMessage say what it means."
    )
