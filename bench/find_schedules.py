"""Find repeat-free schedules for groups of 3-8 with a SAT solver, and store them.

Why: for many roster sizes no construction is known to the engine and the tabu search in
``golfer`` stalls short of the bound (36 people in fours: 9 of 11 rounds), while a SAT solver
finds the same cyclic schedules (``golfer``'s base rounds developed over Z_m) outright. A
search of seconds to minutes cannot run while a round is formed, so it runs here, once, and
its base rounds (a few hundred characters each) are written to
``bot/domain/matching/golf_schedules.py``, which the engine reads.

Deterministic: the same clauses in the same order give the same answer, so running it again
rebuilds the same table (``tests/test_matching_golf_schedules.py`` checks one entry).

    pip install -e '.[dev]'       # brings python-sat
    python bench/find_schedules.py --sizes 24-120 --groups 4 --seconds 120 --jobs 2
    python bench/find_schedules.py --sizes 24-120 --kirkman --seconds 2400  # 33, 69, 105
    python bench/find_schedules.py --sizes 24-120 --matrices --seconds 600  # 12-24 groups
    python bench/find_schedules.py --sizes 24-120 --holes --seconds 1800  # threes, 6 | n
"""

from __future__ import annotations

import argparse
import concurrent.futures
import ctypes
import importlib
import itertools
import json
import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np

from bot.domain.matching import (
    designs,
    difference_matrices,
    golf_schedules,
    golfer,
    holey_schedules,
)
from bot.domain.matching.pool import group_sizes

TABLE = pathlib.Path(golf_schedules.__file__)
SPREAD_KEPT = 0.95  # a schedule is stored only if its rounds keep this share of the spread
RESEEDS = 2  # other schedules asked for when one falls short of it


def target(n: int, k: int) -> int:
    """Fewest rounds worth storing: the share of the bound the matching issue asks (95% for
    groups of 3-4 that divide the count, 90% with extra seats, 80% for groups of 5-8)."""
    from bench_matching import share_asked

    return math.ceil(share_asked(n, k) * golfer.round_bound(n, tuple(group_sizes(n, k))) - 1e-9)


def built(n: int, k: int) -> int:
    """Rounds a construction in ``designs`` already gives (0 if none)."""
    order = np.arange(n)
    if n % k == 0 and designs.exponent(n, k) and designs.field(k) is not None:
        return (n - 1) // (k - 1)
    if k == 3 and n % 3 == 0:
        found = designs.kirkman_rounds(order)
        return 0 if found is None else len(found)
    if k == 4 and n % 4 == 0:
        found = designs.quadruple_rounds(order)
        return 0 if found is None else len(found)
    return 0


