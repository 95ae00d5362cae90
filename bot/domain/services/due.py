"""What the clock finds due, and how it claims a slot so that it runs once.

Every tick starts with `due_now`: one statement of EXISTS tests that says which kinds of
work are due. When nothing is, that statement is the whole tick.

A program's slot is claimed in the database, not in memory, so any number of clock
processes can run. The clock takes the program's lock (bot.domain.services.locks; try-lock: a busy
program is left to whoever has it), reads the program again, runs the round and only then
moves `next_run_at` on, with an UPDATE that checks the old value. A process that dies
mid-round leaves `next_run_at` where it was and its lock is taken over, so a later tick
anywhere resumes the same slot; `run_round` finds the round already planned under its
unique (program, slot) key and only finishes what is left.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Date, bindparam, exists, func, or_, select, update
from sqlalchemy.orm import Session, object_session

from bot.domain.schedule import Schedule, next_run, schedule_of
from bot.storage.models import (
    Group,
    Member,
    Participation,
    Program,
    Round,
    UTCDateTime,
    Workspace,
)

UNFINISHED = ("planned", "delivering")
HEADS_UP_AHEAD = dt.timedelta(hours=24)


@dataclass(frozen=True)
class Due:
    """Which kinds of work a tick has to do."""

    rounds: bool = False
    unscheduled: bool = False
    heads_ups: bool = False
    checkins: bool = False
    closes: bool = False
    deliveries: bool = False
    touches: bool = False  # keep-in-touch reminders
    lunches: bool = False  # a day to pick, a lunch to remind of, a day-after check-in
    pauses: bool = False

    def __bool__(self) -> bool:
        return any(vars(self).values())


def heads_up_pending(now, later) -> tuple:
    """Conditions on Program: a heads-up is wanted for a slot after `now`, up to `later`,
    and not yet sent for that slot."""
    p = Program
    return (
        p.next_run_at > now,
        p.next_run_at <= later,
        p.heads_up.is_(True),
        p.enabled.is_(True),
        or_(p.heads_up_sent_for.is_(None), p.heads_up_sent_for != p.next_run_at),
    )


def due_now(session: Session, now: dt.datetime, pause_cutoff: dt.date) -> Due:
    """One statement: is anything due at `now`? (Pauses: any `paused_until` < cutoff.)

    Rounds and heads-ups are range scans of the `next_run_at` index. The EXISTS tests on
    rounds follow the conditions of bot.domain.services.rounds, so they turn false once the work
    is done.
    """
    p = Program
    # Written into the SQL text rather than bound: PostgreSQL then plans each tick for its
    # own moment, where a prepared generic plan would read far more of the indexes.
    later = now + HEADS_UP_AHEAD
    now = bindparam("now", now, type_=UTCDateTime, literal_execute=True)
    later = bindparam("later", later, type_=UTCDateTime, literal_execute=True)
    pause_cutoff = bindparam("cutoff", pause_cutoff, type_=Date(), literal_execute=True)
    unfinished = bindparam("unfinished", UNFINISHED, expanding=True, literal_execute=True)
    row = session.execute(
        select(
            exists().where(p.next_run_at <= now).label("rounds"),
            exists().where(p.next_run_at.is_(None)).label("unscheduled"),
            exists().where(*heads_up_pending(now, later)).label("heads_ups"),
            # (send_due_checkins also wants the round delivered; leaving that out here lets
            # one index of open rounds answer both this and the next question.)
            exists()
            .where(
                Round.checkin_at <= now,
                Round.checkin_sent_at.is_(None),
                Round.closed_at.is_(None),
            )
            .label("checkins"),
            exists().where(Round.closes_at <= now, Round.closed_at.is_(None)).label("closes"),
            exists().where(Round.status.in_(unfinished)).label("deliveries"),
            exists().where(Group.touch_next_at <= now).label("touches"),
            or_(
                exists().where(Group.auto_at <= now),
                exists().where(Group.remind_at <= now),
                exists().where(Group.check_at <= now),
            ).label("lunches"),
            or_(
                exists().where(Member.paused_until < pause_cutoff),
                exists().where(Participation.paused_until < pause_cutoff),
            ).label("pauses"),
        )
    ).one()
    return Due(**row._asdict())


def due_program_ids(session: Session, now: dt.datetime) -> list[int]:
    """Programs whose slot has come, oldest slot first."""
    return list(
        session.scalars(
            select(Program.id).where(Program.next_run_at <= now).order_by(Program.next_run_at)
        )
    )


@dataclass(frozen=True)
class ProgramSlot:
    """What the clock needs to know about one program, read fresh under its lock."""

    id: int
    team_id: str
    channel_id: str
    enabled: bool
    workspace_active: bool
    next_run_at: dt.datetime | None
    schedule: Schedule | None
    schedule_error: str | None


def read_program(session: Session, program_id: int) -> ProgramSlot | None:
    row = session.execute(
        select(Program, Workspace.active)
        .outerjoin(Workspace, Workspace.team_id == Program.team_id)
        .where(Program.id == program_id)
    ).one_or_none()
    if row is None:
        return None
    program, active = row
    try:
        schedule, error = schedule_of(program), None
    except ValueError as bad:
        schedule, error = None, str(bad)
    return ProgramSlot(
        id=program.id,
        team_id=program.team_id,
        channel_id=program.channel_id,
        enabled=bool(program.enabled),
        workspace_active=active is not False,  # no row: a one-workspace install
        next_run_at=program.next_run_at,
        schedule=schedule,
        schedule_error=error,
    )


def advance(session: Session, program_id: int, old: dt.datetime | None, new: dt.datetime) -> bool:
    """Move `next_run_at` from `old` to `new` unless someone moved it first; True if moved.

    Checking the old value makes this an atomic claim on every database.
    """
    condition = Program.next_run_at.is_(None) if old is None else Program.next_run_at == old
    result = session.execute(
        update(Program)
        .where(Program.id == program_id, condition)
        .values(next_run_at=new)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def schedule_unscheduled(session: Session, now: dt.datetime) -> tuple[int, list[tuple[int, str]]]:
    """Give every program without a `next_run_at` its next slot after `now`.

    Returns how many were scheduled and (id, error) for schedules that make no sense.
    """
    done, bad = 0, []
    for program in session.scalars(select(Program).where(Program.next_run_at.is_(None))):
        try:
            slot = next_run(schedule_of(program), now)
        except ValueError as error:
            bad.append((program.id, str(error)))
            continue
        done += advance(session, program.id, None, slot)
    return done, bad


def round_exists(session: Session, program_id: int, slot: dt.datetime) -> bool:
    return session.scalar(
        select(exists().where(Round.program_id == program_id, Round.slot == slot))
    )


# After a round, a changed schedule's first slot comes no sooner than a cycle less a day:
# moving Monday's round to 15:00, or to Friday, the day after it ran gave a second round
# that week (and "first Monday" to "last Friday", a second one that month).
MIN_GAP = {"weekly": dt.timedelta(days=6), "biweekly": dt.timedelta(days=13),
           "every4weeks": dt.timedelta(days=27), "monthly": dt.timedelta(days=27)}  # fmt: skip


def reschedule(program: Program, now: dt.datetime | None = None) -> dt.datetime:
    """Point a program at its next slot after a change of schedule (or when enabled again):
    the new schedule takes over from the next cycle, a round a cycle.

    Call it in the same transaction as the change; the clock picks it up at its next tick.
    """
    after = now or dt.datetime.now(dt.UTC)
    session = object_session(program)
    if session is not None and program.id is not None:
        last = session.scalar(select(func.max(Round.slot)).where(Round.program_id == program.id))
        if last is not None:
            after = max(after, last + MIN_GAP.get(program.cadence, MIN_GAP["weekly"]))
    program.next_run_at = next_run(schedule_of(program), after)
    return program.next_run_at
