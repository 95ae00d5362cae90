"""Built-in schedules for groups of three or more: whole cycles of repeat-free rounds.

Why: choosing groups one round at a time runs out of repeat-free rounds before the bound
floor((n-1)/(k-1)): the pairs still unmet end up scattered so thinly that no split into groups
of k is left. Where a schedule can be built from a finite field, it is built instead (all three
constructions give every round at once; the engine takes the widest unused one):

* ``affine_rounds``: n = k^a people in groups of k (k = 3, 4, 5, 7, 8), the bound exactly;
* ``kirkman_rounds``: groups of three, n = 3q or 2q + 1 with q = 1 (mod 6) a prime power
  (Kirkman triple systems, the two direct constructions in Stinson's survey, Discrete
  Mathematics 92, 1991), and three times any of those: (n - 1) / 2 rounds, the bound
  exactly (in 24-120 people: 27, 39, 45, 51, 57, 63, 75, 81, 87, 93, 99, 111 and 117); and
  three times a nearly Kirkman system found by :mod:`golfer` (72 and 108): (n - 2) / 2;
* ``inflated_rounds``: groups of three, n = g * v from a schedule on v whose unmet pairs lie
  inside equal holes (a Kirkman system less a round, a nearly Kirkman one, a stored schedule
  with holes of six: :mod:`holey_schedules`), each of its people a level band of g, the
  holes filled last (84, 90, 96, 105 and 120: at or one round under the bound);
* ``transversal_rounds``: q groups of size b or b - 1 (groups of 4-8, no enlarged group)
  with q a prime power at least b, or an order with a stored difference matrix (12, 15, 21,
  24: :mod:`difference_matrices`): q rounds in which every group has one person from
  each of b level bands. That is more than (b - 1) / b of the bound, and every round has the
  widest total spread. (For threes, the search reaches more than q rounds on its own.)

Where none applies (or only a transversal schedule), ``searched_rounds`` asks :mod:`golfer`
for a schedule found by search, placed on people like a Kirkman system (with several enlarged
groups a round: in an order in which nobody sits in one twice in a row).

For n = k^a the lines of the affine space over the field with k elements reach
the bound exactly: number the people as vectors of a digits in that field; for every
direction d (a non-zero vector, scaled so that its first non-zero digit is 1) the lines
{x + t*d : t in the field} split everyone into groups of k, and every pair of people lies on
exactly one line. That is (k^a - 1)/(k - 1) rounds using every pair once.

Level-aware: people are numbered in level order, so the first digit is the level band (the
most junior k^(a-1) people, then the next, ...). Every direction whose first digit is not 0
gives groups with one person from each band, so each group has one of the most junior and one
of the most senior people: the widest total spread a round can have. Those k^(a-1) rounds
come first; the rest are inside the bands, split the same way by the second digit.

Like the round-robin for pairs, the schedule depends only on the roster's order, so it is
rebuilt every week and the engine takes the best round none of whose pairs has met.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np

from bot.domain.matching.difference_matrices import MATRICES
from bot.domain.matching.golfer import (
    GOLF_LIMIT,
    LEAST_SHARE,
    developed,
    golfer_rounds,
    kept_schedule,
    round_bound,
    stored_rounds,
    stored_schedule,
)
from bot.domain.matching.holey_schedules import HOLEY

# Fields of prime power order q = p^e used here: p and the coefficients (constant term first)
# of a monic irreducible polynomial of degree e; elements are numbers whose base-p digits are
# the coefficients of a polynomial. Prime fields need no entry.
_MODULUS = {
    4: (2, (1, 1)),  # x^2 + x + 1
    8: (2, (1, 1, 0)),  # x^3 + x + 1
    9: (3, (1, 0)),  # x^2 + 1
    16: (2, (1, 1, 0, 0)),  # x^4 + x + 1
    25: (5, (2, 1)),  # x^2 + x + 2
    27: (3, (1, 2, 0)),  # x^3 + 2x + 1
    32: (2, (1, 0, 1, 0, 0)),  # x^5 + x^2 + 1
    49: (7, (3, 1)),  # x^2 + x + 3
}


def _is_prime(q: int) -> bool:
    return q >= 2 and all(q % d for d in range(2, int(q**0.5) + 1))


def field(q: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Addition and multiplication tables of the field with q elements, if supported."""
    e = np.arange(q)
    if _is_prime(q):
        return (e[:, None] + e[None, :]) % q, (e[:, None] * e[None, :]) % q
    if q not in _MODULUS:
        return None
    p, low = _MODULUS[q]
    degree = len(low)
    digits = (e[:, None] // p ** np.arange(degree)[None, :]) % p  # (q, degree)
    weights = p ** np.arange(degree)
    add = ((digits[:, None, :] + digits[None, :, :]) % p) @ weights
    mul = np.zeros((q, q), np.int64)
    for a, b in itertools.product(range(q), repeat=2):
        product = [0] * (2 * degree - 1)
        for i, x in enumerate(digits[a]):
            for j, y in enumerate(digits[b]):
                product[i + j] += int(x) * int(y)
        for top in range(2 * degree - 2, degree - 1, -1):  # x^degree = -(low terms)
            c = product[top]
            product[top] = 0
            for i, m in enumerate(low):
                product[top - degree + i] -= c * m
        mul[a, b] = sum((c % p) * p**i for i, c in enumerate(product[:degree]))
    return add, mul


def _primitive(mul: np.ndarray) -> list[int]:
    """Powers 1, x, x^2, ... of a primitive element x of the field (all non-zero elements)."""
    q = len(mul)
    for x in range(2, q) if q > 2 else range(1, q):
        powers = [1]
        while len(powers) < q - 1:
            powers.append(int(mul[powers[-1], x]))
        if len(set(powers)) == q - 1:
            return powers
    return [1]


def exponent(n: int, k: int) -> int:
    """a with k^a = n, or 0 when n is not a power (a >= 2) of k."""
    a, m = 0, 1
    while m < n:
        m *= k
        a += 1
    return a if m == n and a >= 2 else 0


def affine_rounds(order: np.ndarray, k: int) -> np.ndarray | None:
    """All rounds of the affine schedule, shape (rounds, n/k, k), as entries of ``order``.

    ``order`` lists the people sorted by level; None when its length is not a power of a
    supported group size (3, 4, 5, 7 or 8).
    """
    n = len(order)
    a = exponent(n, k)
    tables = field(k) if k <= 8 else None
    if not a or tables is None:
        return None
    add, mul = tables
    # digits[p] = the vector of person p (first digit most significant: the level band)
    digits = np.array(list(itertools.product(range(k), repeat=a)), np.int64)
    weights = k ** np.arange(a - 1, -1, -1)
    rounds = []
    for d in digits[1:]:
        if d[np.flatnonzero(d)[0]] != 1:
            continue  # one direction per line family: first non-zero digit is 1
        # points x + t*d for every x and t: (n, k) positions
        steps = mul[np.arange(k)[:, None], d[None, :]]  # (k, a): t*d
        points = add[digits[:, None, :], steps[None, :, :]] @ weights  # (n, k)
        lines = np.unique(np.sort(points, axis=1), axis=0)  # each line once
        rounds.append(lines)
    return np.asarray(order)[np.stack(rounds)]


def kirkman_rounds(order: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray | None:
    """A Kirkman triple system on ``order`` (sorted by level, ``levels`` theirs): (n - 1) / 2
    rounds of triples, shape (rounds, n/3, 3), or a nearly Kirkman one ((n - 2) / 2 rounds,
    everyone missing one other person: 72 and 108); None when no construction here covers n."""
    n = len(order)
    if levels is None:
        rounds = _kirkman(n)
    else:
        rounds = _front_loaded("kirkman", (3,) * (n // 3), tuple(np.asarray(levels, float).tolist()))
    return None if rounds is None else np.asarray(order)[rounds]


def quadruple_rounds(order: np.ndarray, levels: np.ndarray | None = None) -> np.ndarray | None:
    """A design of fours on ``order`` (sorted by level, ``levels`` theirs), shape
    (rounds, n/4, 4): resolvable, (n - 1) / 3 rounds, where n = 3q + 1 with q = 1 (mod 4) a
    prime power of the supported fields; or quadrupled (:func:`_fours`, 80 people: 25 of
    26 rounds); None otherwise."""
    n = len(order)
    if levels is None:
        rounds = _fours(n)
    else:
        rounds = _front_loaded("fours", (4,) * (n // 4), tuple(np.asarray(levels, float).tolist()))
    return None if rounds is None else np.asarray(order)[rounds]


def _quadruples(n: int) -> np.ndarray | None:
    """n = 3q + 1, q = 1 (mod 4) a prime power (Beth, Jungnickel and Lenz, Design Theory,
    VII.7.5): people (x, j) for x in the field and j in three level bands, as j*q + x, and one
    more (number 3q). With a primitive element a and e = a^((q-1)/4) (so e^2 = -1), the base
    round is {(0,0), (0,1), (0,2), extra} and, for i < (q-1)/4 and every band j, the group
    {(a^i, j), (-a^i, j), (e a^i, j+1), (-e a^i, j+1)}; adding each field element gives the
    q rounds, the bound."""
    if n % 3 != 1 or (n - 1) // 3 % 4 != 1:
        return None
    q = (n - 1) // 3
    tables = field(q)
    if tables is None:
        return None
    add, mul = tables
    a = _primitive(mul)
    neg = np.argmin(add, axis=1)  # the x with a + x = 0 (0 is the smallest element)
    e = a[(q - 1) // 4]
    base = [((0, 0), (0, 1), (0, 2), (-1, -1))]
    for i in range((q - 1) // 4):
        x, y = a[i], int(mul[e, a[i]])
        for j in range(3):
            base.append(((x, j), (int(neg[x]), j), (y, (j + 1) % 3), (int(neg[y]), (j + 1) % 3)))
    rounds = []
    for c in range(q):
        rounds.append([
            tuple(3 * q if band < 0 else band * q + int(add[x, c]) for x, band in block)
            for block in base
        ])
    return np.array(rounds, np.int64)


FRONT_SHARE = 0.8  # the rounds whose spread counts: about as many as searching reaches
FRONT_TRIES = 4_000
FRONT_WEIGHT = 3.0  # the widest round counts this many times as much as the last one counted
SEARCHED_TRIES = 12  # times as many for searched schedules, whose bands are not level bands
SEARCHED_SHARE = 0.75  # and for them the widest three quarters count, all alike
FRONT_MARGIN = 8.0  # largest step back accepted when annealing, in levels of spread


def _fours(n: int) -> np.ndarray | None:
    """The resolvable design of fours on n, else, for n = 4q, one built from a schedule of
    fours on q (:func:`_multiplied`): q + (q's rounds) rounds, the first q with one person
    of each level quarter in every group. 80 people: 20 + 5 of the 26 possible rounds."""
    found = _quadruples(n)
    if found is not None or n % 16:
        return found
    q = n // 4
    inner = _fours(q)
    if inner is None:
        inner = affine_rounds(np.arange(q), 4)
    if inner is None:
        inner = stored_schedule((4,) * (q // 4))
    if inner is None:
        inner = transversal_rounds(np.arange(q), [4] * (q // 4))
    return None if inner is None else _multiplied(inner, q, 4)


def _built(kind: str, sizes: tuple[int, ...]) -> np.ndarray | None:
    n = sum(sizes)
    if kind == "kirkman":
        return _kirkman(n)
    if kind == "fours":
        return _fours(n)
    return golfer_rounds(n, sizes, int(kind))  # a searched schedule of at least that many


@functools.lru_cache(maxsize=16)
def _front_loaded(kind: str, sizes: tuple[int, ...], levels: tuple[float, ...]) -> np.ndarray | None:
    """The Kirkman system, design of fours or searched schedule (``kind``) on len(levels)
    people, padded -1, with people swapped between its points so that the widest
    FRONT_SHARE of the rounds are as wide as possible.

    Why: a full cycle meets every pair once, so its total spread is roughly fixed (exactly for
    triples, whose spread is half the sum of their three gaps); what can be chosen is how
    early the wide rounds come.
    The engine takes the widest unused round first, so raising the widest rounds moves spread
    to the front. A searched schedule with several enlarged groups a round is put in its
    rotation order instead, which the engine follows, so its first rounds are raised. Hill
    climbing on swaps of two people of different level, deterministic (a pure function of the
    levels, hence cached).
    """
    rounds = _built(kind, sizes)
    several = _several(sizes)
    if rounds is not None and several:
        rounds = _rotation_order(rounds)  # the engine then takes them in this order
    if rounds is None:
        return None
    level = np.asarray(levels)
    count, groups, seats = rounds.shape
    searched = kind not in ("kirkman", "fours")
    top = max(1, int((SEARCHED_SHARE if searched else FRONT_SHARE) * count))
    if several:  # taken in order: the first three quarters of the bound count
        top = min(count, math.ceil(SEARCHED_SHARE * round_bound(len(level), sizes)))
    label = np.arange(len(level))  # label[point] = person (rank in the level order)
    valid = rounds >= 0
    rows = np.maximum(rounds, 0)
    # where[p] = the group of point p in each round
    where = np.empty((len(level), count), np.int64)
    r_index, g_index = np.meshgrid(np.arange(count), np.arange(groups), indexing="ij")
    for seat in range(seats):
        seated = valid[:, :, seat]
        where[rounds[:, :, seat][seated], r_index[seated]] = g_index[seated]
    every = np.arange(count)

    def spread(at: tuple) -> np.ndarray:
        lv, ok = level[label[rows[at]]], valid[at]
        return np.where(ok, lv, -np.inf).max(axis=-1) - np.where(ok, lv, np.inf).min(axis=-1)

    group_spread = spread(np.s_[:])  # (rounds, groups)
    totals = group_spread.sum(axis=1)
    weight = np.linspace(1.0, 1.0 if searched else FRONT_WEIGHT, top)  # widest count most

    def worth(values: np.ndarray) -> float:
        return float((values[:top] if several else np.sort(values)[-top:]) @ weight)

    now = best = worth(totals)
    kept = label.copy()
    rng = np.random.default_rng(len(level))
    tries = FRONT_TRIES * (SEARCHED_TRIES if searched else 1)
    # searched schedules: annealing (a worse placement is kept while within a shrinking
    # margin), as hill climbing from their bands stops early; built ones: hill climbing
    margin = np.linspace(FRONT_MARGIN if searched else 0.0, 0.0, tries)
    for step, (a, b) in enumerate(rng.integers(0, len(level), (tries, 2)).tolist()):
        if level[label[a]] == level[label[b]]:
            continue
        label[a], label[b] = label[b], label[a]
        ga, gb = where[a], where[b]
        new_a, new_b = spread((every, ga)), spread((every, gb))
        changed = totals - group_spread[every, ga] - group_spread[every, gb] + new_a + new_b
        changed = np.where(ga == gb, totals, changed)  # a and b in one group: same spread
        value = worth(changed)
        if value >= now - margin[step] * rng.random():
            now, totals = value, changed
            group_spread[every, ga], group_spread[every, gb] = new_a, new_b
            if now >= best:
                best, kept = now, label.copy()
        else:
            label[a], label[b] = label[b], label[a]
    label = kept
    return np.where(valid, label[rows], -1)


ORDER_STEPS = 20_000  # about a second at most


def _several(sizes) -> bool:
    """Whether a round has several enlarged groups (some, but not all, of the largest size)."""
    return sizes.count(max(sizes)) not in (1, len(sizes))


def _rotation_order(rounds: np.ndarray) -> np.ndarray | None:
    """The rounds reordered so that nobody sits in an enlarged group in two rounds in a row
    (the rotation rule), if a depth-first search finds such an order within ORDER_STEPS.

    Why: the shifts of a cyclic schedule with several enlarged groups a round seat many of
    the same people in them, so taking the widest round each week soon leaves only rounds
    that break the rule; an order fixed in advance does not."""
    fits, steps = rotation_fits(rounds), [0]
    for start in range(len(rounds)):
        found = rotation_path(fits, start, set(range(len(rounds))) - {start}, steps)
        if found is not None:
            return rounds[found]
    return None


def rotation_fits(rounds: np.ndarray) -> list[list[bool]]:
    """fits[r][s]: round s may follow round r, nobody sitting in an enlarged group of both."""
    seats = (rounds >= 0).sum(axis=2)
    wide = seats > seats.min()
    seated = np.zeros((len(rounds), int(rounds.max()) + 1), np.int64)
    for r, groups in enumerate(rounds):
        seated[r, groups[wide[r]].ravel()] = 1
    return ((seated @ seated.T) == 0).tolist()


def rotation_path(
    fits: list[list[bool]], first: int, left: set[int], steps: list[int]
) -> list[int] | None:
    """An order of ``left`` after ``first`` that keeps the rotation rule, by a depth-first
    search sharing the budget ``steps`` (a one-item counter) of ORDER_STEPS; None if none
    is found within it."""

    def extend(path: list[int], left: set[int]) -> list[int] | None:
        steps[0] += 1
        if not left:
            return path
        if steps[0] > ORDER_STEPS:
            return None
        nexts = [r for r in left if fits[path[-1]][r]]
        nexts.sort(key=lambda r: sum(fits[r][x] for x in left))  # fewest onward first
        for r in nexts:
            found = extend([*path, r], left - {r})
            if found is not None:
                return found
        return None

    return extend([first], left)


def _kirkman(n: int, grown: bool = True) -> np.ndarray | None:
    if n % 3 == 0 and (n // 3) % 6 == 1 and field(n // 3) is not None:
        return _kirkman_3q(n // 3)
    if n % 2 == 1 and (n // 2) % 6 == 1 and field(n // 2) is not None:
        return _kirkman_2q1(n // 2)
    if exponent(n, 3):
        return affine_rounds(np.arange(n), 3)
    if n % 9 == 0 and n // 3 % 2 == 1:
        inner = _kirkman(n // 3)
        if inner is not None:
            return _multiplied(inner, n // 3, 3)
    if n % 18 == 0 and n >= 54 and _steps(n // 3, 3) is not None:
        # a nearly Kirkman system on a third (found by search) gives one on n: (n - 2) / 2
        # rounds, the first n / 3 of them with one person of each level third in every group
        q = n // 3
        inner = golfer_rounds(q, (3,) * (q // 3))
        if inner is not None and len(inner) == (q - 2) // 2:
            return _multiplied(inner, q, 3)
    if grown and n % 3 == 0 and 9 < n <= GROWN_LIMIT:
        found, kept = inflated_rounds(n), kept_schedule((3,) * (n // 3))
        if found is not None and len(found) > (0 if kept is None else len(kept)):
            return found
    return None


GROWN_LIMIT = 240  # pools up to this size take a grown schedule (measured up to 228)


def inflated_rounds(n: int) -> np.ndarray | None:
    """The longest schedule of threes on n people grown from a smaller one with holes
    (:func:`_grown`), if it reaches LEAST_SHARE of the bound; None otherwise.

    Why: Kirkman systems (one of their rounds taken as the holes), nearly Kirkman ones (the
    unmet pairs as holes) and the stored :mod:`holey_schedules` then reach 84, 90, 96, 105
    and 120 people, which no construction here did, at or one round under the bound. The
    holes are whole level bands, so the rounds inside them, the narrowest, come last."""
    found = _grown_best(n)
    # below that share the round-by-round search reaches about as many rounds, or more
    # (141 people: 47 of 70 grown, from holes never filled)
    return found if found is not None and len(found) >= LEAST_SHARE * ((n - 1) // 2) else None


def _grown_best(n: int) -> np.ndarray | None:
    """The longest of the schedules :func:`_grown` makes on n people, ties going to the
    largest holes (the most rounds inside level bands, last)."""
    best, best_key = None, (0, 0)
    for g in range(1, n // 3 + 1):
        if n % g or (g > 1 and _steps(g, 3) is None):
            continue
        for outer, holes in _with_holes(n // g):
            if len(outer) == 0:
                continue
            inner = _threes(g * holes.shape[1])
            key = (len(outer) * g + len(inner), g * holes.shape[1])
            if key > best_key:
                best, best_key = (outer, holes, g, inner), key
    return None if best is None else _grown(*best)


def _grown(outer: np.ndarray, holes: np.ndarray, g: int, inner: np.ndarray) -> np.ndarray:
    """n = g * v people from a schedule of threes on v (``outer``) whose unmet pairs lie
    inside equal ``holes``: each of its people becomes a level band of g, and each of its
    rounds g rounds (the triple {a, b, c} gives {(a, x + s e_0), (b, x + s e_1),
    (c, x + s e_2)} for every x, a round for every s, :func:`_steps`), so two people of
    different bands meet once if their points met. The g * h people of every hole then take
    the schedule ``inner``, all holes at once. The holes are renumbered first so that each
    is a run of consecutive points, hence of consecutive levels."""
    v = holes.size
    renumber = np.empty(v, np.int64)
    renumber[holes.ravel()] = np.arange(v)
    outer = renumber[outer]
    if g == 1:
        add, times = np.zeros((1, 1), np.int64), np.zeros((1, 3), np.int64)
    else:
        add, times = _steps(g, 3)  # type: ignore[misc]
    x = np.arange(g)
    cross = np.stack([
        np.stack([outer[r][:, i, None] * g + add[x, times[s, i]][None, :] for i in range(3)],
                 axis=-1).reshape(-1, 3)
        for r in range(len(outer)) for s in range(g)
    ])  # fmt: skip
    if len(inner) == 0:
        return cross
    block = holes.shape[1] * g
    within = np.concatenate([inner + i * block for i in range(holes.shape[0])], axis=1)
    return np.concatenate([cross, within])


def _with_holes(v: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Schedules of threes on v people whose unmet pairs lie inside holes, with the holes
    (shape (holes, size)): one triple (holes of one), a Kirkman system less one round (its
    triples the holes), a nearly Kirkman one (its unmet pairs) and those stored in
    :mod:`holey_schedules`."""
    found = []
    if v == 3:
        found.append((np.arange(3).reshape(1, 1, 3), np.arange(3).reshape(3, 1)))
    if v >= 9 and v % 6 == 3:
        kirkman = _kirkman(v, grown=False)
        if kirkman is None:
            kirkman = kept_schedule((3,) * (v // 3))
        if kirkman is not None and len(kirkman) == (v - 1) // 2:
            found.append((kirkman[:-1], kirkman[-1]))
    if v >= 18 and v % 6 == 0:
        nearly = _kirkman(v, grown=False) if v % 18 == 0 else None
        if nearly is None:
            nearly = kept_schedule((3,) * (v // 3))
        if nearly is not None and len(nearly) == (v - 2) // 2:
            met = np.eye(v, dtype=bool)
            for a, b in itertools.permutations(range(3), 2):
                met[nearly[:, :, a], nearly[:, :, b]] = True
            partner = np.argmin(met, axis=1)
            pairs = sorted({(min(p, q), max(p, q)) for p, q in enumerate(partner.tolist())})
            found.append((nearly, np.array(pairs, np.int64)))
    for (h, u), (m, r, rows) in HOLEY.items():
        if h * u == v:
            rounds = developed((m, r, 0, rows), (3,) * (v // 3))
            found.append((rounds, np.arange(v).reshape(u, h)))
    return found


def _threes(size: int) -> np.ndarray:
    """The longest schedule of threes built or stored for a hole of ``size`` people, shape
    (rounds, size / 3, 3); no rounds when there is none (or size is not a multiple of 3)."""
    if size % 3 or size == 3:
        return np.zeros((0, max(size // 3, 1), 3), np.int64)
    if size == 6:
        return np.arange(6).reshape(1, 2, 3)
    options = [_kirkman(size, grown=False), kept_schedule((3,) * (size // 3)), _grown_best(size)]
    return max((o for o in options if o is not None), key=len,
               default=np.zeros((0, size // 3, 3), np.int64))


def _multiplied(inner: np.ndarray, q: int, k: int) -> np.ndarray | None:
    """n = kq from a schedule on q (groups of k): q rounds with one person from each of k
    level bands of q in every group, person x of band 0 with x + s*e_i of band i (the
    elements e_i of :func:`_steps`, so two people of different bands meet exactly once),
    then the schedule on q inside every band at once. None when q has no such elements.
    """
    found = _steps(q, k)
    if found is None:
        return None
    add, times = found
    c = np.arange(q)
    cross = np.stack([np.stack([i * q + add[c, times[s, i]] for i in range(k)], axis=1)
                      for s in range(q)])  # fmt: skip
    within = np.concatenate([inner + i * q for i in range(k)], axis=1)
    return np.concatenate([cross, within])


def _steps(q: int, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The addition table of an abelian group of order q, and times[s, i] = s * e_i for k
    elements e_0 = 0, e_1 = 1, ... whose differences are all invertible (so s -> s * (e_j -
    e_i) is one-to-one): Z_q with e_i = i when every prime factor of q is at least k,
    otherwise the product of the fields of q's prime powers (each of at least k elements),
    with e_i the element i of each; None when q has a smaller field part, or one not
    supported here, and no difference matrix is stored (:func:`_stored_steps`). (k = 3: an
    orthomorphism, s -> 2s.)"""
    c = np.arange(q)
    orders = prime_powers(q)
    if min(prime for prime, _ in orders) >= k:
        return (c[:, None] + c[None, :]) % q, c[:, None] * np.arange(k)[None, :] % q
    tables = [field(power) for _, power in orders]
    if min(power for _, power in orders) < k or any(t is None for t in tables):
        return _stored_steps(q, k)
    add, times, weight = np.zeros((q, q), np.int64), np.zeros((q, k), np.int64), 1
    for (_, order), (plus, mul) in zip(orders, tables, strict=True):
        digit = c // weight % order
        add += plus[digit[:, None], digit[None, :]] * weight
        times += mul[digit[:, None], np.arange(k)[None, :]] * weight
        weight *= order
    return add, times


def prime_powers(q: int) -> list[tuple[int, int]]:
    """(p, p^e) for each prime p dividing q, p^e its largest power dividing q."""
    orders, rest, p = [], q, 2
    while rest > 1:
        power = 1
        while rest % p == 0:
            rest //= p
            power *= p
        if power > 1:
            orders.append((p, power))
        p += 1
    return orders


def _stored_steps(q: int, k: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The same from a difference matrix found by a SAT solver (:mod:`difference_matrices`)
    for orders with a field part smaller than k (12, 15, 21, 24): its group is a product
    of cyclic groups, an element the number whose mixed-radix digits (last modulus fastest)
    are its parts, and times[s, i] is row i of column s (so s -> times[s, j] - times[s, i]
    is one-to-one, as s * (e_j - e_i) is over a field)."""
    entry = MATRICES.get(q)
    if entry is None or len(entry[1]) < k:
        return None
    moduli, rows = entry
    return group_sum(moduli), np.array(rows[:k], np.int64).T


def group_sum(moduli: tuple[int, ...]) -> np.ndarray:
    """The addition table of the product of cyclic groups of these orders, an element
    numbered by its parts as mixed-radix digits (the last modulus fastest)."""
    digits = np.array(list(itertools.product(*(range(m) for m in moduli))), np.int64)
    weights = np.cumprod((1,) + tuple(moduli[:0:-1]))[::-1]
    return ((digits[:, None, :] + digits[None, :, :]) % np.array(moduli)) @ weights


def _kirkman_3q(q: int) -> np.ndarray:
    """n = 3q: people (x, j) for x in the field and j in the three level bands, as j*q + x.

    Base blocks: {(0,1),(0,2),(0,3)}; for i < t the triples {a^i, a^(i+2t), a^(i+4t)} inside
    each band; for every i the cross triple {(a^i,1), (a^(i+2t),2), (a^(i+4t),3)}. Adding a
    field element c to every block with i in [t,2t) + [3t,4t) + [5t,6t) gives q rounds; the
    other cross triples, each added to every c, give the other 3t rounds (one person from each
    band in every group: the widest rounds).
    """
    add, mul = field(q)  # type: ignore[misc]
    a = _primitive(mul)
    t = (q - 1) // 6

    def cross(i: int) -> tuple[tuple[int, int], ...]:
        return ((a[i], 0), (a[(i + 2 * t) % (q - 1)], 1), (a[(i + 4 * t) % (q - 1)], 2))

    base = [((0, 0), (0, 1), (0, 2))]
    for i in range(t):
        for j in range(3):
            base.append(tuple((a[(i + s * 2 * t) % (q - 1)], j) for s in range(3)))
    kept = [i for i in range(6 * t) if (i // t) % 2 == 1]
    base += [cross(i) for i in kept]
    rounds = [_develop(base, c, add, q) for c in range(q)]
    for i in range(6 * t):
        if (i // t) % 2 == 0:
            rounds.append([_develop([cross(i)], c, add, q)[0] for c in range(q)])
    return np.array(rounds, np.int64)


def _kirkman_2q1(q: int) -> np.ndarray:
    """n = 2q + 1: people (x, 1) and (x, 2) for x in the field, and one more, numbered
    x, 2q and q + x (the extra person in the middle of the level order). With m such that
    2 a^m = a^t + 1, the base round is {(0,1), extra, (0,2)}, the triples
    {(a^(i+m+t),2), (a^(i+m+3t),2), (a^(i+m+5t),2)} for i < t and
    {(a^i,1), (a^(i+t),1), (a^(i+m),2)} for i in [0,t) + [2t,3t) + [4t,5t); adding each
    field element gives the q rounds."""
    add, mul = field(q)  # type: ignore[misc]
    a = _primitive(mul)
    t = (q - 1) // 6
    target = int(add[a[t % (q - 1)], 1])
    m = next(j for j in range(q - 1) if int(add[a[j], a[j]]) == target)

    def pw(i: int) -> int:
        return a[i % (q - 1)]

    base = [((0, 0), (-1, -1), (0, 1))]
    for i in range(t):
        base.append(tuple((pw(i + m + s * 2 * t + t), 1) for s in range(3)))
    for i in [*range(t), *range(2 * t, 3 * t), *range(4 * t, 5 * t)]:
        base.append(((pw(i), 0), (pw(i + t), 0), (pw(i + m), 1)))
    rounds = np.array([_develop(base, c, add, q) for c in range(q)], np.int64)
    # numbering: band 0 -> 0..q-1, the extra person -> q, band 1 -> q+1..2q
    return _renumber(rounds, q)


def _renumber(rounds: np.ndarray, q: int) -> np.ndarray:
    out = rounds.copy()
    out[rounds == 2 * q] = q
    band_two = (rounds >= q) & (rounds < 2 * q)
    out[band_two] = rounds[band_two] + 1
    return out


def _develop(base, c: int, add: np.ndarray, q: int) -> list[tuple[int, ...]]:
    """Each block of ``base`` (points (x, band), or (-1, -1) for the fixed extra person)
    shifted by field element c, as person numbers band*q + x (extra: 2q)."""
    return [
        tuple(2 * q if band < 0 else band * q + int(add[x, c]) for x, band in block)
        for block in base
    ]


def transversal_rounds(order: np.ndarray, sizes: list[int]) -> np.ndarray | None:
    """q rounds of q groups for people in ``order`` (sorted by level) and group ``sizes``
    (q groups of b or b - 1 people), q a prime power at least b or an order with a stored
    difference matrix (:func:`_steps`); None otherwise. When every group has b people and b
    divides q, one more round inside the bands.

    The people form b level bands of q (the second band short when some groups have b - 1):
    person x of band i sits with person x + s*i of every other band, for each slope s of the
    field. Two people of different bands share a group in exactly one round, two of the same
    band never. The short band is not at either end, so each group still has one of the q
    most junior and one of the q most senior people: the widest spread a round can have.
    Shape (rounds, q, b), padded with -1.
    """
    q, b = len(sizes), max(sizes)
    if q < b or b < 3 or min(sizes) < b - 1:
        return None
    tables = field(q)
    if tables is not None:
        add, times = tables[0], tables[1][:, :b]
    elif (found := _steps(q, b)) is not None:
        add, times = found
    else:
        return None
    short = len(order) - (b - 1) * q  # people in the second band: 1..q
    bands = np.full((b, q), -1, np.int64)
    start = 0
    for i in range(b):
        width = short if i == 1 else q
        bands[i, :width] = order[start : start + width]
        start += width
    rounds = np.empty((q, q, b), np.int64)
    for s in range(q):
        for i in range(b):
            # group c holds person (c + s*i) of band i, with bands numbered by field element i
            rounds[s, :, i] = bands[i, add[np.arange(q), times[s, i]]]
    if min(sizes) < b or q % b:
        return rounds
    # people of one band never met: one more round splits every band into groups of b (with
    # fewer than b groups of b in a band, no second such round exists)
    inside = bands.reshape(b * q // b, b)
    return np.concatenate([rounds, inside[None]])


def design_rounds(
    order: np.ndarray, k: int, sizes: list[int], levels: np.ndarray | None = None
) -> np.ndarray | None:
    """The built schedule for a pool (people sorted by level, ``levels`` theirs) in groups
    ``sizes`` of usual size k, if there is one: shape (rounds, groups, width), padded -1."""
    n = len(order)
    if exponent(n, k) and len(set(sizes)) == 1:
        return affine_rounds(order, k)
    if k == 3 and sizes == [3] * (n // 3):
        found = kirkman_rounds(order, levels)
        if found is not None:
            return found
    if k == 4 and sizes == [4] * (n // 4):
        found = quadruple_rounds(order, levels)
        if found is not None:
            return found
    built = None
    if k >= 4 and max(sizes) <= k:  # for threes the search does better than q rounds
        built = transversal_rounds(order, sizes)
    # several enlarged groups a round: searched only from SEVERAL_SMALLEST to SEVERAL_LIMIT
    # (below, the search did not reach LEAST_SHARE of the bound; above, the rounds taken in
    # the rotation order are narrower); fours and groups of 5-8: the live search found no
    # more rounds than today within its budget (fours: three short of the bound, as the
    # round-by-round search), so only a stored schedule (golf_schedules) is used
    have = 0 if built is None else len(built)
    if stored_rounds(tuple(sizes)) > have or searched_live(n, k, sizes):
        searched = searched_rounds(order, sizes, levels, have + 1)
        if searched is not None:
            return searched
    return built


GOLF_SMALLEST = 13  # up to 12 people the round-by-round search is exhaustive
GOLF_LARGEST_GROUP = 3
SEVERAL_SMALLEST = 44  # pools in threes with several enlarged groups a round: searched
SEVERAL_LIMIT = 60  # from and up to these sizes (see docs/matching.md)


def searched_live(n: int, k: int, sizes) -> bool:
    """Whether a pool without a stored schedule asks golfer's own search for one (the
    reasons are in :func:`design_rounds`)."""
    return (GOLF_SMALLEST <= n <= GOLF_LIMIT and k <= GOLF_LARGEST_GROUP
            and (not _several(sizes) or SEVERAL_SMALLEST <= n <= SEVERAL_LIMIT))  # fmt: skip


def searched_rounds(
    order: np.ndarray, sizes: list[int], levels: np.ndarray | None = None, least: int = 1
) -> np.ndarray | None:
    """A searched schedule (:mod:`golfer`) of at least ``least`` rounds on ``order`` (sorted
    by level, ``levels`` theirs), people placed for wide rounds first; None if none found."""
    shape = tuple(sorted(sizes, reverse=True))
    if levels is None:
        rounds = golfer_rounds(len(order), shape, least)
        if rounds is not None and _several(shape):
            rounds = _rotation_order(rounds)
    else:
        rounds = _front_loaded(str(least), shape, tuple(np.asarray(levels, float).tolist()))
    return None if rounds is None else np.where(rounds >= 0, np.asarray(order)[rounds], -1)
