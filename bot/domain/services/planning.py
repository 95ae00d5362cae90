"""Planning a round: the matching engine's groups plus who organises and what to talk about.

Everything here is decided before any message is sent, and written in one transaction with
the round, so delivery only ever carries out a plan that already exists.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Sequence
from functools import cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.domain.matching import (
    Grouping,
    PastGroup,
    Person,
    Rules,
    form_groups,
    offset_minutes,
    reporting_lines,
)
from bot.domain.services import avoids
from bot.storage.models import Group, GroupMember, Member, Program, Round, UnmatchedMember

# A person does not see the same starter again within this many of their groups.
STARTER_MEMORY = 12


@cache
def starters() -> tuple[str, ...]:
    text = resources.files("bot").joinpath("data/starters.txt").read_text(encoding="utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip())


def person_of(member: Member, when: dt.datetime) -> Person:
    try:
        zone = ZoneInfo(member.timezone) if member.timezone else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None  # an unknown zone constrains nobody, like no zone at all
    return Person(
        id=member.user_id,
        level=member.level,
        department=member.department,
        location=member.location,
        utc_offset_minutes=offset_minutes(zone, when.date()),
    )


def program_history(session: Session, program_id: int) -> list[PastGroup]:
    """Every past group of the program, oldest first, as the engine sees history."""
    rows = session.execute(
        select(Round.slot, Group.id, GroupMember.user_id)
        .join(Group, Group.round_id == Round.id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Round.program_id == program_id)
        .order_by(Round.slot, Group.id)
    )
    groups: dict[int, tuple[dt.date, list[str]]] = {}
    for slot, group_id, user_id in rows:
        groups.setdefault(group_id, (slot.date(), []))[1].append(user_id)
    return [PastGroup(date=d, member_ids=tuple(ids)) for d, ids in groups.values()]


def last_unmatched(session: Session, program_id: int) -> set[str]:
    """Who could not be placed last round: they go first this time."""
    last = session.scalar(
        select(Round.id).where(Round.program_id == program_id).order_by(Round.slot.desc()).limit(1)
    )
    if last is None:
        return set()
    return set(
        session.scalars(select(UnmatchedMember.user_id).where(UnmatchedMember.round_id == last))
    )


def choose_organiser(group: Sequence[str], organised: Counter, rng: random.Random) -> str:
    """Whoever has organised least often; rotating the job spreads it fairly."""
    fewest = min(organised[u] for u in group)
    return rng.choice(sorted(u for u in group if organised[u] == fewest))


def choose_starter(group: Sequence[str], seen: dict[str, list[str]], rng: random.Random) -> str:
    """A starter nobody in the group has had recently, or the one they saw longest ago."""
    pool = starters()
    recent = {s for u in group for s in seen.get(u, [])[-STARTER_MEMORY:]}
    fresh = [s for s in pool if s not in recent]
    if fresh:
        return rng.choice(fresh)

    def last_seen(starter: str) -> int:
        return max(
            (len(seen[u]) - seen[u][::-1].index(starter)) for u in group if starter in seen.get(u, [])
        )

    return min(pool, key=lambda s: (last_seen(s), rng.random()))


def _organiser_counts_and_starters(session: Session, program_id: int):
    organised: Counter = Counter()
    seen: dict[str, list[str]] = {}
    rows = session.execute(
        select(Group.id, Group.organiser_id, Group.starter, GroupMember.user_id)
        .join(Round, Group.round_id == Round.id)
        .join(GroupMember, GroupMember.group_id == Group.id)
        .where(Round.program_id == program_id)
        .order_by(Round.slot, Group.id)
    )
    counted: set[int] = set()
    for group_id, organiser, starter, user_id in rows:
        if organiser and group_id not in counted:
            organised[organiser] += 1
            counted.add(group_id)
        if starter:
            seen.setdefault(user_id, []).append(starter)
    return organised, seen


def plan_groups(
    session: Session, program: Program, members: Sequence[Member], slot: dt.datetime, seed: int
) -> Grouping:
    people = [person_of(m, slot) for m in members]
    rules = Rules(group_size=program.group_size, tz_window_hours=program.tz_window_hours)
    return form_groups(
        people,
        program_history(session, program.id),
        rules,
        seed=seed,
        priority=last_unmatched(session, program.id),
        apart=[*avoids.pairs(session, program.team_id), *_reporting(session, program)],
    )


def _reporting(session: Session, program: Program) -> set[tuple[str, str]]:
    """The workspace's reporting lines as pairs kept apart (skip-level if the program asks)."""
    rows = session.execute(
        select(Member.user_id, Member.manager).where(
            Member.team_id == program.team_id, Member.manager.is_not(None)
        )
    )
    return reporting_lines(dict(rows.all()), skip_level=program.skip_level_apart)


def add_plan(session: Session, round_: Round, grouping: Grouping, seed: int) -> None:
    """Attach groups (with organiser and starter) and unmatched people to a new round."""
    rng = random.Random(seed)
    organised, seen = _organiser_counts_and_starters(session, round_.program_id)
    for position, user_ids in enumerate(grouping.groups):
        organiser = choose_organiser(user_ids, organised, rng)
        organised[organiser] += 1
        starter = choose_starter(user_ids, seen, rng)
        for u in user_ids:
            seen.setdefault(u, []).append(starter)
        round_.groups.append(
            Group(
                position=position,
                organiser_id=organiser,
                starter=starter,
                members=[GroupMember(user_id=u) for u in user_ids],
                responders=[],
            )
        )
    for unmatched in grouping.unmatched:
        round_.unmatched.append(
            UnmatchedMember(user_id=unmatched.person_id, reason=unmatched.reason)
        )
