"""Pairs (and the one trio of an odd count) for a pool of up to a few hundred people.

Order of concerns, as in the rules: nobody repeats while a repeat-free round exists (checked
exactly with a blossom matching over the pairs that have not met), then the widest level
spread, then different departments. A stable roster of even size follows the level-aware
round-robin of :mod:`bot.domain.matching.schedule`; otherwise (people joined or left, odd size) the
round is a matching over unmet pairs improved by pair swaps.
"""

from __future__ import annotations

import numpy as np

from bot.domain.matching.blossom import maximum_matching
from bot.domain.matching.pool import DEPT_BONUS, ROTATION_COST, Pool
from bot.domain.matching.schedule import round_robin

NOISE = 1e-3  # random tie-breaks, far below any real difference in spread
EXACT_TRIO_SEARCH = 16  # up to this many people every possible trio is tried
TRIO_CANDIDATES = 40  # otherwise the trio is chosen among the best-placed people...
TRIO_TRIES = 30  # ...and this many of their triangles are tried,
TRIO_EXHAUSTIVE = 400  # or all of them when there are no more than this
LOOKAHEAD_ROUNDS = 8  # with fewer unmet pairs than this many rounds use, look one round ahead
LOOKAHEAD_OPTIONS = 8  # rounds compared by how many ways they leave to go on
LOOKAHEAD_ENOUGH = 12  # ways to go on that count as plenty
MAX_TRIANGLES = 20_000  # enough trios to choose from in any one search