def clauses(m: int, b: int, r: int, f: int, sizes: tuple[int, ...], hole: int = 0):
    """CNF for b base rounds of the cyclic structure (m, r, f): x(i, p, j) says point p sits
    in group j of base round i; no difference class is used more than its capacity. With
    ``hole`` (orbits a hole), no two points of one hole (``hole`` orbits in a row) meet."""
    from pysat.card import CardEnc, EncType
    from pysat.formula import IDPool

    cls, cap = golfer._classes(m, r, f)
    if hole:
        orbit_hole = np.arange(r * m + f) // m // hole
        same = orbit_hole[:, None] == orbit_hole[None, :]
        np.fill_diagonal(same, False)
        cap = cap.copy()
        cap[np.unique(cls[same])] = 0
    n, g = r * m + f, len(sizes)
    pool = IDPool()
    out: list[list[int]] = []

    def x(i: int, p: int, j: int) -> int:
        return pool.id(("x", i, p, j))

    small = [j for j in range(g) if sizes[j] == min(sizes)][-f:] if f else []
    free = [j for j in range(g) if j not in small]
    for i in range(b):
        for p in range(n):
            if p >= r * m:  # a fixed point: in its own smallest group
                out.append([x(i, p, small[p - r * m])])
                out.extend([-x(i, p, j)] for j in range(g) if j != small[p - r * m])
                continue
            out.extend(CardEnc.equals([x(i, p, j) for j in range(g)], 1, vpool=pool,
                                      encoding=EncType.pairwise).clauses)
        for j in range(g):
            out.extend(CardEnc.equals([x(i, p, j) for p in range(n)], sizes[j], vpool=pool,
                                      encoding=EncType.seqcounter).clauses)
        # enlarged groups: nobody in one sits in one in the next shift, nor in the first
        # shift of the next base round after the last of this one, so the rounds in order
        # keep the rotation rule (else the engine finds no such order)
        if len(set(sizes)) > 1:
            wide = [j for j in range(g) if sizes[j] == max(sizes)]
            for band, y in itertools.product(range(r), range(m)):
                p, q = band * m + y, band * m + (y + 1) % m
                out.extend([-x(i, p, a), -x(i, q, c)] for a in wide for c in wide)
                if i + 1 < b:  # p + (m - 1) = p - 1 sits in base round i + 1's shift 0
                    before = band * m + (y - 1) % m
                    out.extend([-x(i, p, a), -x(i + 1, before, c)] for a in wide for c in wide)
        # groups of one size holding no fixed point are interchangeable: number them by their
        # first member, so point p sits in none after the (p+1)-th of them
        for size in set(sizes):
            alike = [j for j in free if sizes[j] == size]
            for t, j in enumerate(alike):
                out.extend([-x(i, p, j)] for p in range(min(t, r * m)))
    by_class: dict[int, list[int]] = {}
    for p in range(n):
        for q in range(p + 1, n):
            c = int(cls[p, q])
            for i in range(b):
                if cap[c] == 0:
                    out.extend([-x(i, p, j), -x(i, q, j)] for j in range(g))
                    continue
                together = pool.id(("t", i, p, q))
                out.extend([-x(i, p, j), -x(i, q, j), together] for j in range(g))
                by_class.setdefault(c, []).append(together)
    for c, lits in by_class.items():
        if len(lits) > cap[c]:
            out.extend(CardEnc.atmost(lits, int(cap[c]), vpool=pool,
                                      encoding=EncType.seqcounter).clauses)
    return out, x


def _model(out: list[list[int]], seed: int, name: str = "cadical153") -> set[int] | None:
    """The true variables of a solution of the clauses, or None if there is none. A seed
    other than 0 gives the solver random preferred values, so it finds another solution."""
    from pysat.solvers import Solver

    with Solver(name=name, bootstrap_with=out) as solver:
        if seed:
            rng = np.random.default_rng(seed)
            top = max(abs(v) for clause in out for v in clause)
            solver.set_phases((np.arange(1, top + 1) * rng.choice([-1, 1], top)).tolist())
        if not solver.solve():
            return None
        return set(v for v in solver.get_model() if v > 0)


def solve(
    m: int, b: int, r: int, f: int, sizes: tuple[int, ...], seed: int = 0, hole: int = 0
) -> np.ndarray | None:
    """Base rounds (b, n) of group numbers; None if the structure has none. A seed other
    than 0 gives the solver random preferred values, so it finds another schedule."""
    out, x = clauses(m, b, r, f, sizes, hole)
    n, g = r * m + f, len(sizes)
    model = _model(out, seed)
    if model is None:
        return None
    return np.array([[next(j for j in range(g) if x(i, p, j) in model) for p in range(n)]
                     for i in range(b)], np.int64)


