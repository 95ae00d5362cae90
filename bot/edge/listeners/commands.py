"""The /meet slash command: parse, acknowledge at once, then do the work and reply privately.

A malformed command is answered in the acknowledgement itself (nothing is looked up or
stored). Everything else is acknowledged empty and answered through the response_url once
done, so Slack's 3 seconds are never at risk, whatever Slack or the database do. The outcome
of `/meet now`, which may come after the response_url has expired, is an ephemeral message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.levels.sources import SOURCE_NAMES, InvalidValue
from bot.domain.schedule import today_in
from bot.domain.services import (
    after_lunch,
    avoids,
    history,
    insights,
    lunches,
    membership,
    people,
    programs,
)
from bot.domain.services.participants import read_never_read
from bot.edge import home, meet_command
from bot.edge.meet_command import UsageError
from bot.slack import texts
from bot.slack.client import reason, slack_user
from bot.storage.db import session_scope
from bot.storage.models import Program, utcnow

log = logging.getLogger(__name__)

HISTORY_SHOWN = 20


def earliest_today() -> dt.date:
    """The earliest date that is today somewhere on Earth (UTC-12)."""
    return (utcnow() - dt.timedelta(hours=12)).date()


@dataclass
class Asker:
    """Who ran a command, where, and the means to answer them."""

    deps: object
    client: WebClient
    team_id: str
    user_id: str
    channel_id: str | None
    respond: Callable
    trigger_id: str | None = None
    bot_user_id: str | None = None
    _user: dict | None = field(default=None, repr=False)

    @property
    def database_url(self) -> str:
        return self.deps.settings.database_url

    @property
    def in_a_channel(self) -> bool:
        """Not a direct message (D…), where no program can be."""
        return bool(self.channel_id) and not self.channel_id.startswith("D")

    def user(self) -> dict:
        if self._user is None:
            self._user = slack_user(self.client, self.user_id) or {}
        return self._user

    def timezone(self) -> str:
        return self.own_zone() or "UTC"

    def own_zone(self) -> str | None:
        """Their Slack time zone; None when Slack has none for them."""
        return self.user().get("tz")

    def today(self, program: Program | None = None) -> dt.date:
        """Today for them: in their own time zone, else the program's, else UTC."""
        return today_in(self.own_zone() or (program.timezone if program else None))

    def is_admin(self) -> bool:
        with session_scope(self.database_url) as session:
            return people.is_admin(session, self.client, self.team_id, self.user_id, self.user())

    def when(self, program: Program) -> str:
        return programs.next_round_for(program, self.own_zone())


def register(app: App, deps) -> None:
    @app.command("/meet")
    def meet(ack: Ack, body: dict, context, client: WebClient, respond) -> None:
        try:
            command = meet_command.parse(body.get("text") or "", earliest_today())
        except UsageError as problem:
            ack(text=texts.usage_error(problem.message, problem.usage))
            return
        if isinstance(command, meet_command.Help):
            ack(text=texts.HELP)
            return
        ack()
        asker = Asker(
            deps=deps,
            client=client,
            team_id=context.team_id or body.get("team_id"),
            user_id=body.get("user_id"),
            channel_id=body.get("channel_id"),
            respond=respond,
            trigger_id=body.get("trigger_id"),
            bot_user_id=context.bot_user_id,
        )
        deps.later(answer, command, asker)


def answer(command: meet_command.Command, asker: Asker) -> None:
    reply = run(command, asker)
    if reply is not None:
        send(asker.respond, reply)


def send(respond, reply: str | dict) -> None:
    message = {"text": reply} if isinstance(reply, str) else dict(reply)
    message.setdefault("response_type", "ephemeral")
    message.setdefault("replace_original", False)
    try:
        respond(**message)
    except Exception:  # noqa: BLE001 - an expired response_url must not raise further
        log.warning("could not answer through the response_url", exc_info=True)


