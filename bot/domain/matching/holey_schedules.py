"""Schedules of threes with holes, found once by a SAT solver (bench/find_schedules.py --holes).

Why: a schedule on v people whose only unmet pairs lie inside equal blocks ("holes") grows
into one on g * v people (``designs.inflated_rounds``), and where no Kirkman system exists
(66, 78, 102 and 114 people, for instance) such a schedule with holes of six still exists and
a solver finds it: u holes of six people, 3(u - 1) rounds in which nobody meets anyone of
their own hole, the holes then split in two on their own, one round more.

Written by bench/find_schedules.py; do not edit by hand. Each entry maps (hole size, holes)
to (m, r, base rounds): points are orbit * m + x for x in Z_m and r orbits, hole i holding
orbits i * r / u .. (i + 1) * r / u - 1; a base round gives the group of every point as one
character of golfer.DIGITS, and adding c in Z_m to every x gives its m rounds.
"""

HOLEY: dict[tuple[int, int], tuple[int, int, tuple[str, ...]]] = {
    (6, 4): (3, 8, (
        '012345374610270654623571',
        '012345621437356702571460',
        '012345417306732165642075',
    )),
    (6, 5): (6, 5, (
        '012345268954491387569071863702',
        '012345647825148609720389519673',
    )),
}