def kirkman_clauses(m: int):
    """CNF for a Kirkman system on n = 3m people, m odd: points band * m + x for three
    bands and x in Z_m. (m - 1) / 2 rounds are {(x, 0), (x + b, 1), (x + c, 2)} for every x,
    one person of each band in every group (s(b, c) chooses the pairs b, c), and one base
    round's m shifts are the other m rounds: (3m - 1) / 2, the bound. Every difference class
    is used once at most, by a chosen (b, c) or by the base round (so exactly once)."""
    from pysat.card import CardEnc, EncType
    from pysat.formula import IDPool

    n, rounds_across = 3 * m, (m - 1) // 2
    cls, cap = golfer._classes(m, 3, 0)
    pool = IDPool()
    out: list[list[int]] = []

    def x(p: int, j: int) -> int:
        return pool.id(("x", p, j))

    def s(b: int, c: int) -> int:
        return pool.id(("s", b, c))

    for p in range(n):
        out.extend(CardEnc.equals([x(p, j) for j in range(m)], 1, vpool=pool,
                                  encoding=EncType.pairwise).clauses)
    for j in range(m):
        out.extend(CardEnc.equals([x(p, j) for p in range(n)], 3, vpool=pool,
                                  encoding=EncType.seqcounter).clauses)
    for p in range(m):  # groups numbered by their first member
        out.extend([-x(p, j)] for j in range(p + 1, m))
    chosen = [s(b, c) for b, c in itertools.product(range(m), repeat=2)]
    out.extend(CardEnc.equals(chosen, rounds_across, vpool=pool,
                              encoding=EncType.seqcounter).clauses)
    uses: dict[int, list[int]] = {}
    for b, c in itertools.product(range(m), repeat=2):
        for p, q in ((0, m + b), (0, 2 * m + c), (m + b, 2 * m + c)):
            uses.setdefault(int(cls[p, q]), []).append(s(b, c))
    for p, q in itertools.combinations(range(n), 2):
        c = int(cls[p, q])
        if cap[c] == 0:
            out.extend([-x(p, j), -x(q, j)] for j in range(m))
            continue
        together = pool.id(("t", p, q))
        out.extend([-x(p, j), -x(q, j), together] for j in range(m))
        uses.setdefault(c, []).append(together)
    for lits in uses.values():
        if len(lits) > 1:
            out.extend(CardEnc.atmost(lits, 1, vpool=pool, encoding=EncType.seqcounter).clauses)
    return out, x, s


def solve_kirkman(m: int, seed: int = 0) -> np.ndarray | None:
    """Every round (rounds, 3m) of the Kirkman system of :func:`kirkman_clauses`, the rounds
    across the bands first; None if there is none of that form. Seeds as :func:`solve`."""
    out, x, s = kirkman_clauses(m)
    model = _model(out, seed)
    if model is None:
        return None
    x_of = np.arange(m)
    rounds = [np.concatenate([x_of, (x_of - b) % m, (x_of - c) % m])  # (x + b, 1) is in group x
              for b, c in itertools.product(range(m), repeat=2) if s(b, c) in model]
    base = np.array([next(j for j in range(m) if x(p, j) in model) for p in range(3 * m)])
    band, at = np.divmod(np.arange(3 * m), m)
    for shift in range(m):  # point (x, band) sits where (x - shift, band) sits in the base
        rounds.append(base[band * m + (at - shift) % m])
    return np.array(rounds, np.int64)