def run(command: meet_command.Command, asker: Asker) -> str | dict | None:
    """Carry out a parsed command; the reply, never an exception, for the person."""
    try:
        if command.admin_only and not asker.is_admin():
            return texts.NOT_ADMIN
        return HANDLERS[type(command)](command, asker)
    except SlackApiError as error:
        log.warning("Slack refused a call for /meet: %s", error.response.get("error"))
        return texts.SLACK_TROUBLE.format(error=error.response.get("error", "error"))
    except Exception:
        log.exception("/meet %s failed", type(command).__name__)
        return texts.SOMETHING_WRONG


# -- for everyone -----------------------------------------------------------------------------


def _program_here(asker: Asker) -> Program | None:
    with session_scope(asker.database_url) as session:
        return programs.in_channel(session, asker.team_id, asker.channel_id)


def _my_program_channels(asker: Asker) -> list[str]:
    """Program channels they are in, as the app keeps them (no Slack call per program)."""
    read_never_read(asker.client, asker.database_url, asker.team_id, asker.bot_user_id)
    with session_scope(asker.database_url) as session:
        mine = membership.kinds_of(session, asker.team_id, asker.user_id)
        team_programs = programs.of_team(session, asker.team_id, enabled_only=True)
        return [p.channel_id for p in team_programs if p.id in mine]


def _join_or_leave(command, asker: Asker) -> str:
    joining = isinstance(command, meet_command.Join)
    name = "join" if joining else "leave"
    if joining:  # their today, for a pause still in place: ask Slack first, never mid-write
        asker.user()
    with session_scope(asker.database_url) as session:
        program = programs.in_channel(session, asker.team_id, asker.channel_id)
        if program is not None:
            change = people.join if joining else people.leave
            changed = change(session, program, asker.user_id)
            kind = membership.kinds_of(session, asker.team_id, asker.user_id).get(program.id)
            why_not = membership.left_out(kind, program)
            if joining and why_not:  # a guest, say: joining does not make them grouped
                return texts.left_out(why_not)
            if joining:
                return texts.joined(program.channel_id, changed, _held_back(session, program, asker))
            return texts.left(program.channel_id, changed)
    return texts.no_program_here(name, _my_program_channels(asker))


def _pause(command: meet_command.Pause, asker: Asker) -> str:
    asker.user()  # ask Slack first: never while the write below holds the database
    with session_scope(asker.database_url) as session:
        program = programs.in_channel(session, asker.team_id, asker.channel_id)
        until = command.until or asker.today(program) + dt.timedelta(weeks=command.weeks or 1)
        people.pause(session, asker.team_id, asker.user_id, until, program)
        held = _held_back(session, program, asker, paused=False) if program else ""
        return texts.paused(program.channel_id if program else None, until, held)


def _resume(command, asker: Asker) -> str:
    asker.user()  # ask Slack first: never while the write below holds the database
    with session_scope(asker.database_url) as session:
        program = programs.in_channel(session, asker.team_id, asker.channel_id)
        result = people.resume(
            session, asker.team_id, asker.user_id, program, asker.today(program)
        )
        held = _held_back(session, program, asker, paused=False) if program else ""
        return texts.resumed(
            program.channel_id if program else None, result.resumed, result.still_paused_until,
            held,
        )  # fmt: skip


def _held_back(session, program: Program, asker: Asker, *, paused: bool = True) -> str:
    """What still keeps them out of this program's next round, which their command did not
    change: a pause (`paused`: after joining), having left it (after a pause or resume), or
    the program switched off."""
    held = []
    if paused:
        until = people.paused_until(session, asker.team_id, asker.user_id, program,
                                    asker.today(program))  # fmt: skip
        if until:
            held.append(texts.still_paused(until))
    else:
        choice = people.participation(session, program, asker.user_id, create=False)
        if choice is not None and choice.opted_out:
            held.append(texts.not_taking_part(program.channel_id))
    if not program.enabled:
        held.append(texts.switched_off_now(program.channel_id))
    return " ".join(held)


