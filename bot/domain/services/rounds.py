"""Pairing rounds: plan once per slot, deliver exactly once, check in, close.

The clock, `/meet now` and `python -m bot round` all come through `run_round`, so a round
behaves the same however it was started, and an interrupted one is simply resumed.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bot.common import logs, metrics
from bot.common.config import Settings
from bot.domain.schedule import days_later, next_run, schedule_of
from bot.domain.services import due, locks
from bot.domain.services.delivery import (
    Delivery,
    DeliveryStopped,
    is_transient,
    surely_not_sent,
)
from bot.domain.services.pacing import Pacer
from bot.domain.services.participants import build_roster
from bot.domain.services.planning import add_plan, plan_groups
from bot.domain.services.workspaces import bot_token_for, client_for_team
from bot.slack import round_messages
from bot.slack.client import TOKEN_ERRORS, rate_limit_only_client, reason
from bot.storage.db import hold, log_failure, session_scope
from bot.storage.models import (
    Group,
    Participation,
    Program,
    Round,
    UnmatchedMember,
    Workspace,
    utcnow,
)

log = logging.getLogger(__name__)

CADENCE_DAYS = {"weekly": 7, "biweekly": 14, "every4weeks": 28, "monthly": 28}
# A manual round started this recently is resumed rather than repeated (double clicks).
MANUAL_REPEAT_WINDOW = dt.timedelta(minutes=10)


def stand_in_window(cadence: str) -> dt.timedelta:
    """How long before a scheduled slot a round run by hand stands in for it: less than half
    a cycle (3.5 days for weekly rounds). Earlier, the scheduled round runs as well."""
    return dt.timedelta(days=CADENCE_DAYS.get(cadence, 7)) / 2


SILENT_ROUNDS_BEFORE_NUDGE = 3
UNFINISHED = ("planned", "delivering")


class NoProgram(Exception):
    """The program does not exist or is switched off."""


@dataclass(frozen=True)
class RoundReport:
    round_id: int
    program_id: int
    created: bool  # False when an existing round for the slot was resumed
    groups: int
    delivered: int
    failed: int
    unmatched: int
    status: str
    # A round run by hand shortly before a scheduled one stands in for it (UTC): the slot it
    # took the place of, and the next one the clock will run.
    stands_in_for: dt.datetime | None = None
    next_slot: dt.datetime | None = None


def run_round(
    settings: Settings,
    program_id: int,
    slot: dt.datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
    wait: bool = True,
    scheduled: bool = False,
) -> RoundReport:
    """Plan the round for `slot` (once, whoever else tries) and deliver what is undelivered.

    Without a slot (a manual round) an unfinished or very recent round is resumed instead of
    starting another one; a manual round less than half a cycle before the program's next
    slot stands in for that slot (the program moves on to the one after). `scheduled`: the
    clock's slot, which such a round already stands in for if it was run by hand meanwhile.
    With wait=False a round someone else is delivering is left to them.
    """
    with logs.context(program_id=program_id):  # its log lines name the program and round
        return _run_round(settings, program_id, slot, progress, wait, scheduled)


def _run_round(settings, program_id, slot, progress, wait, scheduled=False) -> RoundReport:
    url = settings.database_url
    with session_scope(url) as session:
        program = session.get(Program, program_id)
        if program is None:
            raise NoProgram(f"no program with id {program_id}")
        if not workspace_active(session, program.team_id):
            raise NoProgram(f"Worth Knowing was uninstalled from workspace {program.team_id}")
        team_id = program.team_id
    logs.note(team_id=team_id)
    client = client_for_team(settings, team_id)
    pacer = Pacer(settings.slack_rate_scale)
    stood_in = None
    with locks.hold(url, locks.PLAN, program_id):
        round_id, created = _existing_round(settings, program_id, slot), False
        if round_id is None and scheduled:
            round_id = _standing_in(settings, program_id, slot)
        if round_id is None:
            round_id, created, stood_in = _plan(settings, client, pacer, program_id, slot)
            if created:
                metrics.ROUNDS_STARTED.inc()
    logs.note(round_id=round_id)
    # Whoever holds a round's delivery lock delivers it; a second caller waits (or, with
    # wait=False, leaves it to the first) and then finds nothing left to send.
    hold = locks.hold if wait else locks.try_hold
    with hold(url, locks.DELIVER, round_id) as mine:
        if mine is not False:
            Delivery(settings, client, pacer).deliver(round_id, progress)
    with session_scope(url) as session:
        states = list(session.scalars(select(Group.delivery).where(Group.round_id == round_id)))
        return RoundReport(
            round_id=round_id,
            program_id=program_id,
            created=created,
            groups=len(states),
            delivered=states.count("posted"),
            failed=states.count("failed"),
            unmatched=_count(session, UnmatchedMember, UnmatchedMember.round_id == round_id),
            status=session.get(Round, round_id).status,
            stands_in_for=stood_in[0] if stood_in else None,
            next_slot=stood_in[1] if stood_in else None,
        )


def _count(session, model, where) -> int:
    return session.scalar(select(func.count()).select_from(model).where(where)) or 0


def _existing_round(settings: Settings, program_id: int, slot: dt.datetime | None) -> int | None:
    with session_scope(settings.database_url) as session:
        query = select(Round).where(Round.program_id == program_id)
        if slot is not None:
            round_ = session.scalar(query.where(Round.slot == slot))
        else:
            round_ = session.scalar(
                query.where(Round.status.in_(UNFINISHED)).order_by(Round.slot.desc()).limit(1)
            ) or session.scalar(
                query.where(Round.created_at >= utcnow() - MANUAL_REPEAT_WINDOW)
                .order_by(Round.slot.desc())
                .limit(1)
            )
        return round_.id if round_ is not None else None


def _standing_in(settings: Settings, program_id: int, slot: dt.datetime) -> int | None:
    """The round run by hand that stands in for the clock's `slot`, if any: one started
    less than half a cycle before it, or after it (a slot the clock has not run yet). The
    manual round moved the program on already; this catches a clock that read the slot
    just before."""
    with session_scope(settings.database_url) as session:
        program = session.get(Program, program_id)
        since = slot - stand_in_window(program.cadence)
        found = session.scalar(
            select(Round.id).where(Round.program_id == program_id, Round.slot > since)
            .order_by(Round.slot.desc()).limit(1)
        )  # fmt: skip
    if found is not None:
        log.info("round %s, run by hand, stands in for the slot %s of program %s",
                 found, slot.isoformat(), program_id)  # fmt: skip
    return found


def _stands_in(session, program: Program, start: dt.datetime):
    """Move the program past the slot a round run by hand at `start` stands in for, in the
    round's transaction: (that slot, the next one), or None when it stands in for none."""
    stored = program.next_run_at
    if stored is None or start <= stored - stand_in_window(program.cadence):
        return None
    try:
        following = next_run(schedule_of(program), max(start, stored))
    except ValueError:  # a schedule that cannot run: the clock runs nothing either
        return None
    if not due.advance(session, program.id, stored, following):
        return None  # the schedule changed meanwhile: the new slot stays
    return stored, following


