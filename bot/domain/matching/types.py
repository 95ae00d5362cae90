"""Plain, immutable inputs and results of the matching engine.

They carry no Slack or database objects so that the engine can be tested, benchmarked and
previewed on a CSV file exactly as it runs in production.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

MIN_GROUP_SIZE = 2
# Also the largest group there can ever be: Slack's conversations.open takes 1 to 8 users, so
# a group of nine would get no conversation at all (``too_many_users``).
MAX_GROUP_SIZE = 8


@dataclass(frozen=True)
class Person:
    """One member taking part in a round.

    ``level`` is the seniority (larger is more senior); unknown counts as the middle of the
    known levels. ``utc_offset_minutes`` of None means the time zone is unknown, which puts no
    time-zone limit on whom the person can meet.
    """

    id: str
    level: int | None = None
    department: str | None = None
    location: str | None = None
    utc_offset_minutes: int | None = None


@dataclass(frozen=True)
class PastGroup:
    """A group that had lunch (or was told to) on ``date``."""

    date: datetime.date
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class Rules:
    """How groups are formed. ``group_size`` is the usual size; some groups get one more."""

    group_size: int = 2
    tz_window_hours: float = 3.0

    def __post_init__(self) -> None:
        if isinstance(self.group_size, bool) or not isinstance(self.group_size, int):
            raise TypeError("group_size must be a whole number")
        if not MIN_GROUP_SIZE <= self.group_size <= MAX_GROUP_SIZE:
            raise ValueError(
                f"group_size must be between {MIN_GROUP_SIZE} and {MAX_GROUP_SIZE}, "
                f"not {self.group_size}"
            )
        if not self.tz_window_hours >= 0:
            raise ValueError("tz_window_hours must be zero or more")


@dataclass(frozen=True)
class Unmatched:
    """Someone who could not be placed this round, with the sentence shown to them."""

    person_id: str
    reason: str


@dataclass(frozen=True)
class Score:
    """What an admin (or a test) wants to know about a grouping at a glance.

    ``mean_level_spread`` is the mean over groups of (highest level - lowest level), unknown
    levels counting as the middle. ``repeats`` counts pairs of people in the same group who
    had met before. ``cross_department`` is the share of groups in which no two members share
    a known department.
    """

    groups: int = 0
    placed: int = 0
    unmatched: int = 0
    enlarged_groups: int = 0
    mean_level_spread: float = 0.0
    repeats: int = 0
    cross_department: float = 1.0


@dataclass(frozen=True)
class Grouping:
    """The result of one round: groups of ids, the people left out and why, and a score."""

    groups: list[tuple[str, ...]]
    unmatched: list[Unmatched]
    score: Score = field(default_factory=Score)

    def __post_init__(self) -> None:
        # A last line of defence that fails loudly: a larger group would silently get no
        # conversation. The engine never builds one (see the property tests).
        largest = max(map(len, self.groups), default=0)
        if largest > MAX_GROUP_SIZE:
            raise ValueError(
                f"a group of {largest} people: Slack opens conversations for at most "
                f"{MAX_GROUP_SIZE}"
            )


def offset_minutes(zone: ZoneInfo | int | None, on: datetime.date) -> int | None:
    """A zone's (or fixed offset's) distance from UTC in minutes at noon on a given day."""
    if zone is None or isinstance(zone, int):
        return zone
    noon = datetime.datetime.combine(on, datetime.time(12), tzinfo=zone)
    delta = noon.utcoffset()
    return None if delta is None else int(delta.total_seconds() // 60)
