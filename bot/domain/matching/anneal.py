"""Simulated annealing for groups of three or more in small pools.

Why: a group of k uses k(k-1)/2 pairs at once, so after a few rounds the pairs still unmet
form a tangle in which single improving swaps get stuck well before the repeats are gone.
Annealing accepts a few worse swaps early on and walks out of those dead ends. The penalty
is the same as in :mod:`bands` (repeats, then second turns in an enlarged group, then level
spread and departments), so the cooling settles the repeats first and the spread last.
Plain Python on small lists: a swap is evaluated in microseconds for pools of up to a few
hundred people.
"""

from __future__ import annotations

import math

import numpy as np

from bot.domain.matching.pool import DEPT_BONUS, ROTATION_COST, Pool

ANNEAL_LIMIT = 240  # larger pools rarely have repeats to untangle; bands.py handles them
START_TEMPERATURE = 3_000.0
END_TEMPERATURE = 0.02


def anneal(pool: Pool, rows: np.ndarray, rng: np.random.Generator, moves: int) -> np.ndarray:
    """Improve the groups in ``rows`` (padded with -1) by annealed member swaps."""
    groups = [[int(v) for v in row if v >= 0] for row in rows]
    if len(groups) < 2:
        return rows
    c = pool.size
    cost = pool.book.matrix().tolist()
    level = pool.level.tolist()
    dept = pool.dept.tolist()
    rotated = pool.enlarged_last.tolist()
    k = pool.group_size

    def penalty(members: list[int]) -> float:
        value = 0.0
        for i, a in enumerate(members):
            row = cost[a]
            da = dept[a]
            for b in members[i + 1 :]:
                value += row[b]
                if da >= 0 and da == dept[b]:
                    value += DEPT_BONUS
        if len(members) > k:
            value += ROTATION_COST * sum(rotated[a] for a in members)
        levels = [level[a] for a in members]
        return value - (max(levels) - min(levels))

    where = [0] * c
    for j, members in enumerate(groups):
        for a in members:
            where[a] = j
    scores = [penalty(members) for members in groups]
    total = sum(scores)
    best_total, best = total, [list(g) for g in groups]
    picks = rng.integers(0, c, size=(moves, 2)).tolist()
    chances = rng.random(moves).tolist()
    ratio = (END_TEMPERATURE / START_TEMPERATURE) ** (1 / max(moves - 1, 1))
    temperature = START_TEMPERATURE
    for (x, y), chance in zip(picks, chances, strict=True):
        temperature *= ratio
        gx, gy = where[x], where[y]
        if gx == gy:
            continue
        ax, ay = groups[gx], groups[gy]
        ix, iy = ax.index(x), ay.index(y)
        ax[ix], ay[iy] = y, x
        new_x, new_y = penalty(ax), penalty(ay)
        delta = new_x + new_y - scores[gx] - scores[gy]
        if delta <= 0 or chance < math.exp(-delta / temperature):
            where[x], where[y] = gy, gx
            scores[gx], scores[gy] = new_x, new_y
            total += delta
            if total < best_total - 1e-9:
                best_total, best = total, [list(g) for g in groups]
        else:
            ax[ix], ay[iy] = x, y
    out = np.full(rows.shape, -1, np.int64)
    for j, members in enumerate(best):
        out[j, : len(members)] = members
    return out
