"""Place the people no pool could take, or say why not.

They are few (someone alone in their office, or in a time zone far from everyone else), so
this is plain Python: pair them with each other where possible, otherwise seat them as an
extra person in a group whose members they can all meet; whoever is still left gets a
sentence saying why. People left out last round (``priority``) go first.
"""

from __future__ import annotations

import numpy as np

from bot.matching.blossom import maximum_matching
from bot.matching.pairbook import PairBook
from bot.matching.pool import ROTATION_COST
from bot.matching.roster import Roster
from bot.matching.types import Unmatched


def place_leftovers(
    roster: Roster,
    leftovers: list[int],
    groups: list[list[int]],
    book: PairBook,
    rng: np.random.Generator,
) -> list[Unmatched]:
    """Add groups for ``leftovers`` to ``groups`` (in place); return those who stay out."""
    if not leftovers:
        return []
    k = roster.rules.group_size
    order = sorted(leftovers, key=lambda i: (not roster.priority[i], rng.random()))
    people = np.asarray(order, np.int64)
    n = len(people)
    compat = np.array([roster.compatible(int(i), people) for i in people]).reshape(n, n)
    np.fill_diagonal(compat, False)
    if compat.any():
        # a maximum matching among them, preferring pairs that have not met, priority first
        cost = np.array([book.cost(np.full(n, i), people) for i in people]).reshape(n, n)
        mate = [-1] * n
        for i in range(n):
            if mate[i] == -1:
                options = [j for j in np.flatnonzero(compat[i]) if mate[j] == -1]
                if options:
                    j = min(options, key=lambda j: cost[i, j])
                    mate[i], mate[j] = j, i
        mate = maximum_matching([np.flatnonzero(row).tolist() for row in compat], mate)
        for i in range(n):
            if i < mate[i]:
                groups.append([int(people[i]), int(people[mate[i]])])
        people = people[[i for i in range(n) if mate[i] == -1]]

    unmatched = []
    queue = people.tolist()
    while queue:
        person = queue.pop(0)
        if _join(roster, person, groups, book, k, limit=k + 1):
            continue
        if _split_enlarged(roster, person, groups, k):
            continue
        if roster.priority[person]:
            displaced = _displace(roster, person, groups)
            if displaced is not None:
                queue.append(displaced)
                continue
        if _join(roster, person, groups, book, k, limit=k + 2):
            continue
        unmatched.append(Unmatched(roster.ids[person], reason(roster, person)))
    return unmatched


def _join(
    roster: Roster, person: int, groups: list[list[int]], book: PairBook, k: int, limit: int
) -> bool:
    """Seat ``person`` in the best compatible group that stays within ``limit`` people."""
    best, best_cost = None, np.inf
    for j, group in enumerate(groups):
        if len(group) + 1 > limit:
            continue
        members = np.asarray(group, np.int64)
        if not roster.compatible(person, members).all():
            continue
        cost = book.cost(np.full(len(members), person), members).sum()
        if len(group) + 1 > k:
            cost += ROTATION_COST * (
                roster.enlarged_last[members].sum() + roster.enlarged_last[person]
            )
        level = roster.level[members]
        cost -= max(level.max(), roster.level[person]) - min(level.min(), roster.level[person])
        if cost < best_cost:
            best, best_cost = j, cost
    if best is None:
        return False
    groups[best].append(person)
    return True


def _split_enlarged(roster: Roster, person: int, groups: list[list[int]], k: int) -> bool:
    """Take one member out of an enlarged group to make a new pair with ``person``."""
    for group in groups:
        if len(group) <= k or len(group) <= 2:
            continue
        members = np.asarray(group, np.int64)
        fits = np.flatnonzero(roster.compatible(person, members))
        if len(fits):
            partner = group.pop(int(fits[0]))
            groups.append([partner, person])
            return True
    return False


def _displace(roster: Roster, person: int, groups: list[list[int]]) -> int | None:
    """Give ``person`` (left out last round) the seat of someone who was not; return them."""
    for group in groups:
        members = np.asarray(group, np.int64)
        fits = roster.compatible(person, members)
        for i, member in enumerate(group):
            if roster.priority[member]:
                continue
            if np.delete(fits, i).all():
                group[i] = person
                return member
    return None


def hours(window_minutes: float) -> str:
    value = window_minutes / 60
    text = f"{value:g}"
    return f"{text} hour" if value == 1 else f"{text} hours"


def reason(roster: Roster, person: int) -> str:
    """The sentence an unmatched person sees."""
    n = len(roster)
    if n == 1:
        return "you were the only one taking part this round"
    others = np.delete(np.arange(n), person)
    place = roster.loc_names[roster.loc[person]] if roster.loc[person] >= 0 else None
    timed = not np.isnan(roster.offset[person])
    near = (
        f"within {hours(roster.window)} of your time zone" if roster.window > 0
        else "in your time zone"
    )
    if place and timed:
        where = f"in {place} or {near}"
    elif place:
        where = f"in {place}"
    elif timed:
        where = near
    else:
        where = "who could meet you"
    if not roster.compatible(person, others).any():
        if place:
            return f"no one else {where} this round"
        return f"no one {where} this round"
    return f"everyone {where} was already in a full group this round"
