"""Where a person's level, department and location come from, and which source wins.

Every writer (admin commands, the HR import, profile fields, job titles, self-service) goes
through :func:`set_value` / :func:`clear_value`, so precedence lives in exactly one place:
``Member.values`` keeps every source's value per attribute, and the ``level``,
``department`` and ``location`` columns plus ``Member.sources`` hold the winner.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.common.values import InvalidValue, parse_level
from bot.storage.db import insert_missing
from bot.storage.models import Member, Participation, Program

# Highest precedence first. "title" only ever gives a level: a guess from the job title, so a
# person's own word comes before it.
PRECEDENCE: tuple[str, ...] = ("admin", "import", "profile", "self", "title")
ATTRIBUTES: tuple[str, ...] = ("level", "department", "location", "manager")
SOURCE_NAMES = {
    "admin": "set by an admin",
    "import": "HR import",
    "profile": "Slack profile field",
    "self": "set by the person",
    "title": "job title",
}
TEXT_MAX = 200


@dataclass(frozen=True)
class Resolution:
    """What a write did: whether anything stored changed, and who wins now."""

    attribute: str
    changed: bool
    value: Any
    source: str | None


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def one_line(text: object) -> str:
    """Text from Slack or a person as one plain line: control characters (a NUL cannot even
    be stored by PostgreSQL) become spaces, runs of whitespace one space."""
    return " ".join(_CONTROL.sub(" ", str(text)).split())


def clean_text(text: str) -> str:
    """A department or location as stored: one line (:func:`one_line`), at most 200
    characters."""
    cleaned = one_line(text)
    if len(cleaned) > TEXT_MAX:
        raise InvalidValue(f"is longer than {TEXT_MAX} characters")
    return cleaned


_USER_ID = re.compile(r"[UW][A-Z0-9]{1,30}")


def parse_user_id(text: object) -> str:
    """A manager as stored: a Slack user id (an email is resolved before this)."""
    raw = str(text).strip().upper()
    if not _USER_ID.fullmatch(raw):
        raise InvalidValue(f'"{str(text)[:40]}" is not a Slack user id (U…) or email address')
    return raw


def normalise(attribute: str, value: Any) -> Any:
    """The stored form of a value, or None for "no value"; InvalidValue when it is wrong."""
    if attribute not in ATTRIBUTES:
        raise ValueError(f"unknown attribute {attribute!r}; expected one of {ATTRIBUTES}")
    if value is None:
        return None
    if attribute == "level":
        return parse_level(value)
    if attribute == "manager":
        return parse_user_id(value) if str(value).strip() else None
    return clean_text(value) or None


def member_for(
    session: Session, team_id: str, user_id: str, *, create: bool = True
) -> Member | None:
    """The person's row, made if missing (safely when two processes make it at once)."""
    query = select(Member).where(Member.team_id == team_id, Member.user_id == user_id)
    member = session.scalar(query)
    if member is not None or not create:
        return member
    row = {"team_id": team_id, "user_id": user_id, "values": {}, "sources": {}}
    insert_missing(session, Member, [row], ["team_id", "user_id"])
    return session.scalar(query)


def opted_out_everywhere(
    session: Session, team_id: str, among: Collection[str] | None = None
) -> set[str]:
    """Who asked to be forgotten, or left every program before a round stored them: no
    Member row, and an opt-out in every program of the workspace (what forget-me leaves);
    only those ``among`` these ids, if given.

    A bulk read (``levels sync --all``, an HR import) or an admin's ``/meet level @them``
    must not store them again, as a round does not. A program made later has no opt-out of theirs: being in its channel is then an
    opt-in, as for everyone, and they are read again."""
    count = select(func.count()).select_from(Program).where(Program.team_id == team_id)
    programs = session.scalar(count) or 0
    if not programs:
        return set()  # no marker can say anything yet
    known = select(Member.user_id).where(Member.team_id == team_id)
    query = (
        select(Participation.user_id)
        .join(Program, Program.id == Participation.program_id)
        .where(
            Program.team_id == team_id,
            Participation.opted_out.is_(True),
            Participation.user_id.not_in(known),
        )
        .group_by(Participation.user_id)
        .having(func.count() == programs)
    )
    if among is not None:
        query = query.where(Participation.user_id.in_(list(among)))
    return set(session.scalars(query))


