"""Difference matrices found once by a SAT solver (bench/find_schedules.py --matrices).

Why: the schedules across level bands (designs.transversal_rounds, and the quadrupled designs
of fours) need, for q groups of b, an abelian group of order q and b rows over it whose
pairwise differences each take every value once. A finite field gives them when every prime
power part of q is at least b; for 12, 15, 21 and 24 groups none does, but such matrices
exist and a solver finds them in seconds to a minute.

Written by bench/find_schedules.py; do not edit by hand. Each entry maps q to (the moduli of
the group, a product of cyclic groups whose elements are numbered with the last modulus
fastest; the rows, the first all 0 and the second 0, 1, ..., q - 1).
"""

MATRICES: dict[int, tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]] = {
    12: ((2, 2, 3), (
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
        (0, 11, 4, 5, 7, 9, 2, 10, 6, 3, 8, 1),
        (0, 9, 8, 10, 2, 3, 11, 6, 5, 1, 7, 4),
        (0, 7, 1, 11, 8, 2, 3, 9, 4, 10, 5, 6),
        (0, 8, 11, 4, 9, 1, 10, 3, 7, 6, 2, 5),
    )),
    15: ((3, 5), (
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14),
        (0, 3, 8, 6, 14, 9, 2, 4, 10, 13, 11, 1, 5, 7, 12),
        (0, 10, 9, 8, 2, 14, 1, 13, 4, 6, 3, 12, 11, 5, 7),
        (0, 4, 1, 10, 5, 7, 11, 14, 2, 12, 8, 6, 13, 9, 3),
    )),
    21: ((3, 7), (
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20),
        (0, 12, 8, 19, 9, 20, 16, 10, 15, 11, 2, 1, 3, 7, 18, 14, 4, 6, 5, 17, 13),
        (0, 10, 15, 1, 6, 13, 18, 11, 2, 8, 14, 16, 19, 3, 17, 4, 9, 12, 7, 20, 5),
        (0, 15, 12, 7, 14, 16, 13, 8, 11, 4, 1, 9, 18, 5, 20, 2, 10, 19, 6, 3, 17),
    )),
    24: ((2, 2, 2, 3), (
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23),
        (0, 19, 6, 13, 15, 17, 3, 1, 12, 11, 7, 21, 20, 4, 10, 14, 8, 18, 22, 9, 16, 5, 23, 2),
        (0, 18, 23, 4, 9, 21, 20, 11, 16, 1, 14, 5, 6, 15, 22, 17, 2, 3, 13, 10, 8, 12, 19, 7),
    )),
}
