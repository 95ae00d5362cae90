"""Searched schedules for groups of 3-8 where no construction in :mod:`designs` applies.

Why: choosing one round at a time dead-ends several rounds before the bound, because the
pairs left unmet scatter; a whole schedule chosen at once does not. Finding one is the
*social golfer problem*; here it is solved by tabu search (Dotú and Van Hentenryck,
"Scheduling social golfers locally", CPAIOR 2005: conflicts are pairs that meet more than
once, a move swaps two people between groups of one week, the people swapped may not go back
for a few moves, and a stall restarts from the best schedule with a few random swaps), on a
cyclic schedule so that the search is small:

The people are points (x, i) with x in Z_m and i in r bands, plus f fixed points; B *base
rounds* are searched, and each gives m rounds by adding c in Z_m to every x (fixed points stay).
A pair's orbit under that shift is its *difference class*: (i, j, y - x) for two bands, the
difference up to sign within one band, (fixed point, band) for a fixed point. Over the B * m
rounds no pair meets twice exactly when every class is used at most once in the base rounds
(never, for two fixed points or a difference of m/2, whose orbits meet twice). Nearly Kirkman
triple systems, n = 6t people in threes, (n - 2)/2 rounds, come out as m = (n - 2)/2, r = 2,
f = 2 (the two missing pairs of each person are the class never used).

Schedules the SAT solver of ``bench/find_schedules.py`` found where this search stalls are
stored in :mod:`golf_schedules` and developed here in the same way; they come first.

Deterministic: the search depends only on n and the group sizes (a fixed seed and a fixed
number of steps, no clock), so every process builds the same schedule; it is cached.
Up to about a second per attempt at 64 people.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from bot.domain.matching.golf_schedules import BASE_ROUNDS, LIVE_ROUNDS, NOT_FOUND

GOLF_LIMIT = 64  # pools up to this size get a searched schedule (above: see docs/matching.md)
STEPS = 8_000  # tabu moves per attempt at most,
WORK = 60_000_000  # and fewer for large pools: moves * base rounds * n * n
ATTEMPTS = 4  # fresh starts at the bound (restarts beat longer runs); one below it
LEAST_SHARE = 0.95  # below this share of the bound the round-by-round search is as good
STALL = 300  # moves without a better schedule before a restart from the best one
DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"  # stored groups


def round_bound(n: int, sizes: tuple[int, ...]) -> int:
    """Repeat-free rounds possible at most: (n-1)/(k-1) when all groups have k people,
    otherwise all pairs over the pairs one round uses."""
    if len(set(sizes)) == 1:
        return (n - 1) // (sizes[0] - 1)
    return (n * (n - 1) // 2) // sum(s * (s - 1) // 2 for s in sizes)


@functools.lru_cache(maxsize=32)
def golfer_rounds(n: int, sizes: tuple[int, ...], least: int = 1) -> np.ndarray | None:
    """The most repeat-free rounds found for people 0..n-1 in groups ``sizes``, if at least
    ``least`` and LEAST_SHARE of the bound: shape (rounds, groups, largest size), padded -1.

    Tries the bound first, then counts upward from the larger of the two while the search
    succeeds (an attempt that fails costs its whole budget; one that succeeds is usually
    quick). A schedule stored in :mod:`golf_schedules` comes first, searched for longer."""
    shape = tuple(sorted(sizes, reverse=True))
    # kept schedules: the SAT solver's, then the search's own (which asked for at least
    # ``least`` would find the same: the w it tries do not depend on where it starts)
    for table in (BASE_ROUNDS, LIVE_ROUNDS):
        entry = table.get(shape)
        if entry is not None and _rounds(entry) >= max(least, 1):
            return developed(entry, shape)
    if shape in NOT_FOUND or n > GOLF_LIMIT or len(sizes) < 2 or min(sizes) < 2 or max(sizes) > 8:
        return None
    found = live_search(n, sizes, least)
    if found is None:
        return None
    m, r, _, base = found
    return develop(base, m, r, sizes)


def live_search(n: int, sizes: tuple[int, ...], least: int = 1):
    """The search itself: (m, r, f, base rounds) of the most rounds found, or None.
    (``bench/find_schedules.py --live`` keeps its results, so a process need not search.)"""
    bound = round_bound(n, sizes)
    found = _cyclic(n, sizes, bound, ATTEMPTS)
    if found is not None:
        return found
    best = None
    for w in range(max(least, math.ceil(LEAST_SHARE * bound), 2), bound):
        found = _cyclic(n, sizes, w, 1)
        if found is None:
            break
        best = found
    return best


def encode(row: np.ndarray) -> str:
    """A base round (the group of every point) as text, one character a point."""
    return "".join(DIGITS[int(j)] for j in row)


def stored_rounds(sizes: tuple[int, ...]) -> int:
    """Rounds of the stored schedule for these group sizes (0 if none is stored)."""
    entry = BASE_ROUNDS.get(tuple(sorted(sizes, reverse=True)))
    return 0 if entry is None else _rounds(entry)


def stored_schedule(sizes: tuple[int, ...]) -> np.ndarray | None:
    """The stored schedule for these group sizes, developed (as :func:`golfer_rounds`)."""
    shape = tuple(sorted(sizes, reverse=True))
    entry = BASE_ROUNDS.get(shape)
    return None if entry is None else developed(entry, shape)


def kept_schedule(sizes: tuple[int, ...]) -> np.ndarray | None:
    """The schedule kept for these group sizes, the solver's or else the search's own
    (LIVE_ROUNDS), developed; never searches."""
    shape = tuple(sorted(sizes, reverse=True))
    entry = BASE_ROUNDS.get(shape) or LIVE_ROUNDS.get(shape)
    return None if entry is None else developed(entry, shape)


def _rounds(entry: tuple) -> int:
    """Rounds of a stored entry (m, r, f, base rounds): m shifts of each base round."""
    return entry[0] * len(entry[3])


def developed(entry: tuple, shape: tuple[int, ...]) -> np.ndarray:
    """A stored entry (m, r, f, base rounds as text), developed (designs reads its stored
    schedules with holes this way too)."""
    m, r, _, rows = entry
    base = np.array([[DIGITS.index(c) for c in row] for row in rows], np.int64)
    return develop(base, m, r, shape)


def _cyclic(n: int, sizes: tuple[int, ...], w: int, attempts: int):
    """(m, r, f, base rounds) for w repeat-free rounds over Z_m, if the search finds them."""
    shapes = list(_structures(n, sizes, w))
    for seed, (m, b, r, f) in itertools.product(range(attempts), shapes):
        base = _search(m, b, r, f, sizes, seed)
        if base is not None:
            return m, r, f, base
    return None


def _structures(n: int, sizes: tuple[int, ...], w: int):
    """(m, base rounds, bands, fixed points) with base rounds * m = w, fewest fixed points."""
    for b in (1, 2, 3):
        if w % b or w // b < 3:
            continue
        m = w // b
        f = n % m
        if f > sizes.count(min(sizes)) or n - f < m:
            continue  # fixed points sit in groups of the smallest size, one in each
        r = (n - f) // m
        _, cap = _classes(m, r, f)
        need = b * sum(s * (s - 1) // 2 for s in sizes)
        if cap[:-1].sum() >= need:
            yield m, b, r, f


@functools.lru_cache(maxsize=32)
def _classes(m: int, r: int, f: int) -> tuple[np.ndarray, np.ndarray]:
    """Difference class of every pair of points, shape (n, n), and each class's capacity
    (how many base-round pairs may use it); the last class is the diagonal, never used."""
    n = r * m + f
    point = np.arange(n)
    band, x = np.divmod(point, m)
    fixed = point >= r * m
    lo, hi = np.minimum.outer(band, band), np.maximum.outer(band, band)
    d = (x[None, :] - x[:, None]) % m
    d = np.where(band[:, None] <= band[None, :], d, (m - d) % m)  # from the lower band
    same = np.minimum(d, m - d)
    # pure classes (i, d <= m/2), mixed classes (i < j, d), fixed (a, i), fixed pairs, diagonal
    half = m // 2 + 1
    pure = band[:, None] * half + same
    mixed = r * half + (lo * r + hi) * m + d
    a = np.where(fixed, point - r * m, 0)
    base_fixed = r * half + r * r * m
    with_fixed = base_fixed + np.where(fixed[:, None], a[:, None] * r + band[None, :],
                                       a[None, :] * r + band[:, None])
    both_fixed = base_fixed + f * r
    diagonal = both_fixed + 1
    cls = np.where(band[:, None] == band[None, :], pure, mixed)
    one_fixed = fixed[:, None] ^ fixed[None, :]
    cls = np.where(one_fixed, with_fixed, cls)
    cls = np.where(fixed[:, None] & fixed[None, :], both_fixed, cls)
    np.fill_diagonal(cls, diagonal)
    cap = np.zeros(diagonal + 1, np.int64)
    cap[np.unique(cls[~fixed][:, ~fixed])] = 1
    for i in range(r):
        cap[i * half] = 0  # difference 0 within a band: no such pair
        if m % 2 == 0:
            cap[i * half + m // 2] = 0  # its orbit meets each pair twice
    cap[np.unique(cls[one_fixed])] = 1
    cap[both_fixed] = 0
    cap[diagonal] = n * n  # never counted
    return cls, cap


def _search(
    m: int, b: int, r: int, f: int, sizes: tuple[int, ...], seed: int = 0
) -> np.ndarray | None:
    """Base rounds (b, n): the group of every point in each, with no class over capacity;
    None when STEPS moves did not find them."""
    cls, cap = _classes(m, r, f)
    n, g = r * m + f, len(sizes)
    rng = np.random.default_rng([n, m, b, seed, *sizes])
    group_of = np.repeat(np.arange(g), sizes)
    slots = np.stack([rng.permutation(group_of) for _ in range(b)])
    # fixed points in different groups (two of them together always conflict), and never in
    # an enlarged group: they would sit there every round, against the rotation rule
    small = np.flatnonzero(np.asarray(sizes) == min(sizes))[-f:] if f else []
    roomy = np.asarray(sizes) > min(sizes)
    fixed = np.arange(n) >= r * m
    if f:
        slots[:, r * m:] = small
        rest = np.delete(group_of, [int(np.flatnonzero(group_of == j)[0]) for j in small])
        for i in range(b):
            slots[i, : r * m] = rng.permutation(rest)
    uses = _uses(slots, cls, len(cap))
    cost = best_cost = _conflicts(uses, cap)
    best = slots.copy()
    tabu = np.zeros((b, n, g), np.int64)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    every = np.arange(n)
    stall = 0
    for step in range(min(STEPS, WORK // (b * n * n))):
        if cost == 0:
            return slots
        can_add = (uses >= cap).astype(float)[cls]  # one more use of the class conflicts
        can_remove = (uses > cap).astype(float)[cls]  # one use fewer removes a conflict
        choice, pick = math.inf, None
        for i in range(b):
            row = slots[i]
            by_group = np.argsort(row, kind="stable")
            add_to = np.add.reduceat(can_add[:, by_group], starts, axis=1)  # (n, groups)
            joins = add_to[:, row] - can_add  # p joins q's group, q having left it
            out = np.add.reduceat(can_remove[:, by_group], starts, axis=1)[every, row]
            delta = joins + joins.T - out[:, None] - out[None, :]
            hot = out > 0
            blocked = (row[:, None] == row[None, :]) | ~(hot[:, None] | hot[None, :])
            stuck = fixed[:, None] & roomy[row][None, :]  # p would join an enlarged group
            blocked |= stuck | stuck.T
            taboo = tabu[i][:, row] > step
            taboo |= taboo.T
            allowed = ~blocked & (~taboo | (cost + delta < best_cost))
            if not allowed.any():
                continue
            score = np.where(allowed, delta + rng.random((n, n)) * 0.5, math.inf)
            p, q = divmod(int(np.argmin(score)), n)
            if score[p, q] < choice:
                choice, pick = score[p, q], (i, p, q)
        if pick is None:
            stall = STALL
        else:
            i, p, q = pick
            _swap(slots[i], uses, cls, p, q, -1)
            gp, gq = slots[i, p], slots[i, q]
            slots[i, p], slots[i, q] = gq, gp
            _swap(slots[i], uses, cls, p, q, 1)
            tenure = 8 + int(rng.integers(0, 10))
            tabu[i, p, gp] = tabu[i, q, gq] = step + tenure
            cost = _conflicts(uses, cap)
            if cost < best_cost:
                best_cost, best, stall = cost, slots.copy(), 0
            else:
                stall += 1
        if stall >= STALL:  # restart from the best schedule, shaken
            slots = best.copy()
            for _ in range(max(2, n // 10)):
                i = int(rng.integers(b))
                p, q = rng.integers(0, n, 2)
                if slots[i, p] != slots[i, q] and max(p, q) < r * m:  # fixed points stay
                    slots[i, p], slots[i, q] = slots[i, q], slots[i, p]
            uses = _uses(slots, cls, len(cap))
            cost = _conflicts(uses, cap)
            tabu[:] = 0
            stall = 0
    return slots if cost == 0 else None


def _uses(slots: np.ndarray, cls: np.ndarray, classes: int) -> np.ndarray:
    """How many pairs of the base rounds ``slots`` fall in each class."""
    n = slots.shape[1]
    upper = np.triu(np.ones((n, n), bool), 1)
    uses = np.zeros(classes, np.int64)
    for row in slots:
        np.add.at(uses, cls[(row[:, None] == row[None, :]) & upper], 1)
    return uses


def _conflicts(uses: np.ndarray, cap: np.ndarray) -> int:
    """Uses over capacity: each is a class of pairs that would meet twice."""
    return int(np.maximum(uses - cap, 0)[:-1].sum())


def _swap(row: np.ndarray, uses: np.ndarray, cls: np.ndarray, p: int, q: int, sign: int):
    """Add (sign 1) or take away (-1) the pairs p and q (in two groups) make with theirs."""
    for x in (p, q):
        others = np.flatnonzero(row == row[x])
        np.add.at(uses, cls[x, others[others != x]], sign)


def develop(base: np.ndarray, m: int, r: int, sizes: tuple[int, ...]) -> np.ndarray:
    """Every shift of every base round: shape (b * m, groups, largest size), padded -1."""
    n = len(base[0])
    point = np.arange(n)
    finite = point < r * m
    rounds = np.full((len(base) * m, len(sizes), max(sizes)), -1, np.int64)
    for (i, row), c in itertools.product(enumerate(base), range(m)):
        moved = np.where(finite, (point // m) * m + (point % m + c) % m, point)
        for j in range(len(sizes)):
            members = moved[row == j]
            rounds[i * m + c, j, : len(members)] = np.sort(members)
    return rounds