def _status(command, asker: Asker) -> str:
    lines = ["*Your lunch programs*"]
    asker.user()  # their today and time zone: ask Slack first, never inside the reads below
    read_never_read(asker.client, asker.database_url, asker.team_id, asker.bot_user_id)
    with session_scope(asker.database_url) as session:
        mine = membership.kinds_of(session, asker.team_id, asker.user_id)
        paused_all = people.paused_until(
            session, asker.team_id, asker.user_id, None, asker.today()
        )
        if paused_all:
            lines.append(f"⏸️ Paused in all programs through {texts.day(paused_all)}.")
        current = history.current_groups(
            history.groups_of(
                session, asker.team_id, asker.user_id, asker.own_zone(),
                limit=history.CURRENT_WITHIN,
            )
        )  # fmt: skip
        for program in programs.of_team(session, asker.team_id, enabled_only=True):
            if program.id not in mine:
                continue
            today = asker.today(program)
            choice = people.participation(session, program, asker.user_id, create=False)
            line = f"• {texts.channel(program.channel_id)}: {programs.describe(program)}. "
            paused = people.paused_until(session, asker.team_id, asker.user_id, program, today)
            why_not = membership.left_out(mine[program.id], program)
            if why_not:
                line += texts.left_out(why_not)
            elif choice is not None and choice.opted_out:
                line += "You're not taking part (`/meet join` there to come back)."
            elif paused:
                line += f"You're paused through {texts.day(paused)}."
            else:
                line += f"Next round: {asker.when(program)}."
            group = current.get(program.id)
            if group is not None:
                line += (
                    f"\n   This round you're with {texts.people(group.others)}: "
                    f"{texts.outcome(group.outcome)}."
                )
            lines.append(line)
        if len(lines) == 1 + bool(paused_all):
            lines.append(
                "You're not in any channel with lunch pairing. Join one, or ask an admin to run "
                "`/meet setup` in a channel."
            )
        lines.append(_profile_line(session, asker))
    return "\n".join(lines)


def _profile_line(session, asker: Asker) -> str:
    member = people.member(session, asker.team_id, asker.user_id, create=False)
    parts = []
    for attribute in meet_command.PROFILE_ATTRIBUTES:
        value = getattr(member, attribute, None) if member else None
        if value is not None:
            source = (member.sources or {}).get(attribute)
            origin = texts.SOURCE_NAMES.get(source, SOURCE_NAMES.get(source, ""))
            parts.append(
                f"{attribute} *{texts.escape(str(value))}*" + (f" ({origin})" if origin else "")
            )
    if not parts:
        return (
            "Your profile for matching is empty: `/meet department &lt;name&gt;` and "
            "`/meet location &lt;name&gt;` help."
        )
    return (
        "Your profile for matching (only you and admins see your level): " + ", ".join(parts) + "."
    )


def _history(command, asker: Asker) -> str:
    with session_scope(asker.database_url) as session:
        groups = history.groups_of(
            session, asker.team_id, asker.user_id, asker.own_zone(), limit=HISTORY_SHOWN
        )
        reach = insights.reach_of(session, asker.team_id, asker.user_id)
    if not groups:
        return texts.NO_HISTORY
    lines = [texts.reach_line(reach)] if reach.people else []
    lines.append("*Your lunch groups*, newest first:")
    for group in groups:
        now = " (this round)" if group.current else ""
        lines.append(
            f"• {texts.day(group.date)} in {texts.channel(group.channel_id)}{now}: "
            f"{texts.people(group.others)}, {texts.outcome(group.outcome)}"
        )
    return "\n".join(lines)


def _profile(command: meet_command.SetProfile, asker: Asker) -> str:
    if command.user_id is None:
        with session_scope(asker.database_url) as session:
            if command.attribute == "level" and not people.self_levels_allowed(
                session, asker.team_id, asker.channel_id
            ):
                here = programs.in_channel(session, asker.team_id, asker.channel_id)
                return texts.SELF_LEVELS_OFF if here else texts.SELF_LEVELS_OFF_EVERYWHERE
            try:
                result = people.set_profile(
                    session, asker.team_id, asker.user_id, command.attribute, command.value, "self"
                )
            except InvalidValue as problem:
                session.rollback()
                return texts.usage_error(str(problem), meet_command.USAGE[command.attribute])
            return texts.profile_saved(
                command.attribute, command.value, result.value, result.source
            )
    problem = _check_person(asker, command.user_id)
    if problem:
        return problem
    with session_scope(asker.database_url) as session:
        try:
            saved = people.set_profile(
                session, asker.team_id, command.user_id, command.attribute, command.value, "admin"
            )
        except InvalidValue as problem:
            session.rollback()
            return texts.usage_error(str(problem), meet_command.USAGE[command.attribute])
    if saved is None:
        return texts.withdrawn_person(command.user_id)
    return texts.profile_saved_for(command.user_id, command.attribute, command.value)


