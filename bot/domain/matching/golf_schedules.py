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
    (4,) * 1 + (3,) * 9: (13, 2, 5, (
        '0114316785493235860407229056789',
    )),
    (4,) * 2 + (3,) * 8: (13, 2, 6, (
        '91807533403066041258221719456789',
    )),
    (4,) * 1 + (3,) * 10: (15, 2, 4, (
        '7a980021541425149286560337630a789a',
    )),
    (4,) * 1 + (3,) * 11: (17, 2, 3, (
        'b93a13728676180074426598531a45b0209ab',
    )),
    (4,) * 2 + (3,) * 10: (16, 2, 6, (
        'ba23900148460473563a1b08957252116789ab',
    )),
    (4,) * 1 + (3,) * 12: (18, 2, 4, (
        '12c3242693b75066a047ac040b57198853819abc',
    )),
    (4,) * 2 + (3,) * 11: (17, 2, 7, (
        '6c028b7a303120924a08c515617941b3546789abc',
    )),
    (4,) * 1 + (3,) * 13: (19, 2, 5, (
        '9d235ac42038308b21145c8a9b656d014770679abcd',
    )),
}