def _plan(settings, client, pacer, program_id: int, slot: dt.datetime | None):
    url = settings.database_url
    manual = slot is None
    slot = (slot or utcnow()).replace(second=0, microsecond=0)
    try:
        bot_user_id = client.auth_test().get("user_id")
    except SlackApiError as error:  # a refused token is said once, as delivery would say it
        if reason(error) in TOKEN_ERRORS:
            raise DeliveryStopped(reason(error)) from None
        raise
    with session_scope(url) as session:
        previous = list(
            session.scalars(
                select(Round.id).where(Round.program_id == program_id, Round.closed_at.is_(None))
            )
        )
    for round_id in previous:
        close_round(settings, client, round_id)
    seed = random.SystemRandom().randrange(2**31)
    try:
        with session_scope(url) as session:
            program = session.get(Program, program_id)
            if not program.enabled:
                raise NoProgram(f"the program in {program.channel_id} is switched off")
            roster = build_roster(
                client, session, program, slot, bot_user_id=bot_user_id, pacer=pacer
            )
            grouping = plan_groups(session, program, roster.members, slot, seed)
            days = CADENCE_DAYS.get(program.cadence, 7)
            stood_in = _stands_in(session, program, slot) if manual else None
            round_ = Round(
                program_id=program_id,
                slot=slot,
                status="planned",
                seed=seed,
                checkin_at=days_later(
                    slot, min(program.checkin_after_days, days - 1), program.timezone
                ),
                # the next slot's wall-clock time: in a week clocks go forward, 7 x 24 h
                # came an hour after the next round, which closed this one first
                # standing in for a slot, it runs until the next round, as that one would
                closes_at=stood_in[1] if stood_in else days_later(slot, days, program.timezone),
            )
            session.add(round_)
            add_plan(session, round_, grouping, seed)
            session.flush()
            log.info(
                "round %s planned in %s: %d groups, %d unmatched, %d left out",
                round_.id, program.channel_id, len(grouping.groups),
                len(grouping.unmatched), len(roster.excluded),
            )
            if stood_in:
                log.info("round %s stands in for the slot %s; next slot %s", round_.id,
                         stood_in[0].isoformat(), stood_in[1].isoformat())  # fmt: skip
            return round_.id, True, stood_in
    except IntegrityError:
        with session_scope(url) as session:
            existing = session.scalar(
                select(Round.id).where(Round.program_id == program_id, Round.slot == slot)
            )
        if existing is None:
            raise
        return existing, False, None  # another process planned this slot first


