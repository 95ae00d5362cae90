"""What the app says to people, kept together so the voice stays consistent.

Text people type is stored as plain text (`unescape_slack` undoes Slack's escaping once) and
escaped by `escape` wherever mrkdwn is built, so a department called "<!channel>" is shown
as those characters and can never ping anyone, link anywhere or mention someone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from bot.slack.client import REINSTALL_ERRORS

HELP = (
    "*Worth Knowing* pairs people in a channel for lunch with someone from another corner "
    "of the company, on a schedule.\n"
    "• `/meet status`: your programs, next round and current group\n"
    "• `/meet history`: whom you have met\n"
    "• `/meet leave` / `/meet join`: stop or start taking part in this channel\n"
    "• `/meet pause 2 weeks` or `/meet pause until 2026-01-31`, `/meet resume`: skip a while\n"
    "• `/meet level &lt;1-9&gt;`, `/meet department &lt;name&gt;`, "
    "`/meet location &lt;name&gt;`: "
    "help matching find you a good lunch\n"
    "• `/meet about &lt;text&gt;`: a line in your intros, what you'd like to be asked about\n"
    "• `/meet days mon tue thu`, `/meet lunchtime 12:30`: when you can have lunch\n"
    "• `/meet keep-in-touch`: the groups you keep in touch with after lunch\n"
    "• `/meet avoid @person`: never be grouped with someone (private: they're not told, "
    "nobody sees your list), `/meet unavoid @person`, `/meet avoid list`\n"
    "• `/meet forget-me`: delete what the app stores about you\n"
    "Admins: `/meet setup`, `/meet schedule weekly mon 12:00 Europe/Berlin`, `/meet size 2`, "
    "`/meet now`, `/meet stats`, `/meet enable` / `disable`, `/meet external on|off`, "
    "`/meet level|department|location @person …`, `/meet office-days &lt;location&gt; tue thu`, "
    "`/meet admins add|remove|list`."
)

def slack_refused(code: str) -> str:
    """A button whose work Slack would not let finish: said to the person who clicked it."""
    return (f"⚠️ I couldn't finish that: Slack answered `{code}`. Please try again in a "
            "moment; if it keeps happening, tell your Slack admin.")  # fmt: skip


SOMETHING_WRONG = (
    "Sorry, something went wrong on my side. Please try again in a minute; if it keeps "
    "happening, tell your Slack admin."
)
NOT_ADMIN = (
    "Sorry, only workspace admins and Worth Knowing admins can do that. "
    "An admin can add you with `/meet admins add @you`."
)
SLACK_TROUBLE = "Slack didn't let me do that just now ({error}). Please try again in a minute."


def settings_not_saved(code: str) -> str:
    """Slack would not say who submitted the settings form, so it was not saved."""
    return (f"⚠️ Your settings weren't saved: Slack didn't let me check that you're an admin "
            f"just now (`{code}`). Please open the settings and save them again in a minute.")  # fmt: skip


_SLACK_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">"}
_SLACK_ENTITY = re.compile("|".join(_SLACK_ENTITIES))


# mrkdwn has no escape for its formatting marks: typed text shows look-alikes instead, which
# nothing formats (*bold*, _italic_, ~strike~ and `code` typed by someone stay as typed). An
# underscore inside a word formats nothing and stays, as in lunch_club or NYC_HQ.
_MARKS = str.maketrans({"*": "\u2217", "~": "\u223c", "`": "\u02cb"})
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")


def as_slack_sends(text: str) -> str:
    """Text as Slack sends what a person typed: &, < and > written as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Plain text → mrkdwn that shows that text and nothing else: no mention, link or
    formatting of its own (Slack's rule for &, < and >, and look-alikes for the marks)."""
    return _EDGE_UNDERSCORE.sub("\u02cd", as_slack_sends(text).translate(_MARKS))


def unescape_slack(text: str) -> str:
    """What a person typed, from the text Slack sent: its three escapes undone exactly once."""
    return _SLACK_ENTITY.sub(lambda match: _SLACK_ENTITIES[match.group(0)], text)


def usage_error(message: str, usage: str | None) -> str:
    return f"{message}\nTry: `{escape(usage)}`" if usage else message


def channel(channel_id: str) -> str:
    return f"<#{channel_id}>"


def person(user_id: str) -> str:
    return f"<@{user_id}>"


def people(user_ids: Sequence[str]) -> str:
    names = [person(u) for u in user_ids]
    if not names:
        return "someone who has since left"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def channels(channel_ids: Sequence[str]) -> str:
    return ", ".join(channel(c) for c in channel_ids)


def day(date: dt.date) -> str:
    return f"{date:%A} {date.day} {date:%B} {date.year}"


# -- taking part --------------------------------------------------------------------------------


def no_program_here(command: str, program_channels: Sequence[str]) -> str:
    if program_channels:
        return (
            f"There's no lunch pairing in this conversation. Run `/meet {command}` in the "
            f"channel it's about: you're in {channels(program_channels)}."
        )
    return (
        "There's no lunch pairing in this conversation, and you're not in any channel that "
        "has it. Join one, or ask an admin to run `/meet setup` in a channel."
    )


def joined(channel_id: str, changed: bool, held: str = "") -> str:
    """`held`: what still keeps them out of the next round (a pause, the program off)."""
    if not changed:
        text = f"You're already taking part in {channel(channel_id)}."
    elif held:
        text = f"Welcome back to {channel(channel_id)}. `/meet leave` stops it again."
    else:
        text = (
            f"Welcome back! You'll be in the next lunch round in {channel(channel_id)}. "
            "`/meet leave` stops it again."
        )
    return f"{text} {held}".strip()


def not_taking_part(channel_id: str) -> str:
    return (f"You don't take part in {channel(channel_id)} at the moment: `/meet join` there "
            "brings you back.")  # fmt: skip


def still_paused(until: dt.date) -> str:
    return f"You're paused through {day(until)}: `/meet resume` ends that sooner."


def not_in_channel_now(channel_id: str) -> str:
    return (
        f"You're on the list for {channel(channel_id)} again, but you're not in that channel "
        "any more: join it to be in its next lunch round."
    )


def switched_off_now(channel_id: str) -> str:
    return f"Lunch rounds in {channel(channel_id)} are switched off for now: an admin can turn them back on."


def left(channel_id: str, changed: bool) -> str:
    if not changed:
        return f"You're already not taking part in {channel(channel_id)}. `/meet join` brings you back."
    return (
        f"Done: no more lunch groups for you in {channel(channel_id)}, and you can stay in the "
        "channel. `/meet join` brings you back."
    )


def paused(channel_id: str | None, until: dt.date, held: str = "") -> str:
    where = f"in {channel(channel_id)}" if channel_id else "in all your programs"
    if held:
        return f"Paused {where} through {day(until)}. {held}"
    return (
        f"Paused {where} through {day(until)}: you'll be back for the first round after that. "
        "`/meet resume` brings you back sooner."
    )


def resumed(
    channel_id: str | None, changed: bool, still_until: dt.date | None, held: str = ""
) -> str:
    where = f"in {channel(channel_id)}" if channel_id else "everywhere"
    if held:
        return (f"You're no longer paused {where}. " if changed else
                f"You weren't paused {where}. ") + held  # fmt: skip
    text = f"You're back {where} for the next round." if changed else f"You weren't paused {where}."
    if still_until:
        text += (
            f" You're still paused in all your programs through {day(still_until)}: "
            "run `/meet resume` in a direct message with me to end that too."
        )
    return text


# -- profile ----------------------------------------------------------------------------------

SOURCE_NAMES = {
    "admin": "set by an admin",
    "import": "from the HR import",
    "profile": "from your Slack profile",
    "self": "set by you",
    "title": "from your job title",
}


def profile_saved(attribute: str, value, winner_value, winner_source: str | None) -> str:
    shown = escape(str(value))
    text = f"Saved: your {attribute} is now *{shown}*."
    if winner_source and winner_source != "self" and winner_value != value:
        text = (
            f"Saved your {attribute} as *{shown}*, but matching uses "
            f"*{escape(str(winner_value))}* ({SOURCE_NAMES.get(winner_source, winner_source)}), "
            "which comes first."
        )
    return text + " Only you and admins can see your level." if attribute == "level" else text


def withdrawn_person(user_id: str) -> str:
    return (
        f"Nothing saved: {person(user_id)} has left every lunch program here or asked me to "
        "forget them, so I keep nothing about them. If they join a program again, set it then."
    )


def profile_saved_for(user_id: str, attribute: str, value) -> str:
    return (
        f"Saved: {person(user_id)}'s {attribute} is now *{escape(str(value))}* (set by an admin)."
    )


SELF_LEVELS_OFF = (
    "Levels are set by admins here: this program doesn't let people set their own. "
    "An admin can turn that on in the program's settings."
)
SELF_LEVELS_OFF_EVERYWHERE = (
    "Levels are set by admins: none of this workspace's lunch programs lets people set "
    "their own. An admin can turn that on in a program's settings."
)


def user_not_in_workspace(user_id: str) -> str:
    return f"I can't find `{escape(user_id)}` in this workspace: pick someone from the @ list."


def user_is_bot(user_id: str) -> str:
    return f"{person(user_id)} is a bot; bots don't go to lunch."


def user_deactivated(user_id: str) -> str:
    return f"{person(user_id)}'s account is deactivated."


# -- ask me about -----------------------------------------------------------------------------


def ask_about(user_id: str, about: str) -> str:
    """The intro's line for one member: their own words, shown as the plain text they are."""
    return f"🗣️ Ask {person(user_id)} about: {escape(about)}"


def about_shown(user_id: str, about: str | None) -> str:
    if not about:
        return ("Your intros have no \"ask me about\" line yet. `/meet about sourdough, "
                "20 years of studio history` adds one, for the people in your lunch groups.")  # fmt: skip
    return (f"Your intros say: {ask_about(user_id, about)}\n`/meet about …` changes it, "
            "`/meet about clear` removes it.")  # fmt: skip


def about_saved(user_id: str, about: str) -> str:
    if not about:
        return "Done: your intros won't have an \"ask me about\" line."
    return (f"Saved. Your next lunch groups will read: {ask_about(user_id, about)}\n"
            "Only the people in your groups see it.")  # fmt: skip


# -- insights ----------------------------------------------------------------------------------


def counted(number: int, one: str, many: str) -> str:
    """"1 round", "2 rounds": a count and its noun, singular for one."""
    return f"{number} {one if number == 1 else many}"


def reach_line(reach) -> str:
    """How far a person's lunches reached, in their own history: never anyone's level."""
    parts = [counted(reach.people, "person", "people")]
    where = [counted(reach.teams, "team", "teams")] if reach.teams else []
    where += [counted(reach.offices, "office", "offices")] if reach.offices else []
    across = f" across {' and '.join(where)}" if where else ""
    return f"🌱 You've had lunch with {parts[0]}{across}."


NO_CHARTS = "No programs yet: `/meet setup` in a channel starts one, and the charts follow."
CHARTS_SENT = "📊 The charts are in your DM with me."


def charts_refused(error: str) -> str:
    if error == "missing_scope":
        return ("Slack didn't let me upload the charts (missing_scope): reinstall the app so "
                "it gets the files:write permission.")  # fmt: skip
    return f"Slack didn't let me upload the charts just now ({error}). Please try again later."


def charts_comment(channel_ids: Sequence[str], figures) -> str:
    rate = "n/a" if figures.meet_rate is None else f"{figures.meet_rate:.0%}"
    across = figures.share(figures.across_levels)
    across = "n/a" if across is None else f"{across:.0%}"
    colleagues = "colleague" if figures.median_reach == 1 else "colleagues"
    return (f"📊 Lunch pairing in {channels(channel_ids)}: {rounds(len(figures.rounds))}, meet "
            f"rate {rate}, median {figures.median_reach:g} {colleagues} met per person, "
            f"{across} of meetings across 3+ levels. Cells of fewer than five people read <5.")  # fmt: skip


# -- lunch dates -------------------------------------------------------------------------------


def office_days_saved(location: str, days: str | None) -> str:
    if days is None:
        return f"Done: people in *{escape(location)}* can be offered any of their lunch days."
    return (f"Done: people in *{escape(location)}* are offered lunch on {days} only (and on "
            "their own lunch days among those).")  # fmt: skip


NO_LUNCH_DAYS = "Keep at least one lunch day: without one, no day can be offered to you."


def more_dates(user_id: str, rescheduling: bool) -> str:
    if rescheduling:
        return f"🔄 <@{user_id}> wants to find another day."
    return f"🔄 <@{user_id}> can't make those days. Here are the next ones:"


def lunch_days_saved(days: str, time: str) -> str:
    return (f"Your lunch days: {days}, at {time}. Intros offer days that suit everyone in the "
            "group; only you see yours. `/meet days mon tue thu` and `/meet lunchtime 12:30` "
            "change them.")  # fmt: skip


# -- after lunch -------------------------------------------------------------------------------


NOBODY_TO_THANK = (
    "Everyone else in that group has left Worth Knowing, so there is nobody I can pass a "
    "note to. You can still message them directly."
)
KEEP_IN_TOUCH_CLOSED = (
    "Someone in this group has left Worth Knowing, so I won't post reminders in this "
    "conversation. You can still message the others directly."
)


def keep_in_touch_noted(already: bool, weeks: int) -> str:
    if already:
        return "You've already said you'd like to keep in touch with this group."
    return (f"Noted. If everyone in your group chooses it too, I'll remind you all every {weeks} "
            "weeks to have lunch again. Nobody is told until then.")  # fmt: skip


def keep_in_touch_stopped(stopped: bool, others: Sequence[str]) -> str:
    if not stopped:
        return "There are no keep-in-touch reminders for that group."
    return f"Done: no more keep-in-touch reminders for your group with {people(others)}."


def keep_in_touch_list(ties: Sequence[tuple[int, str, Sequence[str]]]) -> str:
    if not ties:
        return ("You have no keep-in-touch reminders. After a lunch, \"Let's keep in touch\" "
                "starts them when everyone in the group chooses it.")  # fmt: skip
    return "You keep in touch with:"


def thanks_sent(reached: Sequence[str], others: Sequence[str]) -> str:
    if not others:
        return "💌 There is nobody left in this group to send your note to."
    if not reached:
        return "💌 Your note could not be delivered: Slack refused it for everyone in the group."
    missed = [u for u in others if u not in reached]
    text = f"💌 Your note was sent to {people(reached)}."
    if missed:
        text += f" Slack would not deliver it to {people(missed)}."
    return text


def after_lunch_counts(notes: int, ties: int) -> str:
    return (f"After lunch: {notes} thank-you note{'s' if notes != 1 else ''} sent, {ties} "
            f"group{'s' if ties != 1 else ''} keeping in touch.")  # fmt: skip


# -- avoid lists -------------------------------------------------------------------------------

AVOID_PRIVATE = "They aren't told, and nobody else can see your list."


def avoided(new: Sequence[str], already: Sequence[str]) -> str:
    parts = []
    if new:
        parts.append(f"Done: you won't be grouped with {people(new)} in any round. "
                     + AVOID_PRIVATE)  # fmt: skip
    if already:
        parts.append(f"{people(already)} {'was' if len(already) == 1 else 'were'} already on "
                     "your list.")  # fmt: skip
    return " ".join(parts) + " `/meet unavoid @person` undoes it; `/meet avoid list` shows it."


def unavoided(removed: Sequence[str], absent: Sequence[str]) -> str:
    parts = []
    if removed:
        parts.append(f"Done: {people(removed)} can be grouped with you again.")
    if absent:
        parts.append(f"{people(absent)} {'was' if len(absent) == 1 else 'were'} not on your "
                     "list.")  # fmt: skip
    return " ".join(parts)


def avoid_list(user_ids: Sequence[str]) -> str:
    if not user_ids:
        return ("Your avoid list is empty. `/meet avoid @person` keeps you out of groups with "
                "someone, privately.")  # fmt: skip
    return (f"You won't be grouped with {people(user_ids)}. " + AVOID_PRIVATE
            + " `/meet unavoid @person` takes someone off.")  # fmt: skip


def avoid_keepers(count: int) -> str:
    """All admins learn of avoid lists: how many people keep one."""
    who = "1 person keeps" if count == 1 else f"{count} people keep"
    return f"{who} a private avoid list; matching never groups them with those on it."


AVOID_SELF = "That's you: there's no need to avoid yourself."
AVOID_FULL = (
    "Your avoid list is full ({most} people): take someone off with `/meet unavoid @person` "
    "first."
)
AVOID_TOO_MANY = (
    "Your avoid list holds at most {most} people, and that would make {total}: name fewer "
    "people."
)


# -- forget-me --------------------------------------------------------------------------------

FORGET_ME_QUESTION = (
    "*Delete everything Worth Knowing stores about you?* Your level, department, location, "
    "pauses and admin role go, your name is removed from past lunch groups (others keep "
    "theirs), and you stop taking part in every program here. This can't be undone."
)
FORGOTTEN = (
    "Done: everything about you is deleted, and you won't be paired again. All that remains "
    "is a note that you opted out, so that you stay out. `/meet join` in a program channel "
    "brings you back."
)
FORGET_ME_CANCELLED = "Okay, nothing was deleted."


# -- status and history -----------------------------------------------------------------------

OUTCOMES = {
    "met": "you met ✅",
    "not_yet": "not met yet",
    "couldnt": "couldn't make it",
    None: "no answer yet",
}


def outcome(value: str | None) -> str:
    return OUTCOMES.get(value, "no answer yet")


NO_HISTORY = "You haven't been in a lunch group yet."


# -- admin ------------------------------------------------------------------------------------

NOT_A_CHANNEL = (
    "Run `/meet setup` in the channel whose members should be paired, not in a direct message."
)
PRIVATE_CHANNEL = (
    "I'm not in this private channel, and I can't join it myself: `/invite @Worth Knowing` "
    "first, then run `/meet setup` again."
)


def no_program_for_admin(command: str, in_a_channel: bool) -> str:
    if not in_a_channel:  # a direct message: no program lives here, nor can one
        return f"`{command}` is about a channel's lunch pairing: run it in that channel."
    return (
        f"There's no lunch pairing in this channel yet, so there's nothing to `{command}`. "
        "`/meet setup` starts it here."
    )


def setup_started(
    channel_id: str, schedule: str, next_round: str, unannounced: str | None = None
) -> str:
    """`unannounced`: Slack's reason when the announcement in the channel was refused."""
    text = (
        f"Lunch pairing is on in {channel(channel_id)}: {schedule}, in pairs. "
        f"First round: {next_round}. Everyone of this workspace in the channel takes part "
        "(guests and people from other organisations too, if you turn that on in the "
        "settings); `/meet leave` opts out."
    )
    if unannounced:
        text += (f" I couldn't tell the channel (Slack said `{unannounced}`): let people "
                 "know yourself.")  # fmt: skip
    return text


def setup_back_on(channel_id: str, schedule: str, next_round: str) -> str:
    return (
        f"Lunch pairing is back on in {channel(channel_id)}: {schedule}. "
        f"Next round: {next_round}."
    )


ARCHIVED_CHANNEL = (
    "This channel is archived, so nobody can join it for lunch rounds. Unarchive it first, "
    "or run `/meet setup` in another channel."
)


def setup_exists(channel_id: str, schedule: str, next_round: str) -> str:
    return (
        f"Lunch pairing is already on in {channel(channel_id)}: {schedule}. "
        f"Next round: {next_round}."
    )


def announcement(schedule: str) -> str:
    return (
        f"🥪 *Worth Knowing* is on in this channel: {schedule}, I'll introduce small lunch "
        "groups of people who don't usually meet. Everyone of this workspace here takes part "
        "(guests, and people from other organisations, if an admin turns that on); "
        "`/meet leave` opts you out and `/meet help` says more."
    )


def schedule_set(channel_id: str, schedule: str, next_round: str) -> str:
    return f"Schedule of {channel(channel_id)} is now {schedule}. Next round: {next_round}."


def size_set(channel_id: str, size: int) -> str:
    kind = "pairs" if size == 2 else f"groups of {size}"
    return f"Rounds in {channel(channel_id)} now make {kind}."


def enabled(channel_id: str, changed: bool, next_round: str) -> str:
    if not changed:
        return f"Lunch pairing was already on in {channel(channel_id)}. Next round: {next_round}."
    return f"Lunch pairing is back on in {channel(channel_id)}. Next round: {next_round}."


def disabled(channel_id: str, changed: bool) -> str:
    if not changed:
        return f"Lunch pairing was already off in {channel(channel_id)}."
    return (
        f"Lunch pairing is off in {channel(channel_id)}: no more rounds until `/meet enable`. "
        "History is kept."
    )


def program_off(channel_id: str) -> str:
    return f"Lunch pairing is off in {channel(channel_id)}: `/meet enable` turns it back on."


def round_starting(channel_id: str) -> str:
    return f"Starting a round in {channel(channel_id)} now; I'll tell you how it went."


def round_done(channel_id: str, report) -> str:
    if report.groups == 0:
        return (
            f"Round in {channel(channel_id)} done, but nobody could be paired "
            f"({report.unmatched} without a group): are enough people taking part?"
        )
    text = (
        f"Round in {channel(channel_id)} done: {counted(report.groups, 'group', 'groups')}, "
        f"{report.delivered} introduced"
    )
    if report.failed:
        text += f", {report.failed} could not be reached (`/meet stats` says why)"
    waiting = report.groups - report.delivered - report.failed
    if waiting > 0:
        text += f", {waiting} to be tried again in a few minutes (Slack was busy)"
    if report.unmatched:
        text += f", {report.unmatched} without a group this time"
    if not report.created:
        text += " (a round had just run, so it was finished rather than repeated)"
    return text + "."


def stands_in(scheduled: str, following: str) -> str:
    """A round run by hand shortly before a scheduled one takes its place."""
    return (f"This round stands in for the one scheduled at {scheduled}, so that one will not "
            f"run; the next is {following}.")  # fmt: skip


def channel_unreadable(channel_id: str, code: str) -> str:
    """Why a program's channel could not be read, and what an admin can do about it."""
    where = channel(channel_id)
    if code in ("not_in_channel", "channel_not_found", "is_archived"):
        fix = "invite the app there with `/invite @Worth Knowing`, or `/meet disable` it"
    elif code in REINSTALL_ERRORS:
        fix = "reinstall Worth Knowing in this workspace"
    elif code == "ratelimited":
        fix = "Slack is busy; nothing to do, the next round tries again"
    else:
        fix = "the next round tries again; if this stays, reinstall Worth Knowing"
    return f"⚠️ I can't see who is in {where} (Slack says `{code}`), so no round can run there: {fix}."


def round_failed(channel_id: str, reason: str) -> str:
    return f"The round in {channel(channel_id)} didn't run: {reason}."


def round_stopped(channel_id: str, code: str | None) -> str:
    """Slack failed a round past its retries; what was sent stays sent."""
    why = f"Slack answered `{code}`" if code else "Slack could not be reached"
    return (f"The round in {channel(channel_id)} stopped: {why}. `/meet now` again in a few "
            "minutes picks it up where it stopped.")  # fmt: skip


def admins_added(user_id: str, changed: bool) -> str:
    if not changed:
        return f"{person(user_id)} is already a Worth Knowing admin."
    return f"{person(user_id)} is now a Worth Knowing admin."


def admins_removed(user_id: str, changed: bool, still_workspace_admin: bool) -> str:
    if not changed:
        text = f"{person(user_id)} wasn't a Worth Knowing admin."
    else:
        text = f"{person(user_id)} is no longer a Worth Knowing admin."
    if still_workspace_admin:
        text += " As a Slack workspace admin or owner they can still manage Worth Knowing."
    return text


def admins_list(user_ids: Sequence[str]) -> str:
    if not user_ids:
        return (
            "Workspace admins and owners manage Worth Knowing. Nobody else has been added; "
            "`/meet admins add @person` adds someone."
        )
    return f"Worth Knowing admins: {people(user_ids)}, plus the workspace's admins and owners."


# -- events -----------------------------------------------------------------------------------


def welcome(channel_id: str, schedule: str, opted_out: bool) -> str:
    text = (
        f"👋 Welcome to {channel(channel_id)}! Worth Knowing pairs people here for lunch, "
        f"{schedule}, with someone from another corner of the company."
    )
    if opted_out:
        return (
            text + f" You opted out earlier; `/meet join` in {channel(channel_id)} brings you in."
        )
    return text + (
        f" You're in from the next round. Not for you? `/meet leave` in {channel(channel_id)} "
        "opts you out and you can stay in the channel; `/meet pause 2 weeks` skips a while."
    )




# -- who takes part ---------------------------------------------------------------------------

LEFT_OUT = {
    "external": (
        "You're in this channel from another organisation, and this program pairs only "
        "people of its own workspace: an admin here can change that with `/meet external on`."
    ),
    "guest": (
        "Guests aren't paired in this program: an admin can change that in its settings."
    ),
    "deactivated": "Your account is deactivated here, so you aren't paired.",
    "bot": "Bots aren't paired.",
    "not found": "Slack didn't tell me who you are here, so you aren't paired.",
}


def left_out(kind: str) -> str:
    return LEFT_OUT.get(kind, "You aren't paired in this program.")


def taking_part(count: int | None, paused: int = 0) -> str:
    if count is None:
        return "members not counted yet (the next round or `/meet setup` counts them)"
    text = f"{count} taking part"
    return text + (f" ({paused} paused)" if paused else "")


def rounds(count: int) -> str:
    return counted(count, "round", "rounds")


def external_set(channel_id: str, allowed: bool, changed: bool) -> str:
    where = channel(channel_id)
    if allowed and changed:
        return f"People from other organisations in {where} now take part."
    if allowed:
        return f"People from other organisations already take part in {where}."
    if changed:
        return f"Only people of this workspace take part in {where} now."
    return f"Only people of this workspace took part in {where} already."

NOT_YOUR_GROUP = "That lunch group isn't yours to answer for, so nothing changed."


def more_programs(count: int) -> str:
    return (f"…and {count} more program{'' if count == 1 else 's'}: `/meet stats` in a "
            "program's channel shows that one.")  # fmt: skip