def winner(per_source: dict[str, Any] | None) -> tuple[Any, str | None]:
    """The value of the highest-precedence source that has one."""
    for source in PRECEDENCE:
        if per_source and per_source.get(source) is not None:
            return per_source[source], source
    return None, None


def apply(member: Member, attribute: str, value: Any, source: str) -> Resolution:
    """Record ``source``'s value (None removes it) on a loaded member and re-resolve."""
    if source not in PRECEDENCE:
        raise ValueError(f"unknown source {source!r}; expected one of {PRECEDENCE}")
    if source == "title" and attribute != "level":
        raise ValueError("job titles only give a level")
    value = normalise(attribute, value)
    values = {name: dict(per) for name, per in (member.values or {}).items()}
    per_source = values.get(attribute, {})
    changed = per_source.get(source) != value
    if value is None:
        per_source.pop(source, None)
    else:
        per_source[source] = value
    if per_source:
        values[attribute] = per_source
    else:
        values.pop(attribute, None)
    best, best_source = winner(per_source)
    sources = dict(member.sources or {})
    if best_source is None:
        sources.pop(attribute, None)
    else:
        sources[attribute] = best_source
    # New dicts, assigned: SQLAlchemy only notices a JSON column change on assignment.
    if values != (member.values or {}):
        member.values = values
    if sources != (member.sources or {}):
        member.sources = sources
    if getattr(member, attribute) != best:
        setattr(member, attribute, best)
    return Resolution(attribute, changed, best, best_source)


def set_value(
    session: Session, team_id: str, user_id: str, attribute: str, value: Any, source: str
) -> Resolution:
    """Store one source's value for a person (creating the person) and resolve the winner.

    ``value`` None clears that source. Raises InvalidValue for a level outside 1-9 or an
    over-long text, before anything is written.
    """
    normalise(attribute, value)
    member = member_for(session, team_id, user_id)
    return apply(member, attribute, value, source)


def clear_value(
    session: Session, team_id: str, user_id: str, attribute: str, source: str
) -> Resolution:
    """Forget one source's value; the next source in precedence order takes over."""
    member = member_for(session, team_id, user_id, create=False)
    if member is None:
        return Resolution(attribute, False, None, None)
    return apply(member, attribute, None, source)


def resolve(member: Member) -> bool:
    """Recompute the winning columns from ``values`` (e.g. after editing values by hand)."""
    changed = False
    sources = {}
    for attribute in ATTRIBUTES:
        best, best_source = winner((member.values or {}).get(attribute))
        if best_source:
            sources[attribute] = best_source
        if getattr(member, attribute) != best:
            setattr(member, attribute, best)
            changed = True
    if sources != (member.sources or {}):
        member.sources = sources
        changed = True
    return changed


def self_service_allowed(session: Session, team_id: str, channel_id: str | None = None) -> bool:
    """May people set their own level? Per program (channel), or in any program of the team."""
    query = select(Program.id).where(
        Program.team_id == team_id, Program.self_service_levels.is_(True)
    )
    if channel_id is not None:
        query = query.where(Program.channel_id == channel_id)
    else:
        query = query.where(Program.enabled.is_(True))
    return session.scalar(query.limit(1)) is not None


def visible_level(member: Member | None, viewer_id: str, viewer_is_admin: bool) -> int | None:
    """A level as one viewer may see it: their own, or anyone's for an admin; else None."""
    if member is None:
        return None
    if viewer_is_admin or member.user_id == viewer_id:
        return member.level
    return None
