"""A person's own groups: the one they are in now and whom they have met before."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload

from bot.domain.schedule import local_date
from bot.storage.models import Group, GroupMember, Program, Round


@dataclass(frozen=True)
class GroupView:
    group_id: int
    program_id: int
    channel_id: str
    date: dt.date
    others: tuple[str, ...]  # never includes the person themself; forgotten people left out
    organiser_id: str | None
    outcome: str | None
    current: bool  # the round is still open


def groups_of(
    session: Session, team_id: str, user_id: str, timezone: str | None = None, *, limit: int = 20
) -> list[GroupView]:
    """Newest first, delivered groups only, within one workspace.

    Dates are the person's own: the round's day in `timezone` (their Slack time zone), or in
    the program's when they have none.
    """
    mine = aliased(GroupMember)
    rows = session.execute(
        select(Group, Round, Program)
        .join(mine, mine.group_id == Group.id)
        .join(Round, Group.round_id == Round.id)
        .join(Program, Round.program_id == Program.id)
        .where(Program.team_id == team_id, mine.user_id == user_id, Group.delivery == "posted")
        .order_by(Round.slot.desc(), Group.id)
        .limit(limit)
        .options(selectinload(Group.members))
    ).all()
    views = []
    for group, round_, program in rows:
        others = tuple(
            m.user_id
            for m in group.members
            if m.user_id != user_id and not m.user_id.startswith("forgotten-")
        )
        views.append(
            GroupView(
                group_id=group.id,
                program_id=program.id,
                channel_id=program.channel_id,
                date=local_date(round_.slot, timezone or program.timezone),
                others=others,
                organiser_id=group.organiser_id,
                outcome=group.outcome,
                current=round_.closed_at is None,
            )
        )
    return views


# A round under way is among a person's newest groups.
CURRENT_WITHIN = 5


def current_groups(views: list[GroupView]) -> dict[int, GroupView]:
    """Each program's group of the round under way, from groups_of's newest-first views."""
    current: dict[int, GroupView] = {}
    for view in views[:CURRENT_WITHIN]:
        if view.current:
            current.setdefault(view.program_id, view)
    return current
