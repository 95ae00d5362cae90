"""Pairs kept apart (someone's avoid list, a reporting line): never in one group, in any
round or preview.

The search sees such a pair as the worst of repeats (``APART_COST``), so it almost never seats
one together; this last pass makes it a rule. A group that still holds such a pair trades one
of the two for a member of another group where both groups come out clean and can still have
lunch together, or seats them as an extra in a group with room; only when no group can take
them are they left out, with the same sentence as anyone else without a seat, so nobody can
tell that someone asked to be kept apart from them. A group that can spare a member also
gives one up to make a new pair with someone who fits nowhere else. When the engine groups
a whole round as one pool, people who cannot have lunch together are kept apart the same way,
and ``untangle`` then trades members between groups while that lowers their repeats.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

import numpy as np

from bot.domain.matching.pairbook import PairBook
from bot.domain.matching.roster import REPEAT_BASE, Roster
from bot.domain.matching.types import MAX_GROUP_SIZE

APART_COST = REPEAT_BASE * 1_000.0
SWAP_SAMPLE = 1_024  # groups tried for a trade or a seat: one is almost always enough


def reporting_lines(
    manager_of: Mapping[str, str | None], skip_level: bool = False
) -> set[tuple[str, str]]:
    """Each person and their manager (so also each manager and their direct reports), and
    with ``skip_level`` their manager's manager too: lunch is for meeting someone new."""
    pairs = set()
    for person, manager in manager_of.items():
        if not manager or manager == person:
            continue
        pairs.add((person, manager))
        above = manager_of.get(manager)
        if skip_level and above and above != person:
            pairs.add((person, above))
    return pairs


def positions(ids: Sequence[str], pairs: Collection[tuple[str, str]]) -> tuple[np.ndarray, np.ndarray]:
    """The pairs among this round's members, as sorted positions ``a < b``, once each."""
    index = {person: i for i, person in enumerate(ids)}
    found = {
        (min(index[x], index[y]), max(index[x], index[y]))
        for x, y in pairs
        if x in index and y in index and x != y
    }
    ordered = sorted(found)
    return (np.array([a for a, _ in ordered], np.int64),
            np.array([b for _, b in ordered], np.int64))  # fmt: skip


def also_apart(roster: Roster, pairs: Collection[tuple[int, int]]) -> Roster:
    """The roster with more pairs (positions ``a < b``) kept apart."""
    if not pairs:
        return roster
    extra = np.asarray(list(pairs), np.int64).reshape(-1, 2)
    both = np.unique(np.concatenate([np.stack([roster.apart_a, roster.apart_b], axis=1), extra]), axis=0)
    return replace(roster, apart_a=both[:, 0].copy(), apart_b=both[:, 1].copy())


