"""Repeat-free schedules found once by a SAT solver (bench/find_schedules.py), stored.

Why: for these roster sizes no construction is known here and the tabu search in golfer
stalls short of the bound, while a SAT solver, given seconds to minutes, finds a cyclic
schedule reaching (or nearly reaching) it. That is too slow for forming a round, so the base
rounds are kept here, and golfer.golfer_rounds develops them.

Written by bench/find_schedules.py; do not edit by hand. Each entry maps the group sizes
(largest first) to (m, r, f, base rounds): points are band * m + x for x in Z_m and r bands,
then f fixed points; a base round gives the group of every point as one character of
golfer.DIGITS, and adding c in Z_m to every x gives its m rounds.
"""

BASE_ROUNDS: dict[tuple[int, ...], tuple[int, int, int, tuple[str, ...]]] = {
    (4,) * 6: (7, 3, 3, (
        '004530125032421352141345',
    )),
}
