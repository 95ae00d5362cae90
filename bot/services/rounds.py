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
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from bot import round_messages
from bot.config import Settings
from bot.db import session_scope
from bot.models import Group, Participation, Program, Round, UnmatchedMember, Workspace, utcnow
from bot.schedule import days_later
from bot.services import locks
from bot.services.delivery import Delivery
from bot.services.pacing import Pacer
from bot.services.participants import build_roster
from bot.services.planning import add_plan, plan_groups
from bot.services.workspaces import client_for_team

log = logging.getLogger(__name__)

CADENCE_DAYS = {"weekly": 7, "biweekly": 14, "every4weeks": 28, "monthly": 28}
# A manual round started this recently is resumed rather than repeated (double clicks).
MANUAL_REPEAT_WINDOW = dt.timedelta(minutes=10)
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


def run_round(
    settings: Settings,
    program_id: int,
    slot: dt.datetime | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> RoundReport:
    """Plan the round for `slot` (once, whoever else tries) and deliver what is undelivered.

    Without a slot (a manual round) an unfinished or very recent round is resumed instead of
    starting another one.
    """
    url = settings.database_url
    with session_scope(url) as session:
        program = session.get(Program, program_id)
        if program is None:
            raise NoProgram(f"no program with id {program_id}")
        if not workspace_active(session, program.team_id):
            raise NoProgram(f"Worth Knowing was uninstalled from workspace {program.team_id}")
        team_id = program.team_id
    client = client_for_team(settings, team_id)
    pacer = Pacer(settings.slack_rate_scale)
    with locks.advisory_lock(url, locks.PLAN, program_id):
        round_id, created = _existing_round(settings, program_id, slot), False
        if round_id is None:
            round_id, created = _plan(settings, client, pacer, program_id, slot)
    with locks.advisory_lock(url, locks.DELIVER, round_id):
        result = Delivery(settings, client, pacer).deliver(round_id, progress)
    with session_scope(url) as session:
        return RoundReport(
            round_id=round_id,
            program_id=program_id,
            created=created,
            groups=_count(session, Group, Group.round_id == round_id),
            delivered=result.delivered,
            failed=result.failed,
            unmatched=_count(session, UnmatchedMember, UnmatchedMember.round_id == round_id),
            status=session.get(Round, round_id).status,
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


def _plan(settings, client, pacer, program_id: int, slot: dt.datetime | None):
    url = settings.database_url
    slot = (slot or utcnow()).replace(second=0, microsecond=0)
    bot_user_id = client.auth_test().get("user_id")
    with session_scope(url) as session:
        unclosed = session.scalars(
            select(Round).where(Round.program_id == program_id, Round.closed_at.is_(None))
        ).all()  # read in full: closing one commits
        for previous in unclosed:
            _close(settings, client, session, previous)
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
            round_ = Round(
                program_id=program_id,
                slot=slot,
                status="planned",
                seed=seed,
                checkin_at=days_later(
                    slot, min(program.checkin_after_days, days - 1), program.timezone
                ),
                closes_at=slot + dt.timedelta(days=days),
            )
            session.add(round_)
            add_plan(session, round_, grouping, seed)
            session.flush()
            log.info(
                "round %s planned in %s: %d groups, %d unmatched, %d left out",
                round_.id, program.channel_id, len(grouping.groups),
                len(grouping.unmatched), len(roster.excluded),
            )
            return round_.id, True
    except IntegrityError:
        with session_scope(url) as session:
            existing = session.scalar(
                select(Round.id).where(Round.program_id == program_id, Round.slot == slot)
            )
        if existing is None:
            raise
        return existing, False  # another process planned this slot first


def resume_deliveries(settings: Settings) -> int:
    """Finish rounds whose delivery was interrupted; return how many were resumed."""
    with session_scope(settings.database_url) as session:
        rows = session.execute(
            select(Round.program_id, Round.slot).where(Round.status.in_(UNFINISHED))
        ).all()
    for program_id, slot in rows:
        try:
            run_round(settings, program_id, slot)
        except Exception:  # one workspace's trouble must not stop the others
            log.exception("could not resume the round of program %s", program_id)
    return len(rows)


def send_due_checkins(settings: Settings, now: dt.datetime) -> int:
    """Ask each delivered group "did you get to meet?" once, at mid-round."""
    url = settings.database_url
    with session_scope(url) as session:
        due = session.execute(
            select(Round.id, Program.team_id)
            .join(Program, Program.id == Round.program_id)
            .where(
                Round.checkin_at <= now,
                Round.checkin_sent_at.is_(None),
                Round.closed_at.is_(None),
                Round.status == "delivered",
            )
        ).all()
    sent = 0
    for round_id, team_id in due:
        client = client_for_team(settings, team_id)
        pacer = Pacer(settings.slack_rate_scale)
        with locks.advisory_lock(url, locks.DELIVER, round_id):
            with session_scope(url) as session:
                groups = session.execute(
                    select(Group.id, Group.conversation_id).where(
                        Group.round_id == round_id,
                        Group.delivery == "posted",
                        Group.checkin_ts.is_(None),
                        Group.outcome.is_distinct_from("met"),
                    )
                ).all()
            for group_id, conversation in groups:
                text, blocks = round_messages.checkin(group_id)
                pacer.wait("chat.postMessage", conversation)
                try:
                    response = client.chat_postMessage(
                        channel=conversation, text=text, blocks=blocks
                    )
                except SlackApiError as error:
                    log.warning("check-in for group %s: %s", group_id, error.response.get("error"))
                    continue
                with session_scope(url) as session:
                    session.get(Group, group_id).checkin_ts = response["ts"]
                sent += 1
            with session_scope(url) as session:
                session.get(Round, round_id).checkin_sent_at = utcnow()
    return sent


def close_due_rounds(settings: Settings, now: dt.datetime) -> int:
    with session_scope(settings.database_url) as session:
        due = session.execute(
            select(Round.id, Program.team_id)
            .join(Program, Program.id == Round.program_id)
            .where(Round.closes_at <= now, Round.closed_at.is_(None))
        ).all()
    for round_id, team_id in due:
        client = client_for_team(settings, team_id)
        with session_scope(settings.database_url) as session:
            _close(settings, client, session, session.get(Round, round_id))
    return len(due)


def _close(settings: Settings, client, session, round_: Round) -> None:
    """Count silence per person, nudge the persistently silent once, post the summary.

    Commits the session before asking Slack anything, so no write transaction (SQLite's
    write lock) waits on Slack; nudges and the summary are claimed first, released if Slack
    refuses them.
    """
    if round_.closed_at is not None:
        return
    program = session.get(Program, round_.program_id)
    round_.closed_at = utcnow()
    if round_.status in UNFINISHED:
        log.warning("round %s closed before its delivery finished", round_.id)
    round_.status = "closed"
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
    for choice in to_nudge:
        choice.nudged_at = utcnow()
    summary = None
    if program.post_summary and round_.summary_posted_at is None and groups:
        summary = round_messages.summary(len(groups), sum(g.outcome == "met" for g in groups))
        round_.summary_posted_at = utcnow()
    session.commit()
    for choice in to_nudge:
        text, blocks = round_messages.nudge(program.channel_id, program.id, choice.silent_rounds)
        try:
            client.chat_postMessage(channel=choice.user_id, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning("could not nudge %s: %s", choice.user_id, error.response.get("error"))
            choice.nudged_at = None
    if summary:
        try:
            client.chat_postMessage(channel=program.channel_id, text=summary)
        except SlackApiError as error:
            log.warning("summary for round %s: %s", round_.id, error.response.get("error"))
            round_.summary_posted_at = None


def record_checkin(
    settings: Settings, team_id: str, group_id: int, user_id: str, outcome: str
) -> bool:
    """Store a group's answer (latest wins); False if the clicker is not in that group."""
    with session_scope(settings.database_url) as session:
        group = session.get(Group, group_id)
        if group is None or session.get(Program, group.round.program_id).team_id != team_id:
            return False
        if user_id not in {m.user_id for m in group.members}:
            return False
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
        return True


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
