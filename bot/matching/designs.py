"""Built-in schedules for groups of k when a channel has exactly k^a people (k a prime power).

Why: choosing groups one round at a time runs out of repeat-free rounds before the bound
floor((n-1)/(k-1)): the pairs still unmet end up scattered so thinly that no split into groups
of k is left. For n = k^a the lines of the affine space over the field with k elements reach
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

import itertools

import numpy as np

# Multiplication in GF(4) and GF(8): polynomials over GF(2) modulo x^2+x+1 and x^3+x+1;
# addition is exclusive or.
_MODULUS = {4: 0b111, 8: 0b1011}


def _field(q: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Addition and multiplication tables of the field with q elements (3 <= q <= 8)."""
    if q in (3, 5, 7):
        e = np.arange(q)
        return (e[:, None] + e[None, :]) % q, (e[:, None] * e[None, :]) % q
    if q in _MODULUS:
        bits = q.bit_length() - 1
        mul = np.zeros((q, q), np.int64)
        for a, b in itertools.product(range(q), repeat=2):
            product = 0
            for i in range(bits):
                if b >> i & 1:
                    product ^= a << i
            for i in range(2 * bits - 2, bits - 1, -1):
                if product >> i & 1:
                    product ^= _MODULUS[q] << (i - bits)
            mul[a, b] = product
        e = np.arange(q)
        return e[:, None] ^ e[None, :], mul
    return None


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
    tables = _field(k)
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
