"""``form_groups``: one round of lunch groups from members, history and rules.

Pure: no I/O and no global state; the only randomness comes from ``seed`` (None draws a
fresh one), so the same seed always gives the same grouping.

Steps: members become arrays (:mod:`roster`), are cut into pools of people who can all meet
(:mod:`pools`), each pool is grouped on its own (:mod:`pairs` for pairs in pools of up to
``DENSE_LIMIT`` people, :mod:`bands` otherwise), and whoever is left gets a seat in a
compatible group or a reason (:mod:`leftovers`); last, no group may hold a pair kept apart
(:mod:`apart`). When that leaves a repeat or someone out in a round of up to ``MERGE_LIMIT``
people, the round is grouped again as one pool in which those who cannot lunch together are
kept apart, so the pools are chosen with the groups, and the better of the two is taken;
in a larger round, only each place with a miss is, with the pools near it.
Groups travel as rows of a -1 padded matrix so that a round of 100,000 people is scored
without a Python loop per group.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Collection, Sequence

import numpy as np

from bot.domain.matching import apart as kept_apart
from bot.domain.matching.anneal import ANNEAL_LIMIT, anneal
from bot.domain.matching.bands import band_groups, cover_groups, refine_groups
from bot.domain.matching.designs import ORDER_STEPS, design_rounds, rotation_fits, rotation_path
from bot.domain.matching.history import History
from bot.domain.matching.leftovers import place_leftovers, reason
from bot.domain.matching.pairbook import PairBook
from bot.domain.matching.pairs import pair_pool
from bot.domain.matching.pool import DEPT_BONUS, ROTATION_COST, Pool, group_sizes
from bot.domain.matching.pools import build_pools
from bot.domain.matching.roster import Roster, build_roster
from bot.domain.matching.types import Grouping, PastGroup, Person, Rules, Score, Unmatched

DENSE_LIMIT = 600  # pools of pairs up to this size get the exact pairing search
MERGE_LIMIT = 600  # rounds up to this size try one pool of everyone when pools repeat
NEAR_MISS_PEOPLE = 1200  # larger rounds: at most this many people, in the places with a
# repeat or someone left out, grouped again (a bound on the time it adds)
EXACT_GROUPS_LIMIT = 12  # pools of larger groups up to this size get an exhaustive fallback
COVER_LIMIT = 240  # larger groups in pools up to this size: backtracking search for a
COVER_STEPS = 20_000  # repeat-free split when the swaps left a repeat, this many steps
EXACT_STEPS = 200_000  # (and this many, which is exhaustive, up to EXACT_GROUPS_LIMIT)
ANNEAL_MOVES_PER_PERSON = 300


def form_groups(
    people: Sequence[Person],
    history: Sequence[PastGroup] | History = (),
    rules: Rules = Rules(),  # noqa: B008 - frozen, so a shared default is safe
    *,
    seed: int | None = None,
    priority: Collection[str] = (),
    apart: Collection[tuple[str, str]] = (),
) -> Grouping:
    """Form this round's lunch groups.

    ``history`` is the past groups (or a prebuilt :class:`History`, faster when it is
    reused); ``priority`` the ids of people left out last round, placed first when possible;
    ``apart`` pairs of ids never to be in one group (someone's avoid list).
    """
    if not isinstance(history, History):
        history = History.from_groups(history)
    rng = np.random.default_rng(seed)
    ids = [p.id for p in people]
    roster = build_roster(people, history, rules, priority, kept_apart.positions(ids, apart))
    n = len(roster)
    if n == 0:
        return Grouping(groups=[], unmatched=[], score=Score())
    pools, alone = build_pools(roster)
    rows, unmatched, book = _grouped(roster, pools, alone, rng)
    missed = (len(unmatched), int(_repeats(book, rows).sum()))
    if missed != (0, 0) and 2 < n <= MERGE_LIMIT:
        # The pools were cut before grouping; one pool of everyone, where those who cannot
        # lunch together are kept apart, may place people a cut would have stranded. Taken
        # when it leaves fewer people out, or as many with fewer repeats (the rules' order).
        merged = kept_apart.also_apart(roster, _incompatible(roster))
        rows2, unmatched2, book2 = _grouped(merged, [np.arange(n)], [], rng)
        rows2 = _padded(kept_apart.untangle(merged, rows2, book2, rng))
        rows2 = _searched_again(roster, pools, rows2, book2, rng)
        if (len(unmatched2), int(_repeats(book, rows2).sum())) < missed:
            rows, unmatched = rows2, unmatched2
    elif missed != (0, 0) and n > MERGE_LIMIT:
        again = functools.partial(form_groups, history=history, rules=rules,
                                  priority=priority, apart=apart)  # fmt: skip
        rows, unmatched = _regroup_near_misses(people, roster, [*pools, *([p] for p in alone)],
                                               again, rows, unmatched, book, rng)  # fmt: skip
    return Grouping(
        groups=_as_ids(roster.ids, rows),
        unmatched=unmatched,
        score=_score(roster, rows, book),
    )


def _searched_again(
    roster: Roster, pools: list[np.ndarray], rows: np.ndarray, book: PairBook,
    rng: np.random.Generator,
) -> np.ndarray:
    """The merged round's groups within each pool, searched again at the sizes they came
    out at. Keeping those who cannot lunch together apart cuts the merged groups to sizes
    no pool was searched at (five people of one office as 2 + 3), and a repeat-free split
    at those sizes may exist where the untangled one repeats. ``book`` counts the pairs
    kept apart as met, so the search never seats them together."""
    groups = [row[row >= 0] for row in rows]
    pool_of = np.full(len(roster), -1, np.int64)
    for j, members in enumerate(pools):
        pool_of[members] = j
    for j in range(len(pools)):
        mine = [g for g, group in enumerate(groups) if (pool_of[group] == j).all()]
        inside = np.concatenate([groups[g] for g in mine]) if mine else np.empty(0, np.int64)
        if not 0 < len(inside) <= COVER_LIMIT or not _repeats(book, rows_of := _padded(
            [groups[g] for g in mine])).any():  # fmt: skip
            continue
        local = _sub_pool(roster, inside, book)
        steps = EXACT_STEPS if len(inside) <= EXACT_GROUPS_LIMIT else COVER_STEPS
        found = cover_groups(local, [len(groups[g]) for g in mine], rng, limit=steps)
        if found is None:
            continue
        better = refine_groups(local, found, rng)
        if _repeats(local.book, better).sum() < _repeats(book, rows_of).sum():
            for g, row in zip(mine, better, strict=True):
                groups[g] = inside[row[row >= 0]]
    return _padded(groups)


def _sub_pool(roster: Roster, members: np.ndarray, book: PairBook) -> Pool:
    """Some people of the round as a pool of their own, with who met whom among them."""
    costs = book.cost(members[:, None], members[None, :])
    a, b = np.nonzero(np.triu(costs, 1))
    return Pool(
        members=members,
        level=roster.level[members],
        dept=roster.dept[members],
        enlarged_last=roster.enlarged_last[members],
        book=PairBook(len(members), a, b, costs[a, b], dense=True),
        group_size=roster.rules.group_size,
    )


def _regroup_near_misses(
    people: Sequence[Person],
    roster: Roster,
    units: list[Sequence[int]],
    again: Callable[..., Grouping],
    rows: np.ndarray,
    unmatched: list[Unmatched],
    book: PairBook,
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[Unmatched]]:
    """A round too large to group again as one pool: each place where someone was left out
    or a pair repeats is grouped again (``again``, form_groups on its people alone) with the
    pools its people could also lunch with, up to MERGE_LIMIT people, so that there too the
    pools are chosen with the groups; taken where it leaves fewer people out, or as many
    with fewer repeats.

    ``units`` are the round's pools, and each person left on their own as a unit of one.
    Why: without it, a workplace of 60 beside an office of 600 stopped after 1-5
    repeat-free rounds in pairs, where on its own it reached 12-19."""
    n = len(roster)
    index = {person: i for i, person in enumerate(roster.ids)}
    units = [np.asarray(members, np.int64) for members in units]
    unit_of = np.full(n, -1, np.int64)
    for j, members in enumerate(units):
        unit_of[members] = j
    row_of = np.full(n, -1, np.int64)
    seated = rows >= 0
    row_of[rows[seated]] = np.nonzero(seated)[0]
    left_out = [index[u.person_id] for u in unmatched]
    repeated = rows[_repeats(book, rows) > 0]
    troubled = [*left_out, *repeated[repeated >= 0].tolist()]
    groups = [row[row >= 0].tolist() for row in rows]
    out = {index[u.person_id]: u for u in unmatched}
    taken = np.zeros(n, bool)  # people already in a place grouped again
    tried = set()  # units whose place was looked at (one look each: the same place again)
    budget = NEAR_MISS_PEOPLE
    for person in troubled:
        if taken[person] or unit_of[person] in tried:
            continue
        tried.add(unit_of[person])
        area = _near(roster, units, unit_of, unit_of[person])
        if len(area) == len(units[unit_of[person]]) or taken[list(area)].any():
            continue  # nowhere else to lunch: grouping the pool again would change nothing
        # whole groups only: a group may hold someone placed from outside the pools
        touched = {int(r) for r in row_of[list(area)] if r >= 0}
        area.update(p for r in touched for p in groups[r])
        members = sorted(area)
        before = (sum(p in out for p in members), int(_repeats(book, rows[sorted(touched)]).sum()))
        if len(members) > min(MERGE_LIMIT, budget) or before == (0, 0):
            continue
        budget -= len(members)
        taken[members] = True
        regrouped = again([people[p] for p in members], seed=int(rng.integers(2**31)))
        if (len(regrouped.unmatched), regrouped.score.repeats) < before:
            for r in touched:
                groups[r] = []
            groups += [[index[x] for x in group] for group in regrouped.groups]
            for p in members:
                out.pop(p, None)
            out.update((index[u.person_id], u) for u in regrouped.unmatched)
    return _padded([g for g in groups if g]), list(out.values())


def _near(roster: Roster, units: list[np.ndarray], unit_of: np.ndarray, first: int) -> set[int]:
    """The people of unit ``first`` and of the units they, and then those added, could also
    lunch with, smallest units first, up to MERGE_LIMIT people (of a unit too large, only
    those who can lunch anywhere). Compatibility is asked once per place and time zone
    among the people added, not once per person."""
    n = len(roster)
    chosen, area = {first}, set(units[first].tolist())
    added = units[first] if len(area) <= MERGE_LIMIT else np.array([], np.int64)
    while len(added):
        profile = np.stack([roster.loc[added], np.nan_to_num(roster.offset[added], nan=1e9)], 1)
        _, ones = np.unique(profile, axis=0, return_index=True)
        reach = np.zeros(n, bool)
        for person in added[ones].tolist():
            reach |= roster.compatible(person, np.arange(n))
        near = set(np.unique(unit_of[reach]).tolist()) - chosen - {-1}
        fresh = []
        for j in sorted(near, key=lambda j: (len(units[j]), j)):
            taking = units[j]
            if len(area) + len(taking) > MERGE_LIMIT:
                # too large to take whole: only its people with no place and no time zone,
                # who can lunch anywhere (each comes with their group: room for it)
                free = taking[(roster.loc[taking] < 0) & np.isnan(roster.offset[taking])]
                taking = free[: (MERGE_LIMIT - len(area)) // (roster.rules.group_size + 1)]
            if len(taking):
                chosen.add(j)
                area.update(taking.tolist())
                fresh.append(taking)
        added = np.concatenate(fresh) if fresh else np.array([], np.int64)
    return area


def _grouped(
    roster: Roster, pools: list[np.ndarray], alone: list[int], rng: np.random.Generator
) -> tuple[np.ndarray, list[Unmatched], PairBook]:
    """Every pool grouped, the people left over placed, no pair kept apart in a group."""
    n = len(roster)
    cost = roster.repeat_cost()
    a, b = roster.past_a, roster.past_b
    order = np.argsort(a.astype(np.int64) * n + b, kind="stable")
    a, b, cost = kept_apart.with_apart(roster, a[order], b[order], cost[order])
    blocks = _group_pools(roster, pools, a, b, cost, rng)
    everyone = PairBook(n, a, b, cost, dense=False)
    rows, unmatched = place_leftovers(roster, alone, _stack(blocks), everyone, rng)
    if len(roster.apart_a):
        groups, out = kept_apart.keep_apart(roster, rows, everyone, rng)
        rows = _padded(groups)
        if out:  # taken out to keep a pair apart: the clean groups may still have a seat
            rows, still = place_leftovers(roster, out, rows, everyone, rng)
            groups, out = kept_apart.keep_apart(roster, rows, everyone, rng)
            rows = _padded(groups)
            unmatched += still
        unmatched += [Unmatched(roster.ids[p], reason(roster, p)) for p in out]
    return rows, unmatched, everyone


def _incompatible(roster: Roster) -> list[tuple[int, int]]:
    """Every pair of the roster who cannot have lunch together (rule 1)."""
    n = len(roster)
    pairs = []
    for i in range(n - 1):
        others = np.arange(i + 1, n)
        pairs += [(i, int(j)) for j in others[~roster.compatible(i, others)]]
    return pairs


def _group_pools(
    roster: Roster,
    pools: list[np.ndarray],
    a: np.ndarray,
    b: np.ndarray,
    cost: np.ndarray,
    rng: np.random.Generator,
) -> list[np.ndarray]:
    """Each pool grouped on its own: rows of roster positions, -1 padded."""
    blocks = []
    for members, book in zip(pools, _books(roster, pools, a, b, cost), strict=True):
        pool = Pool(
            members=members,
            level=roster.level[members],
            dept=roster.dept[members],
            enlarged_last=roster.enlarged_last[members],
            book=book,
            group_size=roster.rules.group_size,
        )
        local = _group_pool(roster, pool, rng)
        blocks.append(np.where(local >= 0, members[np.maximum(local, 0)], -1))
    return blocks


def _books(
    roster: Roster, pools: list[np.ndarray], a: np.ndarray, b: np.ndarray, cost: np.ndarray
) -> list[PairBook]:
    """One pair book per pool. Members are sorted, so local order keeps the sort of keys."""
    n = len(roster)
    pool_of = np.full(n, -1, np.int64)
    local = np.full(n, -1, np.int64)
    for j, members in enumerate(pools):
        pool_of[members] = j
        local[members] = np.arange(len(members))
    same = (pool_of[a] == pool_of[b]) & (pool_of[a] >= 0)
    a, b, c = a[same], b[same], cost[same]
    which = pool_of[a]
    order = np.argsort(which, kind="stable")
    a, b, c, which = a[order], b[order], c[order], which[order]
    bounds = np.searchsorted(which, np.arange(len(pools) + 1))
    books = []
    for j, members in enumerate(pools):
        s, e = bounds[j], bounds[j + 1]
        size = len(members)
        books.append(
            PairBook(
                size, local[a[s:e]], local[b[s:e]], c[s:e],
                dense=size <= DENSE_LIMIT,
            )
        )
    return books


def _group_pool(roster: Roster, pool: Pool, rng: np.random.Generator) -> np.ndarray:
    k = pool.group_size
    if k == 2 and pool.size <= DENSE_LIMIT:
        pool.keys = roster.stable_keys(pool.members)
        return _padded(pair_pool(pool, rng))
    if pool.size <= DENSE_LIMIT:
        scheduled = _from_design(roster, pool, rng)
        if scheduled is not None:
            return scheduled
    sizes = group_sizes(pool.size, k)
    rows = band_groups(pool, sizes, rng, thorough=pool.size <= DENSE_LIMIT)
    if pool.size <= ANNEAL_LIMIT and len(rows) > 1:
        rows = anneal(pool, rows, rng, moves=ANNEAL_MOVES_PER_PERSON * pool.size)
    if pool.size <= COVER_LIMIT and _repeats(pool.book, rows).any():
        steps = EXACT_STEPS if pool.size <= EXACT_GROUPS_LIMIT else COVER_STEPS
        found = cover_groups(pool, sizes, rng, limit=steps)
        if found is not None:
            rows = refine_groups(pool, found, rng)
    return rows


def _from_design(roster: Roster, pool: Pool, rng: np.random.Generator) -> np.ndarray | None:
    """The widest unused round of the pool's built schedule (:mod:`designs`), if any (with
    several enlarged groups a round: the first unused one in the schedule's order; with one:
    the widest after which the others can still keep the rotation rule)."""
    keys = roster.stable_keys(pool.members)
    order = np.lexsort((keys, pool.level))
    sizes = group_sizes(pool.size, pool.group_size)
    rounds = design_rounds(order, pool.group_size, sizes, pool.level[order])
    if rounds is None:
        return None
    cost, dept = pool.book.cost_matrix, pool.dept
    valid = rounds >= 0
    r = np.maximum(rounds, 0)
    fresh = np.ones(len(rounds), bool)
    same = np.zeros(len(rounds))
    for i, j in itertools.combinations(range(rounds.shape[2]), 2):
        x, y, both = r[:, :, i], r[:, :, j], valid[:, :, i] & valid[:, :, j]
        fresh &= ((cost[x, y] == 0) | ~both).all(axis=1)
        same += (both & (dept[x] == dept[y]) & (dept[x] >= 0)).sum(axis=1)
    if not fresh.any():
        return None
    level = pool.level[r]
    spread = (np.where(valid, level, -np.inf).max(axis=2)
              - np.where(valid, level, np.inf).min(axis=2)).sum(axis=1)
    # a second turn in a row in an enlarged group costs more than any spread (rotation rule)
    enlarged = (valid.sum(axis=2) > pool.group_size)[:, :, None] & valid
    again = (enlarged & pool.enlarged_last[r]).sum(axis=(1, 2))
    worth = spread - DEPT_BONUS * same - ROTATION_COST * again + rng.random(len(rounds)) * 1e-3
    best = int(np.argmax(np.where(fresh, worth, -np.inf)))
    if (enlarged.any(axis=2).sum(axis=1) > 1).any():
        # several enlarged groups a round: the schedule's own order keeps the rotation rule
        best = int(np.argmax(fresh))
    elif enlarged.any():
        best = _widest_that_leads_on(rounds, fresh, fresh & (again == 0), worth, best)
    if again[best]:
        return None  # the round-by-round search seats others in the enlarged groups
    return rounds[best]


def _widest_that_leads_on(
    rounds: np.ndarray, fresh: np.ndarray, allowed: np.ndarray, worth: np.ndarray, widest: int
) -> int:
    """The widest round allowed now after which every other unused round can still follow
    in some order that keeps the rotation rule; ``widest`` if none is found.

    Why: with one enlarged group a round, taking the widest round each week can leave only
    rounds whose enlarged group sat in one the week before (46 people in fives: 7 rounds of
    a stored 8 on some channels), while another order of the same rounds takes them all."""
    fits, steps = rotation_fits(rounds), [0]
    unused = set(np.flatnonzero(fresh).tolist())
    for first in np.argsort(-worth, kind="stable").tolist():
        if not allowed[first]:
            continue
        if rotation_path(fits, first, unused - {first}, steps) is not None:
            return first
        if steps[0] > ORDER_STEPS:
            break
    return widest


def _padded(groups: Sequence[Sequence[int]]) -> np.ndarray:
    width = max((len(g) for g in groups), default=2)
    rows = np.full((len(groups), width), -1, np.int64)
    for j, group in enumerate(groups):
        rows[j, : len(group)] = group
    return rows


def _stack(blocks: list[np.ndarray]) -> np.ndarray:
    width = max((block.shape[1] for block in blocks), default=2)
    return np.concatenate(
        [np.pad(block, ((0, 0), (0, width - block.shape[1])), constant_values=-1)
         for block in blocks]
        or [np.zeros((0, width), np.int64)]
    )


def _as_ids(ids: list[str], rows: np.ndarray) -> list[tuple[str, ...]]:
    names = np.array(ids + [""], dtype=object)[rows]  # -1 picks the trailing ""
    full = (rows >= 0).all(axis=1)
    if full.all():
        return list(map(tuple, names.tolist()))
    return [tuple(x for x, v in zip(row, valid, strict=True) if v)
            for row, valid in zip(names.tolist(), (rows >= 0).tolist(), strict=True)]


def _repeats(book: PairBook, rows: np.ndarray) -> np.ndarray:
    """Number of pairs in each row that met before."""
    count = np.zeros(len(rows), np.int64)
    valid = rows >= 0
    for i, j in itertools.combinations(range(rows.shape[1]), 2):
        both = valid[:, i] & valid[:, j]
        met = book.cost(np.maximum(rows[:, i], 0), np.maximum(rows[:, j], 0)) > 0
        count += both & met
    return count


def _score(roster: Roster, rows: np.ndarray, book: PairBook) -> Score:
    if len(rows) == 0:
        return Score(unmatched=len(roster))
    valid = rows >= 0
    r = np.maximum(rows, 0)
    level = roster.level[r]
    spread = np.where(valid, level, -np.inf).max(axis=1) - np.where(valid, level, np.inf).min(
        axis=1
    )
    dept = roster.dept[r]
    clash = np.zeros(len(rows), bool)
    for i, j in itertools.combinations(range(rows.shape[1]), 2):
        clash |= valid[:, i] & valid[:, j] & (dept[:, i] == dept[:, j]) & (dept[:, i] >= 0)
    sizes = valid.sum(axis=1)
    placed = int(sizes.sum())
    return Score(
        groups=len(rows),
        placed=placed,
        unmatched=len(roster) - placed,
        enlarged_groups=int((sizes > roster.rules.group_size).sum()),
        mean_level_spread=float(spread.mean()),
        repeats=int(_repeats(book, rows).sum()),
        cross_department=float(1 - clash.mean()),
    )