def _check_person(asker: Asker, user_id: str, *, admin: bool = False) -> str | None:
    """Why this mention can't be acted on (not in the workspace, a bot, deactivated), if so.
    Someone from another organisation counts where a program of the workspace groups them
    (Slack Connect), except as an ``admin``, who must be of the workspace; on Enterprise
    Grid, people of the same organisation are of the workspace."""
    user = slack_user(asker.client, user_id)
    with session_scope(asker.database_url) as session:
        kind = membership.kind_of(user, asker.team_id, asker.bot_user_id,
                                  membership.enterprise_of(session, asker.team_id))  # fmt: skip
        grouped = not admin and any(p.allow_external for p in programs.of_team(
            session, asker.team_id))  # fmt: skip
    if kind == membership.BOT:
        return texts.user_is_bot(user_id)
    if kind == membership.DEACTIVATED:
        return texts.user_deactivated(user_id)
    if kind == membership.NOT_FOUND or (kind == membership.EXTERNAL and not grouped):
        return texts.user_not_in_workspace(user_id)
    return None


def _about(command: meet_command.About, asker: Asker) -> str:
    with session_scope(asker.database_url) as session:
        if command.text is None:
            person = people.member(session, asker.team_id, asker.user_id, create=False)
            return texts.about_shown(asker.user_id, person.about if person else None)
        people.set_about(session, asker.team_id, asker.user_id, command.text)
    return texts.about_saved(asker.user_id, command.text)


def _lunch_days(command, asker: Asker) -> str:
    from bot.domain.lunch_dates import describe_days

    with session_scope(asker.database_url) as session:
        person = people.set_lunch(
            session, asker.team_id, asker.user_id,
            days=getattr(command, "days", None), time_of_day=getattr(command, "time_of_day", None),
        )  # fmt: skip
        days, time = people.lunch_of(person)
    return texts.lunch_days_saved(
        describe_days(days) if days else "Monday to Friday",
        time or "the program's usual time",
    )


def _office_days(command: meet_command.OfficeDaysSet, asker: Asker) -> str:
    from bot.domain.lunch_dates import describe_days

    with session_scope(asker.database_url) as session:
        lunches.set_office_days(session, asker.team_id, command.location, command.days)
    return texts.office_days_saved(
        command.location, describe_days(command.days) if command.days else None
    )


def _keep_in_touch(command, asker: Asker) -> str | dict:
    from bot.slack import round_messages

    with session_scope(asker.database_url) as session:
        ties = after_lunch.ties_of(session, asker.team_id, asker.user_id)
    text = texts.keep_in_touch_list(ties)
    if not ties:
        return text
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    for group_id, channel_id, others in ties[:20]:
        blocks.append({
            "type": "section",
            "text": {"type": "mrkdwn",
                     "text": f"• {texts.people(others)}, met through {texts.channel(channel_id)}"},
            "accessory": {"type": "button", "action_id": round_messages.STOP_KEEPING_IN_TOUCH,
                          "value": str(group_id),
                          "text": {"type": "plain_text", "text": "Stop reminders"}},
        })  # fmt: skip
    return {"text": text, "blocks": blocks}


