"""This round's members as numpy arrays, with what the history says about them.

The engine works on positions 0..n-1 instead of ids so that everything below (compatibility,
pools, scoring, repairs) can be vectorised; this module is the one place that translates.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np

from bot.domain.matching.history import History
from bot.domain.matching.types import Person, Rules


def _norm(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split()).casefold()
    return text or None


def _codes(values: list[str | None]) -> tuple[np.ndarray, list[str]]:
    """Integer codes for free-text values compared loosely (case and spacing ignored).

    Returns the codes (-1 for none) and, per code, the text as first written.
    """
    code_of: dict[str | None, int] = {}
    names: list[str] = []
    by_norm: dict[str, int] = {}
    for value in dict.fromkeys(values):
        key = _norm(value)
        if key is None:
            code_of[value] = -1
            continue
        if key not in by_norm:
            by_norm[key] = len(names)
            names.append(" ".join(value.split()))
        code_of[value] = by_norm[key]
    return np.fromiter(map(code_of.__getitem__, values), np.int64, len(values)), names


def stable_key(person_id: str) -> int:
    """A hash of an id that is the same in every process (``hash()`` is salted per run)."""
    return int.from_bytes(hashlib.blake2b(person_id.encode(), digest_size=8).digest(), "big")


@dataclass
class Roster:
    ids: list[str]
    level: np.ndarray  # float, unknown levels already set to the middle
    dept: np.ndarray  # int code, -1 unknown
    loc: np.ndarray  # int code, -1 none
    loc_names: list[str]
    offset: np.ndarray  # float minutes, nan unknown
    priority: np.ndarray  # bool
    enlarged_last: np.ndarray  # bool: their latest group had more than group_size people
    window: float  # minutes
    rules: Rules
    # past pairs among this round's members (positions, a < b)
    past_a: np.ndarray
    past_b: np.ndarray
    past_count: np.ndarray
    past_last: np.ndarray
    today: int  # date ordinal the recency of past meetings is measured from
    # pairs never to be grouped (positions, a < b): see :mod:`apart`
    apart_a: np.ndarray
    apart_b: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def compatible(self, i: int, others: np.ndarray) -> np.ndarray:
        """Whether person ``i`` can have lunch with each of ``others`` (hard rule 1)."""
        loc_i, off_i = self.loc[i], self.offset[i]
        loc_o, off_o = self.loc[others], self.offset[others]
        both_located = (loc_i >= 0) & (loc_o >= 0)
        if math.isnan(off_i):
            near = np.ones(len(others), bool)
        else:
            near = np.isnan(off_o) | (np.abs(off_o - off_i) <= self.window)
        return np.where(both_located, loc_o == loc_i, near)

    def repeat_cost(self) -> np.ndarray:
        """Extra cost of seating each past pair together again: recent and frequent cost more.

        The base makes one repeat always worse than any gain in spread; the rest orders
        repeats so that pairs who met longest ago and least often are repeated first.
        """
        age_weeks = np.maximum(self.today - self.past_last, 0) / 7.0
        return (
            REPEAT_BASE + 100.0 / (1.0 + age_weeks) + 20.0 * np.minimum(self.past_count - 1, 20)
        )

    def stable_keys(self, members: np.ndarray) -> np.ndarray:
        return np.fromiter(
            (stable_key(self.ids[i]) for i in members), np.uint64, len(members)
        )


REPEAT_BASE = 10_000.0


def build_roster(
    people: Sequence[Person],
    history: History,
    rules: Rules,
    priority: Collection[str],
    apart: tuple[np.ndarray, np.ndarray] | None = None,
) -> Roster:
    ids = [p.id for p in people]
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(x for x in ids if x in seen or seen.add(x))
        raise ValueError(f"person {dup!r} is listed twice")
    n = len(people)
    raw_levels = np.array([p.level for p in people], float)  # None becomes nan
    known = ~np.isnan(raw_levels)
    middle = (raw_levels[known].min() + raw_levels[known].max()) / 2 if known.any() else 0.0
    level = np.where(known, raw_levels, middle)
    dept, _ = _codes([p.department for p in people])
    loc, loc_names = _codes([p.location for p in people])
    offset = np.array([p.utc_offset_minutes for p in people], float)
    wanted = set(priority)
    prio = np.fromiter((x in wanted for x in ids), bool, n)

    codes = history.codes(ids)
    _, last_size = history.last_groups(codes)
    pa, pb, pc, pl = history.pairs_among(codes)
    today = history.latest.toordinal() if history.latest is not None else 0
    return Roster(
        ids=ids,
        level=level,
        dept=dept,
        loc=loc,
        loc_names=loc_names,
        offset=offset,
        priority=prio,
        enlarged_last=last_size > rules.group_size,
        window=rules.tz_window_hours * 60.0,
        rules=rules,
        past_a=pa,
        past_b=pb,
        past_count=pc,
        past_last=pl,
        today=today,
        apart_a=apart[0] if apart else np.zeros(0, np.int64),
        apart_b=apart[1] if apart else np.zeros(0, np.int64),
    )