def store_kirkman(sizes: list[int], seconds: float) -> None:
    """Kirkman systems for the sizes n = 3 (mod 6) that ``designs`` builds none for (in
    24-120: 33, 69 and 105), stored whole (m = 1: each row a round) if the engine does well
    with them."""
    for n in sizes:
        shape = (3,) * (n // 3)
        if n % 6 != 3 or designs.kirkman_rounds(np.arange(n)) is not None or shape in stored_now():
            continue
        for seed in range(RESEEDS + 1):
            start = time.perf_counter()
            rows = _in_child(["kirkman", n // 3, seed], seconds)
            found = None if rows is None else (len(rows), 1, n, 0, rows)
            if not _verdict(stored_now(), n, 3, seed, found, time.perf_counter() - start, ""):
                break


def moduli_of(q: int) -> tuple[int, ...]:
    """The group a difference matrix of order q is asked over: 2-parts elementary abelian
    (a group whose 2-part is cyclic and not trivial has none, by the Hall-Paige theorem), the
    odd prime powers cyclic."""
    moduli: list[int] = []
    for p, power in designs.prime_powers(q):
        moduli += [2] * (power.bit_length() - 1) if p == 2 else [power]
    return tuple(moduli)


def matrix_clauses(moduli: tuple[int, ...], b: int, odd: bool = False):
    """CNF for a difference matrix with b rows over the group with these moduli: x(i, g, h)
    says row i has h in column g; every row is one-to-one, and for every two rows i < j,
    y(i, j, g, d) (row j minus row i is d in column g) holds for exactly one column per d.
    Row 0 is all 0 and row 1 is 0, 1, ..., q - 1 (columns and rows can be renumbered so).
    ``odd``: every row also maps -g to the negative of what it maps g to, which leaves about
    half the choices (5 rows over Z3 x Z7: found in 20 s, where the plain clauses gave
    nothing in 1,200 s); it is only a guess about the answer, so it can rule out one that
    exists: always none when an element other than 0 is its own negative and the group of
    those elements is too small to carry the rows on its own (as over Z2 x Z2 x Z5)."""
    from pysat.card import CardEnc, EncType
    from pysat.formula import IDPool

    add = designs.group_sum(moduli)
    q = len(add)
    neg = np.argmin(add, axis=1).tolist()  # -g, as g + (-g) = 0
    pool, out = IDPool(), []

    def x(i: int, g: int, h: int) -> int:
        return pool.id(("x", i, g, h))

    def y(i: int, j: int, g: int, d: int) -> int:
        return pool.id(("y", i, j, g, d))

    def exactly_one(lits: list[int]) -> None:
        out.extend(CardEnc.equals(lits, 1, vpool=pool, encoding=EncType.seqcounter).clauses)

    for i in range(1, b):
        for g in range(q):
            exactly_one([x(i, g, h) for h in range(q)])
            exactly_one([x(i, h, g) for h in range(q)])
            if i == 1:
                out.append([x(1, g, g)])
        out.append([x(i, 0, 0)])
    for i, j in itertools.combinations(range(1, b), 2):
        for g in range(q):
            for h, d in itertools.product(range(q), repeat=2):
                out.append([-x(i, g, h), -x(j, g, add[h, d]), y(i, j, g, d)])
                out.append([-x(i, g, h), -y(i, j, g, d), x(j, g, add[h, d])])
            exactly_one([y(i, j, g, d) for d in range(q)])
        for d in range(q):
            exactly_one([y(i, j, g, d) for g in range(q)])
    if odd:
        for i, g, h in itertools.product(range(2, b), range(q), range(q)):
            if (g, h) != (neg[g], neg[h]):
                out += [[-x(i, g, h), x(i, neg[g], neg[h])], [x(i, g, h), -x(i, neg[g], neg[h])]]
    return out, x


def solve_matrix(moduli: tuple[int, ...], b: int, odd: bool = False) -> np.ndarray | None:
    """The rows (b, q) of a difference matrix over the group with these moduli, or None.
    Odd ones are asked of Glucose, which found 5 rows over Z3 x Z7 in 20 s where CaDiCaL
    took 285 s."""
    out, x = matrix_clauses(tuple(moduli), b, odd)
    model = _model(out, 0, "glucose4" if odd else "cadical153")
    if model is None:
        return None
    q = math.prod(moduli)
    rows = np.zeros((b, q), np.int64)
    for i, g in itertools.product(range(1, b), range(q)):
        rows[i, g] = next(h for h in range(q) if x(i, g, h) in model)
    return rows


def store_matrices(sizes: list[int], groups: list[int], seconds: float) -> None:
    """Difference matrices for the transversal schedules no field gives: q groups of b
    (no group enlarged) where designs finds no rows for q; as many rows as found, up to the
    most any size asks."""
    wanted: dict[int, int] = {}
    for k, n in itertools.product(groups, sizes):
        shape = group_sizes(n, k)
        q, b = len(shape), max(shape)
        # q = 2 (mod 4): a group of order q has a cyclic 2-part, so none (Hall-Paige)
        if k >= 4 and b <= k <= q and designs.field(q) is None and q % 4 != 2:
            wanted[q] = max(wanted.get(q, 0), b)
    table = dict(difference_matrices.MATRICES)
    for q, most in sorted(wanted.items()):
        moduli = moduli_of(q)
        have = len(table[q][1]) if q in table else 0
        for b in range(max(have + 1, 4), most + 1):
            if designs._steps(q, b) is not None and q not in table:
                continue  # a field product gives it
            start = time.perf_counter()
            rows = None
            for odd in (True, False):  # the odd ones first: fewer choices, found sooner
                rows = _in_child(["matrix", list(moduli), b, odd], seconds)
                if rows is not None:
                    break
            took = time.perf_counter() - start
            if rows is None:
                print(f"{q} groups of {b}: nothing over Z{moduli} ({took:.0f} s)", flush=True)
                break
            print(f"{q} groups of {b}: found ({took:.1f} s)", flush=True)
            # with what another run of the finder stored meanwhile
            table.update(importlib.reload(difference_matrices).MATRICES)
            table[q] = (moduli, tuple(tuple(int(v) for v in row) for row in rows))
            write_matrices(table)


def write_matrices(table: dict) -> None:
    """Rewrite difference_matrices.py with ``table`` (q -> (moduli, rows))."""
    lines = ['"""' + difference_matrices.__doc__ + '"""', "",
             "MATRICES: dict[int, tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]] = {"]
    for q in sorted(table):
        moduli, rows = table[q]
        lines.append(f"    {q}: ({tuple(moduli)!r}, (")
        lines.extend(f"        {tuple(row)!r}," for row in rows)
        lines.append("    )),")
    lines.append("}")
    pathlib.Path(difference_matrices.__file__).write_text("\n".join(lines) + "\n")


def holey_structures(h: int, u: int):
    """(m, base rounds, orbits) for u holes of h people in threes over Z_m: rounds
    h (u - 1) / 2, each hole made of h / m orbits; the largest m first.

    Skipped: m = 2 (mod 4) when an odd number of pairs of orbits lie in different holes. Each
    such pair's m classes are used once, and their differences add up to m(m - 1)/2, odd; but
    in a triple the three differences add up to an even number mod 2 (one is the sum of the
    other two). So 11 holes of six over Z_6 (55 pairs of orbits) have no schedule."""
    for m in (h, h // 2, h // 3):
        if m < 2 or h % m or (h * (u - 1)) % (2 * m):
            continue
        orbits = u * h // m
        apart = (orbits * (orbits - 1) - u * (h // m) * (h // m - 1)) // 2
        if m % 4 == 2 and apart % 2:
            continue
        yield m, h * (u - 1) // (2 * m), orbits


def solve_holey(h: int, u: int, seconds: float):
    """(m, r, base rounds) of a schedule of threes on u holes of h people, or None."""
    for m, b, r in holey_structures(h, u):
        base = _in_child(["holey", m, b, r, h // m], seconds)
        if base is not None:
            return m, r, base
    return None


def check_holey(h: int, u: int, m: int, r: int, base: np.ndarray) -> None:
    """The found schedule keeps its promise: everyone once a round, two people of different
    holes meet exactly once, two of one hole never."""
    n = h * u
    rounds = golfer.develop(base, m, r, (3,) * (n // 3))
    met = np.zeros((n, n), np.int64)
    for groups in rounds:
        assert sorted(groups.ravel().tolist()) == list(range(n))
        for a, b in itertools.combinations(range(3), 2):
            met[groups[:, a], groups[:, b]] += 1
    met += met.T
    hole = np.arange(n) // h
    assert (met == (hole[:, None] != hole[None, :])).all()


def store_holes(sizes: list[int], seconds: float) -> None:
    """Schedules of threes with holes of six for the sizes n = 0 (mod 6) that no
    construction or stored schedule in designs takes to the bound: u holes with 6u * g = n
    for a g that designs can grow them by (1, or an order with a difference matrix of three
    rows), fewest holes first; kept when the schedule designs then builds on n is longer
    (96: four holes, each person four, 47 rounds where 46 were built)."""
    for n in sizes:
        before = _threes_reached(n) if n % 6 == 0 and n >= 30 else (n - 1) // 2
        if before >= (n - 1) // 2:
            continue
        holes = sorted({n // (6 * g) for g in range(1, n // 24 + 1)
                        if n % (6 * g) == 0 and (g == 1 or designs._steps(g, 3) is not None)})
        for u in (u for u in holes if u >= 4 and (6, u) not in holey_schedules.HOLEY):
            start = time.perf_counter()
            found = solve_holey(6, u, seconds)
            took = time.perf_counter() - start
            if found is None:
                print(f"{n} in threes, {u} holes of 6: nothing ({took:.0f} s)", flush=True)
                continue
            m, r, base = found
            check_holey(6, u, m, r, base)
            kept = holey_schedules.HOLEY
            table = {**kept, (6, u): (m, r, tuple(golfer.encode(row) for row in base))}
            designs.HOLEY = table
            reached = _threes_reached(n)
            print(f"{n} in threes, {u} holes of 6: found over Z{m} ({took:.1f} s), "
                  f"{reached} rounds", flush=True)
            if reached > before:
                holey_schedules.HOLEY = table
                write_holey(table)
                break
            designs.HOLEY = kept


def _threes_reached(n: int) -> int:
    """Rounds of the schedule designs builds or keeps for n people in threes."""
    have = designs.kirkman_rounds(np.arange(n))
    kept = golfer.kept_schedule((3,) * (n // 3))
    return max(0 if have is None else len(have), 0 if kept is None else len(kept))


def write_holey(table: dict) -> None:
    """Rewrite holey_schedules.py with ``table`` ((hole size, holes) -> (m, r, rows))."""
    lines = ['"""' + holey_schedules.__doc__ + '"""', "",
             "HOLEY: dict[tuple[int, int], tuple[int, int, tuple[str, ...]]] = {"]
    for key in sorted(table):
        m, r, rows = table[key]
        lines.append(f"    {key!r}: ({m}, {r}, (")
        lines.extend(f"        {row!r}," for row in rows)
        lines.append("    )),")
    lines.append("}")
    pathlib.Path(holey_schedules.__file__).write_text("\n".join(lines) + "\n")


def solve_within(
    m: int, b: int, r: int, f: int, sizes: tuple[int, ...], seconds: float, seed: int = 0
):
    """:func:`solve` in a process of its own, stopped after ``seconds`` (the solver cannot
    be interrupted from within)."""
    return _in_child(["cyclic", m, b, r, f, list(sizes), seed], seconds)


def _in_child(job: list, seconds: float):
    """One solver call (``job``: its kind and arguments) in a child process; None when it
    finds nothing or runs out of time."""
    job = json.dumps(job)
    try:
        done = subprocess.run([sys.executable, __file__, "--solve", job], capture_output=True,
                              text=True, timeout=seconds, check=True,
                              env={**os.environ, "FIND_SCHEDULES_PARENT": str(os.getpid())})
    except subprocess.TimeoutExpired:
        return None
    rows = json.loads(done.stdout)
    return None if rows is None else np.array(rows, np.int64)


def find(n: int, k: int, seconds: float, floor: int = 0, seed: int = 0):
    """The most rounds found for n people in groups of k, from the bound down to the target
    (or ``floor`` + 1): (rounds, m, r, f, base) or None."""
    sizes = tuple(sorted(group_sizes(n, k), reverse=True))
    bound = golfer.round_bound(n, sizes)
    for w in range(bound, max(target(n, k), floor + 1) - 1, -1):
        for m, b, r, f in golfer._structures(n, sizes, w):
            base = solve_within(m, b, r, f, sizes, seconds, seed)
            if base is not None:
                return w, m, r, f, base
    return None


def measure(n: int, k: int, shape: tuple[int, ...], entry) -> tuple[int, float]:
    """What the engine makes of the schedule on four channels (uniform and pyramid levels):
    the fewest repeat-free rounds it reaches (fewer than the schedule holds when no order
    of its rounds keeps the rotation rule, and the engine groups round by round), and the
    lowest ratio of its mean level spread to the engine's without stored schedules, over
    the same rounds: the first three quarters of the bound, or as many as the engine
    without reaches when that is fewer (its later rounds would repeat a pair)."""
    from bench_matching import make_people, run_rounds

    from bot.domain.matching import Rules

    first = math.ceil(0.75 * golfer.round_bound(n, shape))
    reached, ratios = [], []
    for seed, levels in ((0, "uniform"), (1, "uniform"), (2, "pyramid"), (3, "pyramid")):
        runs = []
        for table in ({**golf_schedules.BASE_ROUNDS, shape: entry}, {}):
            golfer.BASE_ROUNDS = table
            golfer.golfer_rounds.cache_clear()
            designs._front_loaded.cache_clear()
            runs.append(run_rounds(make_people(n, seed, levels), Rules(group_size=k), seed=seed))
        reached.append(len(runs[0]))
        same = min(first, *map(len, runs))
        means = [sum(x.mean_level_spread for x in scores[:same]) for scores in runs]
        ratios.append(means[0] / means[1])
    golfer.BASE_ROUNDS = golf_schedules.BASE_ROUNDS
    return min(reached), min(ratios)


def _task(args):
    n, k, seconds, floor, seed = args
    start = time.perf_counter()
    return args, find(n, k, seconds, floor, seed), time.perf_counter() - start


def _end_with(parent: int) -> None:
    """Stop this solver process when the finder that started it is gone (killed, say): the
    timeout lives in the finder, and an orphaned solve can run for hours. The solver holds
    the interpreter while it runs, so Linux's parent-death signal does it, not a thread."""
    try:
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # not Linux: an orphan runs to its end
        pass
    if os.getppid() != parent:  # gone before the signal was asked for
        os._exit(1)


def stored_now() -> dict:
    """The table as the file holds it now (another run of the finder may have added to it)."""
    return dict(importlib.reload(golf_schedules).BASE_ROUNDS)


def write(table: dict, live: dict | None = None, missing: frozenset | None = None) -> None:
    """Rewrite golf_schedules.py with ``table`` (sizes -> (m, r, f, base rows as text)), and
    ``live`` and ``missing``, the live search's results (default: as stored now)."""
    stored = importlib.reload(golf_schedules)
    live = stored.LIVE_ROUNDS if live is None else live
    missing = stored.NOT_FOUND if missing is None else missing
    lines = ['"""' + golf_schedules.__doc__ + '"""', ""]
    for name, entries in (("BASE_ROUNDS", table), ("LIVE_ROUNDS", live)):
        lines.append(f"{name}: dict[tuple[int, ...], tuple[int, int, int, tuple[str, ...]]] = {{")
        for sizes in sorted(entries, key=lambda s: (max(s), sum(s), s)):
            m, r, f, rows = entries[sizes]
            parts = " + ".join(f"({s},) * {sizes.count(s)}"
                               for s in sorted(set(sizes), reverse=True))  # fmt: skip
            lines.append(f"    {parts}: ({m}, {r}, {f}, (")
            lines.extend(f"        {row!r}," for row in rows)
            lines.append("    )),")
        lines += ["}", ""]
    lines.append("NOT_FOUND: frozenset[tuple[int, ...]] = frozenset({")
    lines.extend(f"    {shape!r}," for shape in sorted(missing, key=lambda s: (sum(s), s)))
    lines.append("})")
    TABLE.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="24-120", help="roster sizes, as 24-120 or 30,36")
    parser.add_argument("--groups", default="3,4,5,6,7,8", help="usual group sizes")
    parser.add_argument("--seconds", type=float, default=60.0, help="per SAT call")
    parser.add_argument("--jobs", type=int, default=2, help="searches at once")
    parser.add_argument("--live", action="store_true",
                        help="store what the engine's own search finds for threes instead "
                        "(seconds a size), so that no process has to search")
    parser.add_argument("--kirkman", action="store_true",
                        help="store Kirkman systems (threes, n = 3 mod 6) for the sizes the "
                        "constructions in designs miss")
    parser.add_argument("--matrices", action="store_true",
                        help="store difference matrices for transversal schedules of 12-24 "
                        "groups (groups of 4-8), where no field gives one")
    parser.add_argument("--holes", action="store_true",
                        help="store schedules of threes with holes of six for the sizes "
                        "n = 0 (mod 6) that nothing else takes far enough (66, 78, 102, 114)")
    parser.add_argument("--solve", help=argparse.SUPPRESS)  # one structure, in a child
    args = parser.parse_args()
    if args.solve:
        _end_with(int(os.environ.get("FIND_SCHEDULES_PARENT", os.getppid())))
        kind, *job = json.loads(args.solve)
        if kind == "kirkman":
            found = solve_kirkman(*job)
        elif kind == "matrix":
            found = solve_matrix(tuple(job[0]), job[1], job[2])
        elif kind == "holey":
            m, b, r, hole = job
            found = solve(m, b, r, 0, (3,) * (r * m // 3), 0, hole)
        else:
            m, b, r, f, shape, seed = job
            found = solve(m, b, r, f, tuple(shape), seed)
        print(json.dumps(None if found is None else found.tolist()))
        return
    sizes: list[int] = []
    try:
        for part in args.sizes.split(","):
            low, _, high = part.partition("-")
            sizes.extend(range(int(low), int(high or low) + 1))
        groups = [int(v) for v in args.groups.split(",")]
    except ValueError:
        parser.error("--sizes takes numbers and ranges such as 24-120,130; --groups numbers")
    if not all(3 <= k <= 8 for k in groups):
        parser.error("--groups: usual group sizes from 3 to 8, such as 3,4")
    if args.live:
        store_live(sizes)
        return
    if args.kirkman:
        store_kirkman(sizes, args.seconds)
        return
    if args.matrices:
        store_matrices(sizes, groups, args.seconds)
        return
    if args.holes:
        store_holes(sizes, args.seconds)
        return
    table = dict(golf_schedules.BASE_ROUNDS)
    tasks = []
    for k in groups:
        for n in sizes:
            shape = tuple(sorted(group_sizes(n, k), reverse=True))
            have = golfer.stored_rounds(shape)
            if built(n, k) >= target(n, k) or have == golfer.round_bound(n, shape):
                continue
            tasks.append((n, k, args.seconds, have, 0))
    print(f"{len(tasks)} roster sizes to search", flush=True)
    done = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        pending = {pool.submit(_task, task) for task in tasks}
        while pending:
            finished, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                (n, k, seconds, floor, seed), found, took = future.result()
                again = _verdict(table, n, k, seed, found, took, f"[{done + 1}/{len(tasks)}]")
                if again:  # the spread fell short: ask the solver for another schedule
                    pending.add(pool.submit(_task, (n, k, seconds, floor, seed + 1)))
                else:
                    done += 1


def store_live(sizes: list[int]) -> None:
    """Run golfer's tabu search where the engine would (threes, ``designs.searched_live``,
    no Kirkman system, no stored schedule) and store its schedule, or that it found none:
    the same rounds as the live search, without its cost."""
    stored = importlib.reload(golf_schedules)
    live, missing = dict(stored.LIVE_ROUNDS), set(stored.NOT_FOUND)
    for n in sizes:
        shape = tuple(sorted(group_sizes(n, 3), reverse=True))
        if (shape in stored.BASE_ROUNDS or shape in live or shape in missing
                or not designs.searched_live(n, 3, shape)
                or designs.kirkman_rounds(np.arange(n)) is not None):
            continue
        start = time.perf_counter()
        found = golfer.live_search(n, shape)
        took = time.perf_counter() - start
        if found is None:
            missing.add(shape)
            print(f"{n} in threes: the search finds nothing ({took:.1f} s)", flush=True)
        else:
            m, r, f, base = found
            live[shape] = (m, r, f, tuple(golfer.encode(row) for row in base))
            print(f"{n} in threes: {m * len(base)} rounds ({took:.1f} s)", flush=True)
        write(dict(stored.BASE_ROUNDS), live, frozenset(missing))


def _verdict(table: dict, n: int, k: int, seed: int, found, took: float, step: str) -> bool:
    """Print what was found, store it if the engine does well with it; whether to try
    another schedule."""
    shape = tuple(sorted(group_sizes(n, k), reverse=True))
    bound = golfer.round_bound(n, shape)
    if found is None:
        print(f"{step} {n} in groups of {k}: nothing at or above {target(n, k)} of {bound} "
              f"rounds ({took:.0f} s)", flush=True)
        return False
    w, m, r, f, base = found
    entry = (m, r, f, tuple(golfer.encode(row) for row in base))
    reached, kept = measure(n, k, shape, entry)
    worth = reached >= target(n, k) and kept >= SPREAD_KEPT
    again = not worth and reached >= target(n, k) and seed < RESEEDS
    print(f"{step} {n} in groups of {k}: {w} of {bound} rounds ({took:.0f} s); the engine "
          f"reaches {reached}, spread {kept:.1%} of the engine's without: "
          f"{'stored' if worth else 'trying another' if again else 'not stored'}", flush=True)
    if worth:
        table.update(stored_now())  # what another run of the finder stored meanwhile
        table[shape] = entry
        write(table)
    return again


if __name__ == "__main__":
    sys.exit(main())
