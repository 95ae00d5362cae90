"""Repeat-free schedules found once by a SAT solver (bench/find_schedules.py), stored.

Why: for these roster sizes no construction is known here and the tabu search in golfer
stalls short of the bound, while a SAT solver, given seconds to minutes, finds a cyclic
schedule reaching (or nearly reaching) it. That is too slow for forming a round, so the base
rounds are kept here, and golfer.golfer_rounds develops them.

LIVE_ROUNDS, in the same form, holds what golfer's own tabu search finds for threes
(``--live``), and NOT_FOUND the group sizes it finds nothing for. That search is
deterministic, so these are its results, taken where it would run (within its limits): a
process need not spend up to 15 s on it before its first round of a size.

Written by bench/find_schedules.py; do not edit by hand. Each entry maps the group sizes
(largest first) to (m, r, f, base rounds): points are band * m + x for x in Z_m and r bands,
then f fixed points; a base round gives the group of every point as one character of
golfer.DIGITS, and adding c in Z_m to every x gives its m rounds. Kirkman systems that
designs builds none for (``--kirkman``: 33 people and up) are not all shifts of a few rounds,
so they are stored whole: m = 1, a band a point, each base round a round.
"""

BASE_ROUNDS: dict[tuple[int, ...], tuple[int, int, int, tuple[str, ...]]] = {
    (3,) * 11: (1, 33, 0, (
        '0123456789a89a0123456789a01234567',
        '0123456789a789a0123456a0123456789',
        '0123456789a3456789a01223456789a01',
        '0123456789a23456789a019a012345678',
        '0123456789a123456789a06789a012345',
        '0122452767441a990918a655830a73638',
        '40122452767641a990918a855830a7363',
        '74012245276a641a9909183855830a736',
        '674012245278a641a9909163855830a73',
        '7674012245218a641a9909363855830a7',
        '27674012245918a641a9907363855830a',
        '527674012240918a641a99a7363855830',
        '4527674012290918a641a90a736385583',
        '24527674012990918a641a30a73638558',
        '22452767401a990918a641830a7363855',
        '122452767401a990918a645830a736385',
    )),
    (3,) * 23: (1, 69, 0, (
        '0123456789abcdefghijklmklm0123456789abcdefghijhijklm0123456789abcdefg',
        '0123456789abcdefghijklmjklm0123456789abcdefghi56789abcdefghijklm01234',
        '0123456789abcdefghijklmhijklm0123456789abcdefgfghijklm0123456789abcde',
        '0123456789abcdefghijklmghijklm0123456789abcdefm0123456789abcdefghijkl',
        '0123456789abcdefghijklmdefghijklm0123456789abcklm0123456789abcdefghij',
        '0123456789abcdefghijklmbcdefghijklm0123456789a123456789abcdefghijklm0',
        '0123456789abcdefghijklmabcdefghijklm01234567899abcdefghijklm012345678',
        '0123456789abcdefghijklm9abcdefghijklm012345678defghijklm0123456789abc',
        '0123456789abcdefghijklm89abcdefghijklm01234567jklm0123456789abcdefghi',
        '0123456789abcdefghijklm456789abcdefghijklm01236789abcdefghijklm012345',
        '0123456789abcdefghijklm23456789abcdefghijklm013456789abcdefghijklm012',
        '010322647308adb7fdef63ge741f24h8hjm9jkllm1kjh5ca9mbd65iicei8kc9ag5gbl',
        'g010322647308adb7fdef635e741f24h8hjm9jkllm1kjhlca9mbd65iicei8kc9ag5gb',
        '3g010322647308adb7fdef6h5e741f24h8hjm9jkllm1kjblca9mbd65iicei8kc9ag5g',
        '63g010322647308adb7fdefjh5e741f24h8hjm9jkllm1kgblca9mbd65iicei8kc9ag5',
        'f63g010322647308adb7fdekjh5e741f24h8hjm9jkllm15gblca9mbd65iicei8kc9ag',
        'ef63g010322647308adb7fd1kjh5e741f24h8hjm9jkllmg5gblca9mbd65iicei8kc9a',
        'def63g010322647308adb7fm1kjh5e741f24h8hjm9jkllag5gblca9mbd65iicei8kc9',
        'fdef63g010322647308adb7lm1kjh5e741f24h8hjm9jkl9ag5gblca9mbd65iicei8kc',
        '7fdef63g010322647308adbllm1kjh5e741f24h8hjm9jkc9ag5gblca9mbd65iicei8k',
        'b7fdef63g010322647308adkllm1kjh5e741f24h8hjm9jkc9ag5gblca9mbd65iicei8',
        'db7fdef63g010322647308ajkllm1kjh5e741f24h8hjm98kc9ag5gblca9mbd65iicei',
        'adb7fdef63g0103226473089jkllm1kjh5e741f24h8hjmi8kc9ag5gblca9mbd65iice',
        '8adb7fdef63g01032264730m9jkllm1kjh5e741f24h8hjei8kc9ag5gblca9mbd65iic',
        '08adb7fdef63g0103226473jm9jkllm1kjh5e741f24h8hcei8kc9ag5gblca9mbd65ii',
        '308adb7fdef63g010322647hjm9jkllm1kjh5e741f24h8icei8kc9ag5gblca9mbd65i',
        '7308adb7fdef63g010322648hjm9jkllm1kjh5e741f24hiicei8kc9ag5gblca9mbd65',
        '47308adb7fdef63g0103226h8hjm9jkllm1kjh5e741f245iicei8kc9ag5gblca9mbd6',
        '647308adb7fdef63g0103224h8hjm9jkllm1kjh5e741f265iicei8kc9ag5gblca9mbd',
        '2647308adb7fdef63g0103224h8hjm9jkllm1kjh5e741fd65iicei8kc9ag5gblca9mb',
        '22647308adb7fdef63g0103f24h8hjm9jkllm1kjh5e741bd65iicei8kc9ag5gblca9m',
        '322647308adb7fdef63g0101f24h8hjm9jkllm1kjh5e74mbd65iicei8kc9ag5gblca9',
        '0322647308adb7fdef63g0141f24h8hjm9jkllm1kjh5e79mbd65iicei8kc9ag5gblca',
        '10322647308adb7fdef63g0741f24h8hjm9jkllm1kjh5ea9mbd65iicei8kc9ag5gblc',
    )),
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

LIVE_ROUNDS: dict[tuple[int, ...], tuple[int, int, int, tuple[str, ...]]] = {
    (3,) * 6: (4, 4, 2, (
        '443135120524213050',
        '210523304113445052',
    )),
    (3,) * 8: (11, 2, 2, (
        '407565200214432371531667',
    )),
    (3,) * 10: (14, 2, 2, (
        '907353089126771928581340644526',
    )),
    (3,) * 12: (17, 2, 2, (
        '6bb836592034715b57a6a04a231840729981',
    )),
    (3,) * 14: (20, 2, 2, (
        '85c554b10a213489d6407cc37a38db9b2ad7016296',
    )),
    (3,) * 16: (23, 2, 2, (
        '4712b9d90ae1cad55ef72016d28b0c5b38f446a93e3687cf',
    )),
    (3,) * 18: (26, 2, 2, (
        '6gaf3ce139855c4hg1h6e07f73f2bdd954d7aba2cg96b2h081e840',
    )),
    (3,) * 20: (29, 2, 2, (
        '9i27108cig96ed42bh324dj7fjej976430f81853ca5bf6b5c1egaahi0dhg',
    )),
    (4,) * 1 + (3,) * 6: (9, 2, 4, (
        '6410305332152600244156',
    )),
    (4,) * 1 + (3,) * 7: (11, 2, 3, (
        '2550467434016521720013367',
    )),
    (4,) * 1 + (3,) * 8: (12, 2, 4, (
        '3100647363528176080582445271',
    )),
    (4,) * 2 + (3,) * 12: (19, 2, 6, (
        '8db6d5d04bb07a1c309170a262237158c14a9546893c',
    )),
    (4,) * 1 + (3,) * 14: (21, 2, 4, (
        'b80104e2775cb5791d86583a392cc30edb0a2614da649e',
    )),
    (4,) * 2 + (3,) * 13: (20, 2, 7, (
        '65c9723ce8a811c514db40701a63eb27d853b00969d4ea2',
    )),
    (4,) * 1 + (3,) * 15: (22, 2, 5, (
        '54c70069ba68314d5cdc6fb422f817971e0de3205afea39b8',
    )),
    (4,) * 2 + (3,) * 14: (21, 2, 8, (
        '1135167abe8565f01294d0c486a23b9ef27dca003cd4b987ef',
    )),
    (4,) * 1 + (3,) * 16: (24, 2, 4, (
        'edba8831f916g45690c06ag1f40b29273d755ce8gbc4a2073efd',
    )),
    (4,) * 2 + (3,) * 15: (23, 2, 7, (
        '7162gba2753df479c0ee6e35400gcfa1b8b5896d180312dgca9f4',
    )),
    (4,) * 1 + (3,) * 17: (25, 2, 5, (
        '2beg7785eafec45103fa6b9ac956d71dc048hbh28g63hf002dg3194',
    )),
    (4,) * 2 + (3,) * 16: (25, 2, 6, (
        'a6140c5f00g4c895e4e7g3hgbad6d256achb91b78d02311ef2879f3h',
    )),
    (4,) * 1 + (3,) * 18: (27, 2, 4, (
        '19700e20fdh584egd2ae963fafca523711i46bh4d9gbcb835i0hig6c87',
    )),
    (4,) * 2 + (3,) * 17: (27, 2, 5, (
        'hd079cac2i0g65b306d7edf8804f6i1984gaa3ebi3h912572141gcebhf5',
    )),
    (4,) * 1 + (3,) * 20: (29, 2, 6, (
        '78h59i4323ck40a56ff206451k7gjgi30dh1c2dde0i9jb98e7e1bf6kbacghj8a',
    )),
}

NOT_FOUND: frozenset[tuple[int, ...]] = frozenset({
    (4, 3, 3, 3),
    (4, 3, 3, 3, 3),
    (4, 3, 3, 3, 3, 3),
    (3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3),
})
