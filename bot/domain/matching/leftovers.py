"""Place the people no pool could take, or say why not.

They are usually few (someone alone in their office, or in a time zone far from everyone
else): pair them with each other where possible, otherwise seat them as an extra person in a
group whose members they can all meet, otherwise (if they were left out last round) give them
the seat of someone who was not, otherwise split a full group of eight with them or take one
member they can meet out of a larger group to make a pair. No group ever grows past
``MAX_GROUP_SIZE`` (Slack opens no conversation for more). Whoever is still left gets a
sentence saying why. Groups are
rows of a -1 padded matrix, so each look-up is one vectorised pass over all groups even when a
strange roster leaves thousands of people over.
"""

from __future__ import annotations

import numpy as np

from bot.domain.matching.blossom import maximum_matching
from bot.domain.matching.pairbook import PairBook
from bot.domain.matching.pool import ROTATION_COST
from bot.domain.matching.roster import Roster
from bot.domain.matching.types import MAX_GROUP_SIZE, Unmatched

EXACT_PAIRING_LIMIT = 1_500  # up to this many leftovers are paired with a blossom matching
JOIN_SAMPLE = 256  # groups compared when seating one extra person
RETRIES = 3  # passes over the people still left out, while each pass seats someone


class _Table:
    """Groups as a growable -1 padded matrix, with who can join which group cached.

    People with the same location and offset can join the same groups; so can people whose
    locations appear in no group yet (they then only need close enough time zones). The
    cache keeps one row of "can meet every member" per such kind of person and refreshes
    only the groups that change.
    """

    def __init__(self, roster: Roster, rows: np.ndarray, extra_rows: int, width: int) -> None:
        self.roster = roster
        self.rows = np.full((len(rows) + extra_rows, max(width, rows.shape[1])), -1, np.int64)
        self.rows[: len(rows), : rows.shape[1]] = rows
        self.count = len(rows)
        self.size = np.zeros(len(self.rows), np.int64)
        self.size[: self.count] = (rows >= 0).sum(axis=1)
        members = rows[rows >= 0]
        self.present = set(roster.loc[members].tolist())
        self.cache: dict[tuple[int, float | None], np.ndarray] = {}

    def _kind(self, person: int) -> tuple[int, float | None]:
        place = int(self.roster.loc[person])
        if place >= 0 and place not in self.present:
            place = -2  # located, but nobody in any group shares the location
        off = float(self.roster.offset[person])
        return place, (None if np.isnan(off) else off)

    def _meets_all(self, kind: tuple[int, float | None], groups: np.ndarray) -> np.ndarray:
        """Whether someone of ``kind`` can meet every member of each group (rule 1)."""
        place, off = kind
        rows = self.rows[groups]
        valid = rows >= 0
        safe = np.maximum(rows, 0)
        their_place = self.roster.loc[safe]
        their_off = self.roster.offset[safe]
        if off is None:
            near = np.ones(rows.shape, bool)
        else:
            near = np.isnan(their_off) | (np.abs(their_off - off) <= self.roster.window)
        both = (place != -1) & (their_place >= 0)
        ok = np.where(both, their_place == place, near)
        return (ok | ~valid).all(axis=1)

    def open_groups(self, person: int) -> np.ndarray:
        """Which groups (of the live ones) ``person`` can meet as a whole."""
        kind = self._kind(person)
        mask = self.cache.get(kind)
        if mask is None:
            mask = np.zeros(len(self.rows), bool)
            mask[: self.count] = self._meets_all(kind, np.arange(self.count))
            self.cache[kind] = mask
        return mask[: self.count] & (self.size[: self.count] > 0)

    def changed(self, group: int) -> None:
        members = self.rows[group][self.rows[group] >= 0]
        self.present.update(int(p) for p in self.roster.loc[members] if p >= 0)
        for kind, mask in self.cache.items():
            mask[group] = self._meets_all(kind, np.array([group]))[0]

    def add(self, members: list[int]) -> None:
        self.rows[self.count, : len(members)] = members
        self.size[self.count] = len(members)
        self.count += 1
        self.changed(self.count - 1)

    def live(self) -> tuple[np.ndarray, np.ndarray]:
        return self.rows[: self.count], self.size[: self.count]

    def fits(self, person: int) -> tuple[np.ndarray, np.ndarray]:
        """Per group: which members ``person`` can meet (padding counts as yes), and rows."""
        rows, _ = self.live()
        ok = self.roster.compatible(person, np.maximum(rows, 0).reshape(-1)).reshape(rows.shape)
        return ok | (rows < 0), rows