def with_apart(
    roster: Roster, a: np.ndarray, b: np.ndarray, cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The past pairs' costs with ``APART_COST`` added for each pair kept apart, sorted by
    ``(a, b)`` with one entry per pair (a pair can be both)."""
    if not len(roster.apart_a):
        return a, b, cost
    n = len(roster)
    keys = np.concatenate([a.astype(np.int64) * n + b, roster.apart_a * n + roster.apart_b])
    costs = np.concatenate([cost, np.full(len(roster.apart_a), APART_COST)])
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=costs, minlength=len(unique))
    return unique // n, unique % n, summed


def keep_apart(
    roster: Roster, rows: np.ndarray, book: PairBook, rng: np.random.Generator
) -> tuple[list[list[int]], list[int]]:
    """The groups with no pair kept apart in any of them, and whoever had to be left out."""
    groups = _as_lists(rows)
    if not len(roster.apart_a):
        return groups, []
    mates = _mates(roster)
    mixer = _Mixer(roster, groups, mates, book, rng)
    left: list[int] = []
    for g in range(len(groups)):
        while True:
            members = groups[g]
            clashing = [m for m in members if mates[m].intersection(members)]
            if not clashing:
                break
            person = max(clashing, key=lambda m: len(mates[m].intersection(members)))
            groups[g] = [m for m in members if m != person]
            placed = (mixer.trade(person, g) or mixer.seat(person, avoid=g)
                      or mixer.split_off(person, avoid=g))  # fmt: skip
            if not placed:
                left.append(person)
    for g, members in enumerate(groups):
        if len(members) == 1:  # their partner had to go: a seat elsewhere, or out too
            groups[g] = []
            if not (mixer.seat(members[0], avoid=g) or mixer.split_off(members[0], avoid=g)):
                left.append(members[0])
    groups = mixer.groups = [members for members in groups if members]
    while left:  # those taken out may still make a group of their own
        person, others = left[0], left[1:]
        partner = next((other for other in others if mixer.fits(other, [person])), None)
        if partner is None:
            break
        groups.append([person, partner])
        left = [other for other in others if other != partner]
    return groups, left


def untangle(
    roster: Roster, rows: np.ndarray, book: PairBook, rng: np.random.Generator
) -> list[list[int]]:
    """The groups (padded rows) after trades of one member for another that lower their
    repeats, each group still clean and able to meet."""
    mixer = _Mixer(roster, _as_lists(rows), _mates(roster), book, rng)
    for g in range(len(mixer.groups)):
        for _ in range(len(mixer.groups[g])):
            if not mixer.swap_down(g):
                break
    return mixer.groups


def _as_lists(rows: np.ndarray) -> list[list[int]]:
    return [[int(v) for v in row if v >= 0] for row in rows]


def _mates(roster: Roster) -> dict[int, set[int]]:
    """Whom each person is kept apart from."""
    mates: dict[int, set[int]] = defaultdict(set)
    for x, y in zip(roster.apart_a.tolist(), roster.apart_b.tolist(), strict=True):
        mates[x].add(y)
        mates[y].add(x)
    return mates


class _Mixer:
    """Trades and extra seats that keep every group clean and able to meet."""

    def __init__(self, roster, groups, mates, book, rng) -> None:
        self.roster, self.groups, self.mates, self.book, self.rng = (
            roster, groups, mates, book, rng,
        )  # fmt: skip

    def fits(self, person: int, members: list[int]) -> bool:
        if not members or self.mates[person].intersection(members):
            return False
        return bool(self.roster.compatible(person, np.asarray(members, np.int64)).all())

    def added(self, person: int, members: list[int]) -> float:
        return float(self.book.cost(np.full(len(members), person), np.asarray(members)).sum())

    def candidates(self, avoid: int) -> list[int]:
        order = [h for h in range(len(self.groups)) if h != avoid and self.groups[h]]
        if len(order) > SWAP_SAMPLE:
            order = self.rng.choice(order, SWAP_SAMPLE, replace=False).tolist()
        return order

    def trade(self, person: int, g: int) -> bool:
        """Put ``person`` in another group and bring one of its members into group ``g``."""
        rest = self.groups[g]
        best, best_cost = None, np.inf
        for h in self.candidates(g):
            for other in self.groups[h]:
                theirs = [m for m in self.groups[h] if m != other]
                if self.fits(other, rest) and self.fits(person, theirs):
                    cost = self.added(other, rest) + self.added(person, theirs)
                    if cost < best_cost:
                        best, best_cost = (h, other), cost
            if best is not None and best_cost == 0:
                break
        if best is None:
            return False
        h, other = best
        self.groups[h] = [person if m == other else m for m in self.groups[h]]
        self.groups[g] = [*rest, other]
        return True

    def swap_down(self, g: int) -> bool:
        """Trade a member of group ``g`` who repeats there for someone of another group, the
        trade that lowers the two groups' repeats most; False when none does."""
        members = self.groups[g]
        best, best_gain = None, 0.0
        for person in members:
            rest = [m for m in members if m != person]
            mine = self.added(person, rest)
            if mine == 0:
                continue
            for h in self.candidates(g):
                for other in self.groups[h]:
                    theirs = [m for m in self.groups[h] if m != other]
                    if not (self.fits(other, rest) and self.fits(person, theirs)):
                        continue
                    gain = (mine + self.added(other, theirs)
                            - self.added(other, rest) - self.added(person, theirs))  # fmt: skip
                    if gain > best_gain:
                        best, best_gain = (person, h, other), gain
        if best is None:
            return False
        person, h, other = best
        self.groups[h] = [person if m == other else m for m in self.groups[h]]
        self.groups[g] = [other if m == person else m for m in members]
        return True

    def split_off(self, person: int, avoid: int) -> bool:
        """A new pair: ``person`` and someone they fit from a group that can spare one
        (larger than usual first, then any of three or more)."""
        usual = self.roster.rules.group_size
        for larger_than in (usual, 2):
            for h in self.candidates(avoid):
                if len(self.groups[h]) <= larger_than:
                    continue
                other = next((m for m in self.groups[h] if self.fits(m, [person])), None)
                if other is not None:
                    self.groups[h] = [m for m in self.groups[h] if m != other]
                    self.groups.append([person, other])
                    return True
        return False

    def seat(self, person: int, avoid: int) -> bool:
        """An extra seat for ``person`` in a group with room that they fit."""
        usual = self.roster.rules.group_size
        for limit in (min(usual + 1, MAX_GROUP_SIZE), MAX_GROUP_SIZE):
            open_ = [h for h in self.candidates(avoid) if len(self.groups[h]) < limit
                     and self.fits(person, self.groups[h])]  # fmt: skip
            if open_:
                h = min(open_, key=lambda h: self.added(person, self.groups[h]))
                self.groups[h].append(person)
                return True
        return False