def resume_deliveries(settings: Settings) -> int:
    """Finish rounds whose delivery was interrupted; return how many were resumed."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Round.program_id, Round.slot).where(Round.status.in_(UNFINISHED))
        ).all()
    for program_id, slot in rows:
        try:
            run_round(settings, program_id, slot, wait=False)
        except Exception as error:  # one workspace's trouble must not stop the others
            # out of reach: tried again at the next resume
            log_failure(log, f"could not resume the round of program {program_id}", error)
    return len(rows)


def send_due_checkins(settings: Settings, now: dt.datetime) -> int:
    """Ask each delivered group "did you get to meet?" once, at mid-round.

    Each round is handled on its own: a workspace whose token fails is logged and tried
    again at the next tick, and the others go on.
    """
    with session_scope(settings.database_url) as session:
        due = session.execute(
            select(Round.id, Program.id, Program.team_id)
            .join(Program, Program.id == Round.program_id)
            .outerjoin(Workspace, Workspace.team_id == Program.team_id)
            .where(
                Round.checkin_at <= now,
                Round.checkin_sent_at.is_(None),
                Round.closed_at.is_(None),
                Round.status == "delivered",
                Workspace.active.is_not(False),
            )
        ).all()
    sent = 0
    for round_id, program_id, team_id in due:
        try:
            with logs.context(team_id=team_id, program_id=program_id, round_id=round_id):
                sent += _send_checkins(settings, round_id, team_id)
        except Exception as error:
            log.error(
                "check-ins of round %s (program %s, workspace %s) failed, trying again at the "
                "next tick: %s", round_id, program_id, team_id, reason(error),
            )
    return sent


# checkin_ts while a check-in is on its way, or when Slack refused it for good.
CHECKIN_SENDING = "sending"
CHECKIN_FAILED = "failed"


def _send_checkins(settings: Settings, round_id: int, team_id: str) -> int:
    url = settings.database_url
    client = rate_limit_only_client(settings, bot_token_for(settings, team_id))
    pacer = Pacer(settings.slack_rate_scale)
    waiting = (
        Group.round_id == round_id,
        Group.delivery == "posted",
        Group.checkin_ts.is_(None),
        or_(Group.outcome.is_(None), Group.outcome == "not_yet"),  # not answered for good
        Group.lunch_at.is_(None),  # a group with a day is asked the day after (lunches)
    )
    sent = 0
    with locks.try_hold(url, locks.DELIVER, round_id) as mine:
        if not mine:
            return 0  # another clock is sending them
        with session_scope(url) as session:
            groups = session.execute(select(Group.id, Group.conversation_id).where(*waiting)).all()
        for group_id, conversation in groups:
            # Claimed before it is sent: a check-in whose fate is unknown is never repeated.
            if not _set_checkin(url, group_id, None, CHECKIN_SENDING):
                continue
            text, blocks = round_messages.checkin(group_id)
            pacer.wait("chat.postMessage", conversation)
            try:
                response = client.chat_postMessage(channel=conversation, text=text, blocks=blocks)
            except Exception as error:
                code = reason(error)
                if not surely_not_sent(error):
                    log.warning("check-in for group %s may not have arrived: %s", group_id, code)
                elif not is_transient(error) and code not in TOKEN_ERRORS:
                    log.warning("check-in for group %s not sent: %s", group_id, code)
                    _set_checkin(url, group_id, CHECKIN_SENDING, CHECKIN_FAILED)
                else:
                    _set_checkin(url, group_id, CHECKIN_SENDING, None)  # next tick tries again
                    log.warning("check-in for group %s: %s; trying again later", group_id, code)
                    if code in TOKEN_ERRORS:
                        raise
                continue
            _set_checkin(url, group_id, CHECKIN_SENDING, response["ts"])
            sent += 1
        with session_scope(url) as session:
            # held before counting: a "Reschedule" giving a group back its check-in waits,
            # or is counted (lunches.reschedule)
            hold(session, Round, Round.id == round_id)
            left = session.scalar(select(func.count()).select_from(Group).where(*waiting))
            if not left:
                session.get(Round, round_id).checkin_sent_at = utcnow()
    return sent


def _set_checkin(url: str, group_id: int, old: str | None, new: str | None) -> bool:
    condition = Group.checkin_ts.is_(None) if old is None else Group.checkin_ts == old
    with session_scope(url) as session:
        return bool(
            session.execute(
                update(Group)
                .where(Group.id == group_id, condition)
                .values(checkin_ts=new)
                .execution_options(synchronize_session=False)
            ).rowcount
        )


def close_due_rounds(settings: Settings, now: dt.datetime) -> int:
    """Close every round whose time is up, each on its own (see close_round)."""
    with session_scope(settings.database_url) as session:
        due = session.execute(
            select(Round.id, Program.id, Program.team_id, Workspace.active)
            .join(Program, Program.id == Round.program_id)
            .outerjoin(Workspace, Workspace.team_id == Program.team_id)
            .where(Round.closes_at <= now, Round.closed_at.is_(None))
        ).all()
    closed = 0
    for round_id, program_id, team_id, active in due:
        try:
            # An uninstalled workspace's rounds still close, without a word in Slack.
            client = None if active is False else client_for_team(settings, team_id)
            with logs.context(team_id=team_id, program_id=program_id, round_id=round_id):
                closed += close_round(settings, client, round_id)
        except Exception as error:
            log.error(
                "closing round %s (program %s, workspace %s) failed, trying again at the next "
                "tick: %s", round_id, program_id, team_id, reason(error),
            )
    return closed


def close_round(settings: Settings, client, round_id: int) -> bool:
    """Count silence per person, nudge the persistently silent once, post the summary.

    Once per round whoever else tries: under the round's close lock, and the counts are
    committed with `closed_at`. Nudges and the summary are claimed in that same commit and
    sent after it, so a crash can lose one but never send it twice. False if the round was
    closed already or is being closed elsewhere.
    """
    url = settings.database_url
    with locks.try_hold(url, locks.CLOSE, round_id) as mine:
        if not mine:
            return False
        with session_scope(url) as session:
            round_ = session.get(Round, round_id)
            if round_ is None or round_.closed_at is not None:
                return False
            program_id = round_.program_id
            nudges, summary, channel_id = _close(session, round_, speak=client is not None)
        metrics.ROUNDS_CLOSED.inc()
    # Closed and claimed in that commit: whoever comes next finds closed_at and stops, so the
    # posts need no lock.
    if client is None:
        return True
    post = rate_limit_only_client(settings, client.token)
    for choice_id, user_id, silent in nudges:
        text, blocks = round_messages.nudge(channel_id, program_id, silent)
        try:
            post.chat_postMessage(channel=user_id, text=text, blocks=blocks)
        except Exception as error:
            log.warning("could not nudge %s: %s", user_id, reason(error))
            if surely_not_sent(error):
                with session_scope(url) as session:
                    session.get(Participation, choice_id).nudged_at = None
    if summary:
        try:
            post.chat_postMessage(channel=channel_id, text=summary)
        except Exception as error:
            log.warning("summary for round %s: %s", round_id, reason(error))
            if surely_not_sent(error):
                with session_scope(url) as session:
                    session.get(Round, round_id).summary_posted_at = None
    return True


def _close(session, round_: Round, speak: bool):
    """Close the round in this transaction; (nudges to send, summary text, channel)."""
    program = session.get(Program, round_.program_id)
    now = utcnow()
    round_.closed_at = now
    if round_.status in UNFINISHED:
        log.warning("round %s closed before its delivery finished", round_.id)
    round_.status = "closed"
    # an answer coming in as the round closes is counted, not overwritten as silence
    hold(session, Group, Group.round_id == round_.id)
    choices = {
        p.user_id: p
        for p in session.scalars(
            select(Participation).where(Participation.program_id == program.id)
        )
    }
    groups = session.scalars(
        select(Group)
        .where(Group.round_id == round_.id)
        .options(selectinload(Group.members))  # one query for all members, not one per group
    ).all()
    to_nudge = []
    for group in groups:
        if group.delivery != "posted":
            continue
        for member in group.members:
            choice = choices.get(member.user_id)
            if choice is None:
                choice = choices[member.user_id] = Participation(
                    program_id=program.id, user_id=member.user_id, silent_rounds=0
                )
                session.add(choice)
            if group.outcome == "met" or member.user_id in (group.responders or []):
                choice.silent_rounds = 0
                continue
            choice.silent_rounds = (choice.silent_rounds or 0) + 1
            if choice.silent_rounds >= SILENT_ROUNDS_BEFORE_NUDGE and choice.nudged_at is None:
                to_nudge.append(choice)
    summary = None
    if not speak:
        return [], summary, program.channel_id
    for choice in to_nudge:
        choice.nudged_at = now
    if program.post_summary and round_.summary_posted_at is None and groups:
        round_.summary_posted_at = now
        summary = round_messages.summary(len(groups), sum(g.outcome == "met" for g in groups))
    session.flush()
    nudges = [(c.id, c.user_id, c.silent_rounds) for c in to_nudge]
    return nudges, summary, program.channel_id


@dataclass(frozen=True)
class CheckinRecorded:
    round_over: bool  # answered after the next round began: kept, but no time is promised


def record_checkin(
    settings: Settings, team_id: str, group_id: int, user_id: str, outcome: str
) -> CheckinRecorded | None:
    """Store a group's answer (latest wins); None if the clicker is not in that group."""
    with session_scope(settings.database_url) as session:
        hold(session, Group, Group.id == group_id)  # two answering at once: both are responders
        group = session.get(Group, group_id)
        if group is None or session.get(Program, group.round.program_id).team_id != team_id:
            return None
        if user_id not in {m.user_id for m in group.members}:
            return None
        group.outcome = outcome
        group.outcome_by = user_id
        group.outcome_at = utcnow()
        if user_id not in (group.responders or []):
            group.responders = [*(group.responders or []), user_id]
        choice = session.scalar(
            select(Participation).where(
                Participation.program_id == group.round.program_id,
                Participation.user_id == user_id,
            )
        )
        if choice is not None:
            choice.silent_rounds = 0
        return CheckinRecorded(round_over=group.round.closed_at is not None)


def answer_nudge(settings: Settings, team_id: str, program_id: int, user_id: str, stay: bool):
    """Act on "keep me in" / "take me out"; return the program's channel, or None."""
    with session_scope(settings.database_url) as session:
        program = session.get(Program, program_id)
        if program is None or program.team_id != team_id:
            return None
        choice = session.scalar(
            select(Participation).where(
                Participation.program_id == program_id, Participation.user_id == user_id
            )
        )
        if choice is None:
            choice = Participation(program_id=program_id, user_id=user_id)
            session.add(choice)
        choice.silent_rounds = 0
        choice.opted_out = not stay
        return program.channel_id


def workspace_active(session, team_id: str) -> bool:
    workspace = session.get(Workspace, team_id)
    return workspace is None or workspace.active