def _avoid(command: meet_command.Avoid, asker: Asker) -> str:
    others = [u for u in command.user_ids if u != asker.user_id]
    if not others:
        return texts.AVOID_SELF
    for other in others:  # a mistyped id or a bot would sit on the list for nothing
        problem = _check_person(asker, other)
        if problem:
            return problem
    with session_scope(asker.database_url) as session:
        try:
            new = avoids.add(session, asker.team_id, asker.user_id, others)
        except avoids.TooMany:
            have = set(avoids.of(session, asker.team_id, asker.user_id))
            if len(have) >= avoids.MAX_AVOIDED:
                return texts.AVOID_FULL.format(most=avoids.MAX_AVOIDED)
            return texts.AVOID_TOO_MANY.format(most=avoids.MAX_AVOIDED,
                                               total=len(have | set(others)))  # fmt: skip
    return texts.avoided(new, [u for u in others if u not in new])


def _unavoid(command: meet_command.Unavoid, asker: Asker) -> str:
    with session_scope(asker.database_url) as session:
        removed = avoids.remove(session, asker.team_id, asker.user_id, list(command.user_ids))
    return texts.unavoided(removed, [u for u in command.user_ids if u not in removed])


def _avoid_list(command, asker: Asker) -> str:
    with session_scope(asker.database_url) as session:
        return texts.avoid_list(avoids.of(session, asker.team_id, asker.user_id))


def _forget_me(command, asker: Asker) -> dict:
    return {"text": texts.FORGET_ME_QUESTION, "blocks": home.forget_me_blocks()}


# -- for admins -------------------------------------------------------------------------------


def _setup(command, asker: Asker) -> str | dict:
    channel_id = asker.channel_id or ""
    if not asker.in_a_channel:
        return texts.NOT_A_CHANNEL
    try:
        info = asker.client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as error:
        if error.response.get("error") == "channel_not_found":
            return texts.PRIVATE_CHANNEL
        raise
    if info.get("is_im") or info.get("is_mpim"):
        return texts.NOT_A_CHANNEL
    if not info.get("is_member"):
        if info.get("is_private"):
            return texts.PRIVATE_CHANNEL
        try:
            asker.client.conversations_join(channel=channel_id)
        except SlackApiError as error:
            code = error.response.get("error")
            if code == "is_archived":
                return texts.ARCHIVED_CHANNEL
            if code in ("method_not_supported_for_channel_type", "channel_not_found"):
                return texts.PRIVATE_CHANNEL
            raise
    with session_scope(asker.database_url) as session:
        program, state = programs.start(
            session, asker.team_id, channel_id, asker.user_id, asker.timezone()
        )
        schedule, when, program_id = programs.describe(program), asker.when(program), program.id
    _read_members(asker, program_id)
    if state == programs.STARTED:
        unannounced = None
        try:
            asker.client.chat_postMessage(channel=channel_id, text=texts.announcement(schedule))
        except SlackApiError as error:
            unannounced = str(error.response.get("error"))
            log.warning("could not announce in %s: %s", channel_id, unannounced)
        text = texts.setup_started(channel_id, schedule, when, unannounced)
    elif state == programs.BACK_ON:
        text = texts.setup_back_on(channel_id, schedule, when)
    else:
        text = texts.setup_exists(channel_id, schedule, when)
    return {"text": text, "blocks": home.settings_button_blocks(text, program_id)}


def _read_members(asker: Asker, program_id: int) -> None:
    """Count the channel once at setup, so the Home tab has figures before the first round."""
    from bot.domain.services.participants import read_members

    try:
        with session_scope(asker.database_url) as session:
            program = programs.by_id(session, asker.team_id, program_id)
            read_members(asker.client, session, program, bot_user_id=asker.bot_user_id)
    except SlackApiError as error:  # noted on the program; the Home tab shows it
        log.warning("could not read the members of a program channel: %s",
                    error.response.get("error"))


def _with_program(action: Callable[[object, Program, Asker], str], name: str):
    """An admin command about the program in this channel."""

    def handler(command, asker: Asker) -> str:
        with session_scope(asker.database_url) as session:
            program = programs.in_channel(session, asker.team_id, asker.channel_id)
            if program is None:
                return texts.no_program_for_admin(f"/meet {name}", asker.in_a_channel)
            return action(command, program, asker)

    return handler


def _schedule(command: meet_command.SetSchedule, program: Program, asker: Asker) -> str:
    programs.set_schedule(
        program,
        command.cadence,
        command.weekday,
        command.time_of_day,
        command.timezone,
        command.week_of_month,
    )
    return texts.schedule_set(program.channel_id, programs.describe(program), asker.when(program))


