"""How pairing is going, per program: for admins, never naming anyone's level."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session, selectinload

from bot.domain.schedule import local_date
from bot.slack.round_messages import failure_advice
from bot.storage.models import Group, GroupMember, Participation, Program, Round

NON_RESPONDER_ROUNDS = 2
# Failed groups listed per program, newest first.
FAILURES_SHOWN = 10


@dataclass(frozen=True)
class FailedGroup:
    """A group whose intro Slack refused, and Slack's error code."""

    date: dt.date
    user_ids: list[str]
    error: str

    @property
    def advice(self) -> str:
        return failure_advice(self.error)


@dataclass(frozen=True)
class ProgramStats:
    program_id: int
    team_id: str
    channel_id: str
    enabled: bool
    rounds: int
    people_paired: int
    groups: int
    groups_met: int
    groups_failed: int
    non_responders: list[str]
    failures: list[FailedGroup] = field(default_factory=list)
    groups_scheduled: int = 0  # with a lunch day agreed
    scheduled_met: int = 0
    channel_error: str | None = None  # Slack's answer when the channel could not be read

    @property
    def scheduled_meet_rate(self) -> float | None:
        """Share of groups with an agreed day that reported meeting."""
        return self.scheduled_met / self.groups_scheduled if self.groups_scheduled else None

    @property
    def meet_rate(self) -> float | None:
        """Share of delivered groups that reported meeting."""
        delivered = self.groups - self.groups_failed
        return self.groups_met / delivered if delivered else None


def program_stats(session: Session, program: Program) -> ProgramStats:
    in_program = Round.program_id == program.id
    rounds = session.scalar(select(func.count()).select_from(Round).where(in_program))
    group_rows = session.execute(
        select(Group.delivery, Group.outcome, Group.lunch_at)
        .join(Round, Group.round_id == Round.id)
        .where(in_program)
    ).all()
    people = session.scalar(
        select(func.count(distinct(GroupMember.user_id)))
        .join(Group, GroupMember.group_id == Group.id)
        .join(Round, Group.round_id == Round.id)
        .where(in_program, Group.delivery == "posted", ~GroupMember.user_id.like("forgotten-%"))
    )
    silent = session.scalars(
        select(Participation.user_id)
        .where(
            Participation.program_id == program.id,
            Participation.silent_rounds >= NON_RESPONDER_ROUNDS,
            Participation.opted_out.is_(False),
        )
        .order_by(Participation.user_id)
    ).all()
    failed = sum(delivery == "failed" for delivery, _, _ in group_rows)
    scheduled = [outcome for _, outcome, lunch_at in group_rows if lunch_at is not None]
    return ProgramStats(
        program_id=program.id,
        team_id=program.team_id,
        channel_id=program.channel_id,
        enabled=program.enabled,
        rounds=rounds or 0,
        people_paired=people or 0,
        groups=len(group_rows),
        groups_met=sum(outcome == "met" for _, outcome, _ in group_rows),
        groups_scheduled=len(scheduled),
        scheduled_met=sum(outcome == "met" for outcome in scheduled),
        groups_failed=failed,
        non_responders=list(silent),
        failures=failed_groups(session, program) if failed else [],
        channel_error=program.members_error,
    )


def failed_groups(session: Session, program: Program, limit: int = FAILURES_SHOWN):
    """The program's latest groups that never got their intro, newest round first."""
    rows = session.execute(
        select(Group, Round.slot)
        .join(Round, Group.round_id == Round.id)
        .where(Round.program_id == program.id, Group.delivery == "failed")
        .order_by(Round.slot.desc(), Group.position)
        .limit(limit)
        .options(selectinload(Group.members))
    ).all()
    return [
        FailedGroup(
            date=local_date(slot, program.timezone),  # its round's day, where the program is
            user_ids=sorted(
                m.user_id for m in group.members if not m.user_id.startswith("forgotten-")
            ),
            error=group.error or "unknown_error",
        )
        for group, slot in rows
    ]


def all_stats(session: Session, team_id: str | None = None) -> list[ProgramStats]:
    query = select(Program).order_by(Program.team_id, Program.channel_id)
    if team_id:
        query = query.where(Program.team_id == team_id)
    return [program_stats(session, p) for p in session.scalars(query)]


def format_rate(stats: ProgramStats) -> str:
    rate = stats.meet_rate
    return "n/a" if rate is None else f"{rate:.0%}"


def format_scheduled(stats: ProgramStats) -> str:
    """"12 scheduled (83% of those met)": groups with an agreed day, and how many met."""
    rate = stats.scheduled_meet_rate
    return f"{stats.groups_scheduled} scheduled" + (
        "" if rate is None else f" ({rate:.0%} of those met)"
    )