def place_leftovers(
    roster: Roster,
    leftovers: list[int],
    rows: np.ndarray,
    book: PairBook,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[Unmatched]]:
    """Groups (padded rows) with the leftovers placed, and those who stay out."""
    if not leftovers:
        return rows, []
    k = roster.rules.group_size
    order = sorted(leftovers, key=lambda i: (not roster.priority[i], rng.random()))
    people = np.asarray(order, np.int64)
    # Each place costs the group a little more, so each is tried only when the ones before fail.
    table = _Table(roster, rows, 2 * len(people), min(k + 2, MAX_GROUP_SIZE))  # rows to add
    people = _pair_up(roster, people, table, book)

    left = _seat_each(roster, people.tolist(), table, book, k)
    for _ in range(RETRIES):
        # seats taken later can open a way for someone turned away earlier (a pair that grew
        # to three can give up a member; someone displaced may meet someone left out)
        before = len(left)
        if not before:
            break
        retry = _pair_up(roster, np.asarray(left, np.int64), table, book)
        left = _seat_each(roster, retry.tolist(), table, book, k)
        if len(left) >= before:
            break
    unmatched = [Unmatched(roster.ids[person], reason(roster, person)) for person in left]
    rows, size = table.live()
    rows = rows[size > 0]
    width = max(int(size.max(initial=2)), 2)
    return rows[:, :width], unmatched


def _seat_each(
    roster: Roster, queue: list[int], table: _Table, book: PairBook, k: int
) -> list[int]:
    """Try each place for each person in turn; return those who fit nowhere."""
    queue = list(queue)
    left = []
    while queue:
        person = queue.pop(0)
        if _join(roster, person, table, book, k, limit=min(k + 1, MAX_GROUP_SIZE)):
            continue
        if _split_off(roster, person, table, larger_than=k):
            continue
        if roster.priority[person]:
            displaced = _displace(roster, person, table)
            if displaced is not None:
                queue.append(displaced)
                continue
        if _join(roster, person, table, book, k, limit=min(k + 2, MAX_GROUP_SIZE)):
            continue
        if _halve(roster, person, table):
            continue
        if _split_off(roster, person, table, larger_than=2):
            continue
        left.append(person)
    return left


def _pair_up(roster: Roster, people: np.ndarray, table: _Table, book: PairBook) -> np.ndarray:
    """Pair leftovers with each other (priority first, unmet partners first); return the rest."""
    n = len(people)
    mate = [-1] * n
    if n <= EXACT_PAIRING_LIMIT:
        compat = np.array([roster.compatible(int(i), people) for i in people]).reshape(n, n)
        np.fill_diagonal(compat, False)
        if not compat.any():
            return people
    for i in range(n):
        if mate[i] != -1:
            continue
        if n <= EXACT_PAIRING_LIMIT:
            options = compat[i].copy()
        else:
            options = roster.compatible(int(people[i]), people)
            options[i] = False
        options &= np.asarray(mate) == -1
        found = np.flatnonzero(options)
        if len(found):
            cost = book.cost(np.full(len(found), people[i]), people[found])
            j = int(found[np.argmin(cost)])
            mate[i], mate[j] = j, i
    if n <= EXACT_PAIRING_LIMIT:
        mate = maximum_matching([np.flatnonzero(row).tolist() for row in compat], mate)
    for i in range(n):
        if i < mate[i]:
            table.add([int(people[i]), int(people[mate[i]])])
    return people[[i for i in range(n) if mate[i] == -1]]


