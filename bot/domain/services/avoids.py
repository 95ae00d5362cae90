"""Avoid lists: whom a person asked never to be grouped with.

Private by design: only the person sees their list; the other person is never told, and
admins only ever see how many people keep one. Matching reads every list of the workspace as
pairs kept apart (``bot.domain.matching.apart``), in every program.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.models import Avoid

MAX_AVOIDED = 50  # a list longer than this would cut a person off from most of a channel


class TooMany(Exception):
    """The list is full; the person is told to remove someone first."""


def of(session: Session, team_id: str, user_id: str) -> list[str]:
    """The person's own list, oldest first."""
    return list(
        session.scalars(
            select(Avoid.avoided_id)
            .where(Avoid.team_id == team_id, Avoid.user_id == user_id)
            .order_by(Avoid.id)
        )
    )


def add(session: Session, team_id: str, user_id: str, others: list[str]) -> list[str]:
    """Add people to the list; returns who was new. Raises TooMany past ``MAX_AVOIDED``."""
    have = set(of(session, team_id, user_id))
    new = [other for other in dict.fromkeys(others) if other not in have and other != user_id]
    if len(have) + len(new) > MAX_AVOIDED:
        raise TooMany
    session.add_all(Avoid(team_id=team_id, user_id=user_id, avoided_id=o) for o in new)
    session.flush()
    return new


def remove(session: Session, team_id: str, user_id: str, others: list[str]) -> list[str]:
    """Take people off the list; returns who was on it."""
    had = [other for other in dict.fromkeys(others) if other in set(of(session, team_id, user_id))]
    if had:
        session.execute(
            delete(Avoid).where(
                Avoid.team_id == team_id, Avoid.user_id == user_id, Avoid.avoided_id.in_(had)
            )
        )
    return had


def replace(session: Session, team_id: str, user_id: str, others: list[str]) -> None:
    """The list becomes exactly ``others`` (the Home tab's picker sends the whole list)."""
    wanted = [other for other in dict.fromkeys(others) if other != user_id][:MAX_AVOIDED]
    have = of(session, team_id, user_id)
    remove(session, team_id, user_id, [o for o in have if o not in wanted])
    add(session, team_id, user_id, [o for o in wanted if o not in have])


def forget(session: Session, team_id: str, user_id: str) -> None:
    """Forget-me: the person's own list goes. Others' lists are theirs and stay."""
    session.execute(delete(Avoid).where(Avoid.team_id == team_id, Avoid.user_id == user_id))


def pairs(session: Session, team_id: str) -> list[tuple[str, str]]:
    """Every list of the workspace as pairs, for matching."""
    rows = session.execute(select(Avoid.user_id, Avoid.avoided_id).where(Avoid.team_id == team_id))
    return [(user_id, avoided_id) for user_id, avoided_id in rows]


def keepers(session: Session, team_id: str) -> int:
    """How many people keep a list: all that admins see of avoid lists."""
    return session.scalar(
        select(func.count(func.distinct(Avoid.user_id))).where(Avoid.team_id == team_id)
    ) or 0