def pair_pool(pool: Pool, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Groups of local positions 0..size-1: pairs, plus one trio when the size is odd."""
    c = pool.size
    if c < 2:
        return []
    if c <= 3:
        return [tuple(range(c))]
    level, dept = pool.level, pool.dept
    known = dept >= 0
    differ = (dept[:, None] != dept[None, :]) | ~known[:, None] | ~known[None, :]
    value = np.abs(level[:, None] - level[None, :]) + DEPT_BONUS * differ
    noise = rng.random((c, c)) * NOISE
    noise = noise + noise.T
    cost = pool.book.cost_matrix
    unused = cost == 0
    np.fill_diagonal(unused, False)
    score = value + noise - cost

    if c % 2 == 0:
        scheduled = _from_schedule(pool, value + noise, unused, differ)
        if scheduled is not None:
            return scheduled
        return _match(np.arange(c), score, unused)
    return _with_trio(pool, value, score, unused, noise, differ)


def _from_schedule(
    pool: Pool, score: np.ndarray, unused: np.ndarray, differ: np.ndarray
) -> list[tuple[int, ...]] | None:
    """The widest round of the roster's round-robin that repeats nobody, if any is left."""
    c = pool.size
    keys = pool.keys if pool.keys is not None else np.arange(c, dtype=np.uint64)
    order = np.lexsort((keys, pool.level))
    m = c // 2
    reserved = 0
    if m % 2:  # spread the shift with the most same-department pairs over later rounds
        lower, upper = order[:m], order[m:]
        shifts = (np.arange(m)[:, None] + np.arange(m)[None, :]) % m
        same = ~differ[lower[None, :], upper[shifts]]
        reserved = int(np.argmax(same.sum(axis=1)))
    rounds = np.array(round_robin(order.tolist(), reserved), np.int64)  # (c - 1, m, 2)
    x, y = rounds[:, :, 0], rounds[:, :, 1]
    fresh = unused[x, y].sum(axis=1)
    if not np.isin(fresh, (0, m)).all():
        # The pairs that met do not make whole rounds of this schedule (history imported or
        # random, or the roster changed): the rounds left untouched by chance are few and
        # usually narrow, so the matching over unmet pairs does better.
        return None
    if not (fresh == m).any():
        return None
    total = np.where(fresh == m, score[x, y].sum(axis=1), -np.inf)
    return [tuple(int(v) for v in p) for p in rounds[int(np.argmax(total))]]


def _match(members: np.ndarray, score: np.ndarray, unused: np.ndarray) -> list[tuple[int, ...]]:
    """Perfect matching of ``members`` with the fewest repeats, then the highest score."""
    n = len(members)
    s = score[np.ix_(members, members)]
    a = unused[np.ix_(members, members)]
    mate = _greedy(s, a)
    neighbours = [np.flatnonzero(row).tolist() for row in a]
    mate = maximum_matching(neighbours, mate)
    free = [v for v in range(n) if mate[v] == -1]
    if free:  # repeats cannot be avoided: pair the rest at the least cost
        sub = s[np.ix_(free, free)]
        rest = _greedy(sub, ~np.eye(len(free), dtype=bool))
        for i, j in enumerate(rest):
            mate[free[i]] = free[j]
    pairs = np.array([(v, mate[v]) for v in range(n) if v < mate[v]], dtype=np.int64)
    pairs = improve_pairs(pairs, s)
    return [(int(members[x]), int(members[y])) for x, y in pairs]


def _greedy(s: np.ndarray, allowed: np.ndarray) -> list[int]:
    n = len(s)
    iu, ju = np.triu_indices(n, 1)
    keep = allowed[iu, ju]
    iu, ju = iu[keep], ju[keep]
    order = np.argsort(-s[iu, ju], kind="stable")
    mate = [-1] * n
    for i, j in zip(iu[order].tolist(), ju[order].tolist(), strict=True):
        if mate[i] == -1 and mate[j] == -1:
            mate[i], mate[j] = j, i
    return mate


def improve_pairs(pairs: np.ndarray, s: np.ndarray, rounds: int = 200) -> np.ndarray:
    """Swap partners between two pairs while that raises the total score (2-opt).

    Each pass evaluates every pair of pairs at once and applies the best disjoint swaps.
    """
    pairs = pairs.copy()
    if len(pairs) < 2:
        return pairs
    for _ in range(rounds):
        x, y = pairs[:, 0], pairs[:, 1]
        own = s[x, y]
        base = own[:, None] + own[None, :]
        straight = s[np.ix_(x, x)] + s[np.ix_(y, y)] - base  # (x_p, x_q), (y_p, y_q)
        crossed = s[np.ix_(x, y)] + s[np.ix_(y, x)] - base  # (x_p, y_q), (y_p, x_q)
        gain = np.maximum(straight, crossed)
        np.fill_diagonal(gain, 0.0)
        gain = np.triu(gain)
        p, q = np.nonzero(gain > 1e-9)
        if len(p) == 0:
            break
        order = np.argsort(-gain[p, q], kind="stable")
        touched = np.zeros(len(pairs), bool)
        for i, j in zip(p[order].tolist(), q[order].tolist(), strict=True):
            if touched[i] or touched[j]:
                continue
            touched[i] = touched[j] = True
            xi, yi, xj, yj = pairs[i, 0], pairs[i, 1], pairs[j, 0], pairs[j, 1]
            if straight[i, j] >= crossed[i, j]:
                pairs[i], pairs[j] = (xi, xj), (yi, yj)
            else:
                pairs[i], pairs[j] = (xi, yj), (yi, xj)
    return pairs


def _with_trio(
    pool: Pool,
    value: np.ndarray,
    score: np.ndarray,
    unused: np.ndarray,
    noise: np.ndarray,
    differ: np.ndarray,
) -> list[tuple[int, ...]]:
    """An odd pool: one trio plus pairs.

    The trio goes to people who were not in an enlarged group last time and who still have
    the most unmet partners (a trio uses up two partners each, so this keeps everyone's
    count of unmet partners level and the later rounds possible).
    """
    c = pool.size
    everyone = np.arange(c)
    rot = pool.enlarged_last.astype(np.int64)
    degree = unused.sum(axis=1)
    pick = np.lexsort((noise[0], -degree, rot))
    people = pick if c <= max(EXACT_TRIO_SEARCH, TRIO_CANDIDATES) else pick[:TRIO_CANDIDATES]

    def triangles(allowed: np.ndarray, among: np.ndarray) -> np.ndarray:
        sub = allowed[np.ix_(among, among)]
        i, j = np.nonzero(np.triu(sub, 1))
        trios: list[tuple[int, int, int]] = []
        for a, b in zip(i.tolist(), j.tolist(), strict=True):
            both = np.flatnonzero(sub[a, b + 1 :] & sub[b, b + 1 :]) + b + 1
            trios.extend((a, b, int(z)) for z in both)
            if len(trios) >= MAX_TRIANGLES:
                break
        if not trios:
            return np.zeros((0, 3), np.int64)
        return among[np.array(trios)]

    def trio_order(trios: np.ndarray, penalty: np.ndarray) -> np.ndarray:
        x, y, z = trios.T
        lv = pool.level[trios]
        spread = lv.max(axis=1) - lv.min(axis=1)
        mixed = differ[x, y] & differ[x, z] & differ[y, z]
        worth = spread + DEPT_BONUS * mixed + noise[x, y] + noise[y, z]
        return np.lexsort((-worth, -(degree[x] + degree[y] + degree[z]), penalty))

    def search(among: np.ndarray) -> list[tuple[int, ...]] | None:
        trios = triangles(unused, among)
        if not len(trios):
            return None
        order = trio_order(trios, rot[trios].sum(axis=1))
        exhaustive = c <= EXACT_TRIO_SEARCH or len(order) <= TRIO_EXHAUSTIVE
        tries = order if exhaustive else order[:TRIO_TRIES]
        # Near the end of the cycle, also make sure the round after this one stays possible.
        late = unused.sum() / 2 <= LOOKAHEAD_ROUNDS * (c + 3) / 2
        best, best_rot, best_room, options = None, 0, -1, 0
        for t in trios[tries]:
            if best is not None and rot[t].sum() > best_rot:
                break  # a second turn in the trio is not worth a better look-ahead
            rest = np.setdiff1d(everyone, t)
            if not _perfect(unused[np.ix_(rest, rest)]):
                continue
            pairs = _match(rest, score, unused)
            x, y = np.array(pairs).T
            if not unused[x, y].all():
                continue
            found = [*pairs, tuple(int(v) for v in t)]
            if not late:
                return found
            # near the end of the cycle: keep the round that leaves the most ways to go on
            room = _next_rounds(unused, found, LOOKAHEAD_ENOUGH)
            if room > best_room:
                best, best_rot, best_room = found, rot[t].sum(), room
            options += 1
            if best_room >= LOOKAHEAD_ENOUGH or options >= LOOKAHEAD_OPTIONS:
                break
        return best

    found = search(people)
    if found is None and len(people) < c:
        found = search(pick)  # the best-placed people could not make it: try everyone
    if found is not None:
        return found

    # A repeat cannot be avoided: pick the trio and pairs with the least repeat cost.
    cost = pool.book.cost_matrix
    trios = triangles(~np.eye(c, dtype=bool), people)
    x, y, z = trios.T
    trio_cost = cost[x, y] + cost[x, z] + cost[y, z] + ROTATION_COST * rot[trios].sum(axis=1)
    best, best_total = None, np.inf
    for t in trios[trio_order(trios, trio_cost)[:5]]:
        rest = np.setdiff1d(everyone, t)
        pairs = _match(rest, score, unused)
        px, py = np.array(pairs).T
        tc = cost[t[0], t[1]] + cost[t[0], t[2]] + cost[t[1], t[2]]
        total = tc + ROTATION_COST * rot[t].sum() - score[px, py].sum()
        if total < best_total:
            best, best_total = [*pairs, tuple(int(v) for v in t)], total
    return best


def _next_rounds(unused: np.ndarray, groups: list[tuple[int, ...]], enough: int) -> int:
    """How many trios could start a repeat-free round after ``groups`` (counting to
    ``enough``)."""
    left = unused.copy()
    for group in groups:
        for a in group:
            for b in group:
                left[a, b] = False
    c = len(left)
    everyone = np.arange(c)
    count = 0
    i, j = np.nonzero(np.triu(left, 1))
    for a, b in zip(i.tolist(), j.tolist(), strict=True):
        for z in np.flatnonzero(left[a, b + 1 :] & left[b, b + 1 :]) + b + 1:
            rest = np.setdiff1d(everyone, (a, b, int(z)))
            if _perfect(left[np.ix_(rest, rest)]):
                count += 1
                if count >= enough:
                    return count
    return count


def _perfect(allowed: np.ndarray) -> bool:
    """Whether everyone can be paired along ``allowed`` (a symmetric boolean matrix)."""
    if len(allowed) % 2 or (len(allowed) and not allowed.any(axis=1).all()):
        return False
    mate = maximum_matching([np.flatnonzero(row).tolist() for row in allowed])
    return min(mate, default=0) >= 0
