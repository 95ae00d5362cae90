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
    (4,) * 2 + (3,) * 6: (3, 8, 2, (
        '27151350560321631407204467',
        '03344126070421250751615367',
        '60472017351441230355021667',
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
    (4,) * 2 + (3,) * 9: (15, 2, 5, (
        'a1921233614807213a4055950476086789a',
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
    (4,) * 1 + (3,) * 19: (28, 2, 5, (
        'i2f1h5g785jc5c10ab620071894dja2b7ce6fh4eb9g393aed34806idfghij',
    )),
    (4,) * 2 + (3,) * 18: (27, 2, 8, (
        'j2e1hi15a54295cg68817d460f8b0ae30j3bh4d77g0c1i9b9f2a36cdefghij',
    )),
    (4,) * 2 + (3,) * 19: (29, 2, 7, (
        'g1hf418eai6j82714098kb0d3433625ebc2db9gj7hcaad5759k0f60ic1efghijk',
    )),
    (4,) * 1 + (3,) * 21: (31, 2, 5, (
        'ji013378l93bdh0bceka5fd8f841a9cfgj9d52e6l6c40kiae1b0gh5467g227hijkl',
    )),
    (4,) * 2 + (3,) * 20: (30, 2, 8, (
        'k34l1e61f7hj5bgc9cb04ci5170662bh8e7idalf8894a3dj92d2g1ka0530efghijkl',
    )),
    (4,) * 1 + (3,) * 22: (32, 2, 6, (
        '1hki4l3j5a21066ma4fd3bd185gdfe8e9hl727ci9jcgg0a7bce0820m5k3964bfhijklm',
    )),
    (4,) * 1 + (3,) * 25: (37, 2, 5, (
        '1nmo4l72116023f9dbfbek765cj5hp9a7je4bm6khe3ifa5d0c0odj2igg4380kagc8l98inphlmnop',
    )),
    (5,) * 6: (6, 5, 0, (
        '012144024233504345515220110353',
    )),
    (6,) * 1 + (5,) * 8: (8, 5, 6, (
        '4307165185670104083112763684025023457282345678',
    )),
}
