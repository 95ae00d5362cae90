"""Groups of any size for pools of any size: level bands plus swap repair.

Why: the total level spread of a grouping (sum over groups of highest minus lowest level) is
at most the sum of the g highest levels minus the sum of the g lowest, and every grouping
that puts one of the g most junior and one of the g most senior people in each group reaches
it. So the groups start that way (the people in between fill the other seats at random), and
then members are swapped between groups to remove repeats, second turns in an enlarged group
and same-department pairs. Swaps between people of nearby rank keep the spread; every swap is
judged by the full objective, so a swap that costs spread is only taken to remove a repeat.

Everything is vectorised over groups, so a round of 100,000 people takes well under a second.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

from bot.domain.matching.pool import DEPT_BONUS, ROTATION_COST, Pool

NEAR_RANK = 16  # a swap partner is usually within this many places in level order


def band_groups(
    pool: Pool, sizes: Sequence[int], rng: np.random.Generator, *, thorough: bool
) -> np.ndarray:
    """Split the pool into groups with the given sizes. ``thorough`` for small pools.

    Returns one row of local positions per group, padded with -1.
    """
    c, g = pool.size, len(sizes)
    if g == 0:
        return np.zeros((0, 2), np.int64)
    order = np.lexsort((rng.random(c), pool.level))
    sizes = np.asarray(sizes)[rng.permutation(g)]
    width = int(sizes.max())
    rows = np.full((g, width), -1, np.int64)
    rows[:, 0] = order[:g]
    rows[:, 1] = order[c - g :][rng.permutation(g)]
    middle = order[g : c - g][rng.permutation(c - 2 * g)]
    seat = np.arange(width)[None, :]
    rows[(seat >= 2) & (seat < sizes[:, None])] = middle
    rows = _enlarged_to_rotators(pool, rows, sizes)
    return _search_from(pool, rows, order, rng, thorough)


def refine_groups(
    pool: Pool, groups: Sequence[Sequence[int]], rng: np.random.Generator
) -> np.ndarray:
    """Improve given groups by swaps (never adding a repeat to a repeat-free grouping)."""
    width = max(len(group) for group in groups)
    rows = np.full((len(groups), width), -1, np.int64)
    for j, group in enumerate(groups):
        rows[j, : len(group)] = group
    order = np.lexsort((rng.random(pool.size), pool.level))
    return _search_from(pool, rows, order, rng, True)


def _search_from(
    pool: Pool, rows: np.ndarray, order: np.ndarray, rng: np.random.Generator, thorough: bool
) -> np.ndarray:
    search = _Search(pool, rows, order, rng)
    search.run(thorough)
    return search.rows


def _enlarged_to_rotators(pool: Pool, rows: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Move the extra seats to groups whose members were not in an enlarged group last time."""
    enlarged = sizes > pool.group_size
    if not enlarged.any() or enlarged.all():
        return rows
    bad = pool.enlarged_last[np.where(rows >= 0, rows, 0)] & (rows >= 0)
    clean_rows = np.flatnonzero(~bad[:, :2].any(axis=1) & ~enlarged)
    need = np.flatnonzero(bad[:, :2].any(axis=1) & enlarged)
    n = min(len(clean_rows), len(need))
    if n:  # swap the junior/senior anchors of the two groups, keeping the extra seats
        a, b = need[:n], clean_rows[:n]
        rows[a, :2], rows[b, :2] = rows[b, :2].copy(), rows[a, :2].copy()
    return rows