def _join(
    roster: Roster, person: int, table: _Table, book: PairBook, k: int, limit: int
) -> bool:
    """Seat ``person`` in the best compatible group that stays within ``limit`` people."""
    if table.count == 0:
        return False
    size = table.size[: table.count]
    candidates = np.flatnonzero(table.open_groups(person) & (size + 1 <= limit))
    if len(candidates) == 0:
        return False
    if len(candidates) > JOIN_SAMPLE:  # the best of a sample is good enough for an extra seat
        candidates = candidates[:: len(candidates) // JOIN_SAMPLE + 1]
    members = table.rows[candidates]
    valid = members >= 0
    safe = np.maximum(members, 0)
    cost = np.where(valid, book.cost(np.full(members.shape, person), safe), 0.0).sum(axis=1)
    rotated = np.where(valid, roster.enlarged_last[safe], False).sum(axis=1)
    cost += np.where(size[candidates] + 1 > k,
                     ROTATION_COST * (rotated + roster.enlarged_last[person]), 0.0)
    level = roster.level[safe]
    mine = roster.level[person]
    high = np.maximum(np.where(valid, level, -np.inf).max(axis=1), mine)
    low = np.minimum(np.where(valid, level, np.inf).min(axis=1), mine)
    cost -= high - low
    best = int(candidates[np.argmin(cost)])
    table.rows[best, table.size[best]] = person
    table.size[best] += 1
    table.changed(best)
    return True


def _split_off(roster: Roster, person: int, table: _Table, larger_than: int) -> bool:
    """Take one member out of a group of more than ``larger_than`` people (and at least
    three) to make a new pair with ``person``; the largest such group gives up the member."""
    if table.count == 0:
        return False
    fits, rows = table.fits(person)
    size = table.size[: table.count]
    usable = fits & (rows >= 0) & ((size > larger_than) & (size > 2))[:, None]
    found = np.argwhere(usable)
    if len(found) == 0:
        return False
    group, slot = (int(v) for v in found[np.argmax(size[found[:, 0]])])
    partner = int(rows[group, slot])
    row = table.rows[group]
    row[slot : table.size[group] - 1] = row[slot + 1 : table.size[group]].copy()
    table.size[group] -= 1
    row[table.size[group]] = -1
    table.changed(group)
    table.add([partner, person])
    return True


def _halve(roster: Roster, person: int, table: _Table) -> bool:
    """Split a full group ``person`` can meet as a whole into two with ``person`` in one.

    Only for groups of ``MAX_GROUP_SIZE`` (no larger group can have a conversation): nine
    people become five and four. Taking turns down the level order keeps the most junior and
    the most senior member in different groups.
    """
    if table.count == 0:
        return False
    size = table.size[: table.count]
    candidates = np.flatnonzero(table.open_groups(person) & (size >= MAX_GROUP_SIZE))
    if len(candidates) == 0:
        return False
    group = int(candidates[0])
    members = [int(v) for v in table.rows[group, : size[group]]] + [person]
    members.sort(key=lambda v: roster.level[v])
    table.rows[group] = -1
    table.rows[group, : len(members[0::2])] = members[0::2]
    table.size[group] = len(members[0::2])
    table.changed(group)
    table.add(members[1::2])
    return True


def _displace(roster: Roster, person: int, table: _Table) -> int | None:
    """Give ``person`` (left out last round) the seat of someone who was not; return them."""
    if table.count == 0:
        return None
    fits, rows = table.fits(person)
    misfits = (~fits).sum(axis=1)
    members = np.maximum(rows, 0)
    # a seat is open when its holder was not left out last round and is the only one in the
    # group that ``person`` cannot meet (or there is no such member at all)
    alone_misfit = misfits[:, None] - (~fits).astype(np.int64) == 0
    open_seat = (rows >= 0) & ~roster.priority[members] & alone_misfit
    found = np.argwhere(open_seat)
    if len(found) == 0:
        return None
    group, slot = (int(v) for v in found[0])
    displaced = int(rows[group, slot])
    table.rows[group, slot] = person
    table.changed(group)
    return displaced


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