def _size(command: meet_command.SetSize, program: Program, asker: Asker) -> str:
    program.group_size = command.size
    return texts.size_set(program.channel_id, command.size)


def _external(command: meet_command.SetExternal, program: Program, asker: Asker) -> str:
    changed = program.allow_external != command.allowed
    program.allow_external = command.allowed
    return texts.external_set(program.channel_id, command.allowed, changed)


def _enable(command, program: Program, asker: Asker) -> str:
    changed = programs.set_enabled(program, True)
    return texts.enabled(program.channel_id, changed, asker.when(program))


def _disable(command, program: Program, asker: Asker) -> str:
    return texts.disabled(program.channel_id, programs.set_enabled(program, False))


def _now(command, asker: Asker) -> str | None:
    program = _program_here(asker)
    if program is None:
        return texts.no_program_for_admin("/meet now", asker.in_a_channel)
    if not program.enabled:
        return texts.program_off(program.channel_id)
    send(asker.respond, texts.round_starting(program.channel_id))
    # A round can outlast the response_url (30 minutes, 5 posts): the outcome comes privately.
    tell_privately(asker, run_round_now(asker.deps.settings, program))
    return None


def tell_privately(asker: Asker, text: str) -> None:
    """An ephemeral message to the asker where they asked, or a DM if that is refused."""
    try:
        if asker.channel_id:
            asker.client.chat_postEphemeral(
                channel=asker.channel_id, user=asker.user_id, text=text
            )
            return
    except SlackApiError as error:
        log.info("ephemeral answer refused (%s); sending a DM", error.response.get("error"))
    asker.client.chat_postMessage(channel=asker.user_id, text=text)


def run_round_now(settings, program: Program) -> str:
    """Run a round for an admin; the outcome in words, whatever happens."""
    from bot.domain.services import rounds
    from bot.domain.services.delivery import DeliveryStopped
    from bot.domain.services.participants import ChannelUnreadable
    from bot.domain.services.workspaces import NotInstalled

    try:
        report = rounds.run_round(settings, program.id)
    except ChannelUnreadable as error:
        return texts.channel_unreadable(program.channel_id, error.code)
    except rounds.NoProgram:
        return texts.round_failed(program.channel_id, "the program is switched off")
    except (NotInstalled, DeliveryStopped):
        return texts.round_failed(
            program.channel_id, "Slack no longer accepts this app's token here; reinstall it"
        )
    except (SlackApiError, OSError) as error:  # past the client's retries
        log.warning("round of program %s stopped: %s", program.id, reason(error))
        code = reason(error) if isinstance(error, SlackApiError) else None
        return texts.round_stopped(program.channel_id, code)
    done = texts.round_done(program.channel_id, report)
    stood_in = programs.stand_in_words(report, program.timezone)
    return done if stood_in is None else f"{done} {stood_in}"


def _stats(command, asker: Asker) -> str | None:
    from bot.domain.services import stats

    with session_scope(asker.database_url) as session:
        here = programs.in_channel(session, asker.team_id, asker.channel_id)
        chosen = [here] if here else programs.of_team(session, asker.team_id)
        figures = [stats.program_stats(session, p) for p in chosen]
        keepers = avoids.keepers(session, asker.team_id)
        notes, ties = after_lunch.counts(session, asker.team_id)
    if not figures:
        return "No programs yet: `/meet setup` in a channel starts one."
    # Every program of the workspace in one message: as many as the Home tab shows, with as
    # few failures each, so the message stays readable (and within Slack's 40,000 characters)
    shown = figures if here else figures[: home.MAX_ADMIN_PROGRAMS_SHOWN]
    lines = ["*Lunch pairing so far*"]
    for f in shown:
        state = "" if f.enabled else " (switched off)"
        line = (
            f"• {texts.channel(f.channel_id)}{state}: {texts.rounds(f.rounds)}, "
            f"{texts.counted(f.groups, 'group', 'groups')}, "
            f"{texts.counted(f.people_paired, 'person', 'people')} paired, "
            f"{stats.format_scheduled(f)}, {texts.counted(f.groups_met, 'group', 'groups')} met "
            f"(meet rate {stats.format_rate(f)})"
        )
        if f.non_responders:
            line += f"; quiet lately: {texts.people(f.non_responders[:10])}"
        if f.channel_error:
            line += "\n    " + texts.channel_unreadable(f.channel_id, f.channel_error)
        lines.append(line)
        lines.extend(_failure_lines(f.failures, None if here else home.MAX_FAILURES_SHOWN))
    if len(shown) < len(figures):
        lines.append(texts.more_programs(len(figures) - len(shown)))
    if notes or ties:
        lines.append(texts.after_lunch_counts(notes, ties))
    if keepers:
        lines.append(texts.avoid_keepers(keepers))
    send(asker.respond, "\n".join(lines))  # the numbers at once, then the charts
    send(asker.respond, insights.send_charts(asker.deps.settings, asker.client, asker.team_id,
                                             asker.user_id, here.channel_id if here else None))  # fmt: skip
    return None