class _Search:
    def __init__(
        self, pool: Pool, rows: np.ndarray, order: np.ndarray, rng: np.random.Generator
    ) -> None:
        self.pool, self.rows, self.order, self.rng = pool, rows, order, rng
        c = pool.size
        self.rank = np.empty(c, np.int64)
        self.rank[order] = np.arange(c)
        self.group_of = np.empty(c, np.int64)
        self.slot_of = np.empty(c, np.int64)
        g, width = rows.shape
        valid = rows >= 0
        self.group_of[rows[valid]] = np.repeat(np.arange(g), width).reshape(g, width)[valid]
        self.slot_of[rows[valid]] = np.tile(np.arange(width), (g, 1))[valid]
        self.combos = list(itertools.combinations(range(width), 2))
        self.penalty, self.bad = self.evaluate(rows)

    def evaluate(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Penalty of each group (lower is better) and whether it has something to fix."""
        pool = self.pool
        valid = rows >= 0
        r = np.where(valid, rows, 0)
        level = pool.level[r]
        spread = np.where(valid, level, -np.inf).max(axis=1) - np.where(
            valid, level, np.inf
        ).min(axis=1)
        repeat = np.zeros(len(rows))
        same = np.zeros(len(rows))
        dept = pool.dept[r]
        for i, j in self.combos:
            both = valid[:, i] & valid[:, j]
            if not both.any():
                continue
            repeat += np.where(both, pool.book.cost(r[:, i], r[:, j]), 0.0)
            same += both & (dept[:, i] == dept[:, j]) & (dept[:, i] >= 0)
        enlarged = valid.sum(axis=1) > pool.group_size
        rotation = np.where(enlarged, (pool.enlarged_last[r] & valid).sum(axis=1), 0)
        penalty = repeat + ROTATION_COST * rotation + DEPT_BONUS * same - spread
        return penalty, (repeat > 0) | (rotation > 0) | (same > 0)

    def run(self, thorough: bool) -> None:
        rng, rows = self.rng, self.rows
        g = len(rows)
        c = self.pool.size
        if g < 2:
            return
        iterations = 400 if thorough else 60
        idle = 0
        for _ in range(iterations):
            starters = np.arange(g) if thorough else np.flatnonzero(self.bad)
            if len(starters) == 0:
                break
            sizes = (rows[starters] >= 0).sum(axis=1)
            slot = (rng.random(len(starters)) * sizes).astype(np.int64)
            x = rows[starters, slot]
            near = rng.random(len(starters)) < (0.3 if thorough else 0.7)
            step = rng.integers(-NEAR_RANK, NEAR_RANK + 1, len(starters))
            partner_rank = np.where(
                near, np.clip(self.rank[x] + step, 0, c - 1), rng.integers(0, c, len(starters))
            )
            y = self.order[partner_rank]
            gx, gy = starters, self.group_of[y]
            keep = gx != gy
            gx, gy, x, y = gx[keep], gy[keep], x[keep], y[keep]
            if len(gx) == 0:
                idle += 1
                if idle >= 8:
                    break
                continue
            sx, sy = self.slot_of[x], self.slot_of[y]
            new_x = rows[gx].copy()
            new_x[np.arange(len(gx)), sx] = y
            new_y = rows[gy].copy()
            new_y[np.arange(len(gy)), sy] = x
            pen_x, bad_x = self.evaluate(new_x)
            pen_y, bad_y = self.evaluate(new_y)
            delta = pen_x + pen_y - self.penalty[gx] - self.penalty[gy]
            good = np.flatnonzero(delta < -1e-9)
            if len(good) == 0:
                idle += 1
                if idle >= (25 if thorough else 8):
                    break
                continue
            idle = 0
            good = good[np.argsort(delta[good], kind="stable")]
            both = np.stack([gx[good], gy[good]], axis=1).reshape(-1)
            _, first = np.unique(both, return_index=True)
            owner = np.full(2 * len(good), False)
            owner[first] = True
            take = good[owner.reshape(-1, 2).all(axis=1)]
            rows[gx[take]] = new_x[take]
            rows[gy[take]] = new_y[take]
            self.penalty[gx[take]], self.bad[gx[take]] = pen_x[take], bad_x[take]
            self.penalty[gy[take]], self.bad[gy[take]] = pen_y[take], bad_y[take]
            self.group_of[x[take]], self.group_of[y[take]] = gy[take], gx[take]
            self.slot_of[x[take]], self.slot_of[y[take]] = sy[take], sx[take]


def cover_groups(
    pool: Pool, sizes: Sequence[int], rng: np.random.Generator, limit: int = 200_000
) -> list[tuple[int, ...]] | None:
    """A repeat-free split into groups of the given sizes, by backtracking search.

    Returns None when there is none (or the search gave up after ``limit`` steps; below that
    the search is exhaustive). Each step places the person with the fewest unmet people left
    to sit with, which finds a split quickly when one exists. Among that person's possible
    groups it tries first those whose pairs have the fewest unmet people in common: pairs
    that could still share a group with many others are kept for later rounds, which keeps
    later rounds possible for longer. Extra seats go to people who were not in an enlarged
    group last time whenever such a split exists.
    """
    c = pool.size
    unused = pool.book.matrix() == 0
    np.fill_diagonal(unused, False)
    as_int = unused.astype(np.int64)
    common = (as_int @ as_int + rng.random((c, c)) * 1e-3).tolist()
    adj = [sum(1 << j for j in np.flatnonzero(row).tolist()) for row in unused]
    rotated = pool.enlarged_last.tolist()
    k = pool.group_size
    steps = 0

    def cliques(candidates: int, size: int):
        if size == 0:
            yield ()
            return
        while candidates:
            low = candidates & -candidates
            u = low.bit_length() - 1
            candidates ^= low
            for rest in cliques(candidates & adj[u], size - 1):
                yield (u, *rest)

    def place(free: int, left: tuple[int, ...], strict: bool) -> list[tuple[int, ...]] | None:
        nonlocal steps
        if not free:
            return []
        v, fewest, rest = -1, c + 1, free
        while rest:
            low = rest & -rest
            u = low.bit_length() - 1
            rest ^= low
            count = (adj[u] & free).bit_count()
            if count < fewest:
                v, fewest = u, count
        options = []
        for size in sorted(set(left), reverse=True):
            if strict and size > k and rotated[v]:
                continue
            for others in cliques(adj[v] & free, size - 1):
                steps += 1
                if steps > limit:
                    raise _GaveUp
                if strict and size > k and any(rotated[u] for u in others):
                    continue
                group = (v, *others)
                crowd = sum(common[x][y] for x, y in itertools.combinations(group, 2))
                options.append((-size, crowd, group))
        options.sort()
        for minus_size, _, group in options:
            steps += 1
            if steps > limit:
                raise _GaveUp
            remaining = list(left)
            remaining.remove(-minus_size)
            found = place(free & ~sum(1 << u for u in group), tuple(remaining), strict)
            if found is not None:
                return [group, *found]
        return None

    everybody = (1 << c) - 1
    passes = [False]
    if any(size > k for size in sizes) and any(rotated):
        passes.insert(0, True)
    for strict in passes:
        steps = 0
        try:
            found = place(everybody, tuple(sizes), strict)
        except _GaveUp:
            continue
        if found is not None:
            return found
    return None


class _GaveUp(Exception):
    pass
