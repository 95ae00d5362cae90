"""Lunches that happen: the dates an intro offers, votes on them, and the date agreed.

The dates come from `bot.lunch_dates` (pure); this module reads who is in the group (their
zone, lunch days and time), keeps what was offered on the group, so a click can only choose
an offered date, and decides when a date is agreed: when everyone in the group has chosen
it, or when the organiser chooses it for the group.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from bot import lunch_dates
from bot.lunch_dates import Diner, Offer
from bot.models import Group, LunchVote, Member, Program, Round
from bot.schedule import local_date
from bot.services.people import FORGOTTEN_PREFIX


def _time(text: str | None, default: dt.time) -> dt.time:
    try:
        hours, minutes = (int(part) for part in (text or "").split(":"))
        return dt.time(hours, minutes)
    except ValueError:
        return default


def diners(
    session: Session, group: Group, program: Program, rows: dict[str, Member] | None = None
) -> list[Diner]:
    """The group as the date finder sees it, organiser first (`rows`: their Member rows,
    when the caller has them already)."""
    ids = [m.user_id for m in group.members if not m.user_id.startswith(FORGOTTEN_PREFIX)]
    ids.sort(key=lambda u: u != group.organiser_id)
    if rows is None:
        rows = {
            m.user_id: m
            for m in session.scalars(
                select(Member).where(Member.team_id == program.team_id, Member.user_id.in_(ids))
            )
        }
    default = _time(program.time_of_day, lunch_dates.DEFAULT_TIME)
    found = []
    for user_id in ids:
        member = rows.get(user_id)
        days = lunch_dates.WORKDAYS
        if member is not None and member.lunch_days:
            days = lunch_dates.parse_days([member.lunch_days])
        found.append(Diner(
            user_id=user_id,
            zone=(member.timezone if member is not None and member.timezone else program.timezone),
            days=days,
            lunch_time=_time(member.lunch_time if member else None, default),
        ))  # fmt: skip
    return found


def zone_of(people: list[Diner], program: Program) -> str:
    """The zone a group's days are written in: its organiser's (the group shares it when
    its times are shown on the buttons)."""
    return people[0].zone if people else program.timezone


def offer(session: Session, group: Group, program: Program, round_: Round,
          after: dt.datetime | None = None, people: list[Diner] | None = None) -> list[Offer]:  # fmt: skip
    """Dates in the rest of the round that everyone can make (after `after`, if given);
    they are added to what the group was offered."""
    people = diners(session, group, program) if people is None else people
    if not people:
        return []
    zone = people[0].zone
    first = local_date(round_.slot, zone) + dt.timedelta(days=1)
    last = local_date(round_.closes_at or round_.slot + dt.timedelta(days=7), zone)
    found = lunch_dates.offers(people, first, last - dt.timedelta(days=1), after=after)
    group.offered = [*(group.offered or []),
                     *({"start": o.start.isoformat(), "video": o.video} for o in found)]  # fmt: skip
    return found


def offers_of(group: Group) -> list[Offer]:
    return [Offer(dt.datetime.fromisoformat(o["start"]), bool(o.get("video")))
            for o in group.offered or []]  # fmt: skip


def offered(group: Group) -> list[dt.datetime]:
    return [o.start for o in offers_of(group)]


@dataclass(frozen=True)
class Pick:
    agreed: bool
    start: dt.datetime
    waiting_for: list[str]  # who has not chosen this date yet


def pick(session: Session, group: Group, user_id: str, start: dt.datetime) -> Pick | None:
    """A member chooses an offered date; None if it was never offered to this group."""
    if start not in offered(group):
        return None
    exists = session.scalar(select(LunchVote.id).where(
        LunchVote.group_id == group.id, LunchVote.user_id == user_id, LunchVote.start == start))  # fmt: skip
    if exists is None:
        session.add(LunchVote(group_id=group.id, user_id=user_id, start=start))
        session.flush()
    voters = set(session.scalars(
        select(LunchVote.user_id).where(LunchVote.group_id == group.id, LunchVote.start == start)))  # fmt: skip
    members = [m.user_id for m in group.members if not m.user_id.startswith(FORGOTTEN_PREFIX)]
    waiting = [u for u in members if u not in voters]
    agreed = not waiting or user_id == group.organiser_id
    if agreed:
        group.lunch_at = start
    return Pick(agreed, start, waiting)


def reschedule(session: Session, group: Group) -> None:
    """Back to choosing: the agreed date and every vote are gone."""
    group.lunch_at = None
    session.execute(delete(LunchVote).where(LunchVote.group_id == group.id))


def load(session: Session, team_id: str, group_id: int) -> tuple[Group, Program, Round] | None:
    row = session.execute(
        select(Group, Program, Round)
        .join(Round, Round.id == Group.round_id)
        .join(Program, Program.id == Round.program_id)
        .where(Group.id == group_id, Program.team_id == team_id)
    ).first()
    return tuple(row) if row else None