def _failure_lines(failures, most: int | None = None) -> list[str]:
    """Groups Slack refused, with the error code and what to do about it (the `most` newest;
    the program's own channel lists them all)."""
    if not failures:
        return []
    lines = ["   ⚠️ Groups that got no intro (newest first):"]
    for failed in failures[:most]:
        lines.append(
            f"   • {texts.day(failed.date)}, {texts.people(failed.user_ids)}: "
            f"`{failed.error}`. {failed.advice}"
        )
    if most is not None and len(failures) > most:
        lines.append("   • …and more: `/meet stats` in the program's channel lists them.")
    return lines


def _admins_add(command: meet_command.AdminsAdd, asker: Asker) -> str:
    problem = _check_person(asker, command.user_id, admin=True)
    if problem:
        return problem
    with session_scope(asker.database_url) as session:
        changed = people.add_admin(session, asker.team_id, command.user_id, asker.user_id)
    return texts.admins_added(command.user_id, changed)


def _admins_remove(command: meet_command.AdminsRemove, asker: Asker) -> str:
    user = slack_user(asker.client, command.user_id) or {}  # before the write, never during it
    with session_scope(asker.database_url) as session:
        changed = people.remove_admin(session, asker.team_id, command.user_id)
        # still an admin as the workspace's own (not of another organisation, not deactivated)
        still = people.is_admin(session, asker.client, asker.team_id, command.user_id, user)
    return texts.admins_removed(command.user_id, changed, still)


def _admins_list(command, asker: Asker) -> str:
    with session_scope(asker.database_url) as session:
        return texts.admins_list(people.app_admins(session, asker.team_id))


HANDLERS: dict[type, Callable] = {
    meet_command.Join: _join_or_leave,
    meet_command.Leave: _join_or_leave,
    meet_command.Pause: _pause,
    meet_command.Resume: _resume,
    meet_command.Status: _status,
    meet_command.History: _history,
    meet_command.SetProfile: _profile,
    meet_command.ForgetMe: _forget_me,
    meet_command.About: _about,
    meet_command.Avoid: _avoid,
    meet_command.KeepInTouchList: _keep_in_touch,
    meet_command.LunchDays: _lunch_days,
    meet_command.LunchTime: _lunch_days,
    meet_command.OfficeDaysSet: _office_days,
    meet_command.Unavoid: _unavoid,
    meet_command.AvoidList: _avoid_list,
    meet_command.Setup: _setup,
    meet_command.SetSchedule: _with_program(_schedule, "schedule"),
    meet_command.SetSize: _with_program(_size, "size"),
    meet_command.SetExternal: _with_program(_external, "external"),
    meet_command.Enable: _with_program(_enable, "enable"),
    meet_command.Disable: _with_program(_disable, "disable"),
    meet_command.RunNow: _now,
    meet_command.Stats: _stats,
    meet_command.AdminsAdd: _admins_add,
    meet_command.AdminsRemove: _admins_remove,
    meet_command.AdminsList: _admins_list,
}
