"""A level-aware round-robin (1-factorization) for a stable channel of pairs.

Why: picking each round's pairs greedily walks into dead ends long before n-1 rounds (the
widest pairs junior x senior run out and leave two groups that cannot be paired among
themselves). A round-robin built up front never gets stuck, and built this way its first
rounds are exactly the widest possible ones:

* sort people by level; the lower half L and the upper half U are paired by cyclic shifts
  (L[i] with U[i + s]): every one of those m = n/2 rounds pairs a junior with a senior, which
  is the maximum total level spread any round can have;
* the remaining rounds pair people inside each half. When m is even the halves are split the
  same way recursively. When m is odd each half has only near-perfect rounds (one person left
  over), so the two left-over people are paired across the halves; those m cross pairs form
  one of the shifts, which is then not used as a round of its own.

The schedule depends only on the order given, so calling it again next week with the same
roster gives the same rounds without storing anything: the engine just takes the best round
whose pairs have not met yet.
"""

from __future__ import annotations

from collections.abc import Sequence

Pair = tuple[int, int]


def round_robin(order: Sequence[int], reserved_shift: int = 0) -> list[list[Pair]]:
    """Split all pairs of ``order`` (even length, sorted by level) into len-1 perfect rounds.

    ``reserved_shift`` picks which junior x senior shift is spread over the within-half rounds
    when the halves have odd size.
    """
    n = len(order)
    if n % 2:
        raise ValueError("a round-robin of pairs needs an even number of people")
    if n == 0:
        return []
    if n == 2:
        return [[(order[0], order[1])]]
    m = n // 2
    lower, upper = list(order[:m]), list(order[m:])
    if m % 2 == 0:
        cross = [[(lower[i], upper[(i + s) % m]) for i in range(m)] for s in range(m)]
        inner_low = round_robin(lower)
        inner_up = round_robin(upper)
        inner = [a + b for a, b in zip(inner_low, inner_up, strict=True)]
        return cross + inner
    reserved = reserved_shift % m
    cross = [
        [(lower[i], upper[(i + s) % m]) for i in range(m)] for s in range(m) if s != reserved
    ]
    inner = []
    for t in range(m):
        u = (t + reserved) % m
        pairs = [(lower[t], upper[u])]
        for i in range(1, m // 2 + 1):
            pairs.append((lower[(t - i) % m], lower[(t + i) % m]))
            pairs.append((upper[(u - i) % m], upper[(u + i) % m]))
        inner.append(pairs)
    return cross + inner
