"""Split a round's members into pools of people who can all have lunch with each other.

Why pools: "can have lunch together" (same location, or time zones close enough) is not
transitive, so a group must be checked pair by pair. Cutting the round into cliques first
lets every pool be grouped freely and fast, and keeps pools the same from week to week for a
stable roster, which is what lets a pool follow its round-robin.

* everyone with a location: one pool per location;
* people without a location but with a time zone: sorted by offset and cut into windows no
  wider than the allowed gap; a window whose people are close enough to everyone in a
  location pool joins it (remote people lunch with the office in their time zone);
* people with neither: they can meet anyone, so they first rescue people who would
  otherwise be alone in their pool, and the rest join the largest pool;
* someone still alone joins any pool they are compatible with as a whole; failing that they
  are left for :mod:`bot.matching.leftovers`.
"""

from __future__ import annotations

import numpy as np

from bot.matching.roster import Roster


def build_pools(roster: Roster) -> tuple[list[np.ndarray], list[int]]:
    """Pools (arrays of positions, each a clique) and the positions left on their own."""
    n = len(roster)
    loc, offset, window = roster.loc, roster.offset, roster.window
    pools: list[list[int]] = []
    located: list[bool] = []
    lo: list[float] = []  # known offsets of each pool: min and max
    hi: list[float] = []

    def span(members: np.ndarray) -> tuple[float, float]:
        known = offset[members]
        known = known[~np.isnan(known)]
        return (float(known.min()), float(known.max())) if len(known) else (np.inf, -np.inf)

    has_loc = loc >= 0
    if has_loc.any():
        idx = np.flatnonzero(has_loc)
        idx = idx[np.argsort(loc[idx], kind="stable")]
        cuts = np.flatnonzero(np.diff(loc[idx])) + 1
        for part in np.split(idx, cuts):
            pools.append(part.tolist())
            located.append(True)
            a, b = span(part)
            lo.append(a)
            hi.append(b)

    timed = np.flatnonzero(~has_loc & ~np.isnan(offset))
    if len(timed):
        timed = timed[np.argsort(offset[timed], kind="stable")]
        offs = offset[timed]
        start = 0
        while start < len(timed):
            end = int(np.searchsorted(offs, offs[start] + window, "right"))
            part = timed[start:end]
            a, b = float(offs[start]), float(offs[end - 1])
            home = _office_for(a, b, pools, located, lo, hi, window)
            if home is None:
                pools.append(part.tolist())
                located.append(False)
                lo.append(a)
                hi.append(b)
            else:
                pools[home].extend(part.tolist())
                lo[home], hi[home] = min(lo[home], a), max(hi[home], b)
            start = end

    floaters = np.flatnonzero(~has_loc & np.isnan(offset))
    floaters = sorted(floaters.tolist(), key=lambda i: roster.ids[i])
    for j in range(len(pools)):
        if len(pools[j]) == 1 and floaters:
            pools[j].append(floaters.pop())
    if floaters:
        if pools:
            biggest = max(range(len(pools)), key=lambda j: len(pools[j]))
            pools[biggest].extend(floaters)
        else:
            pools.append(floaters)

    alone = [j for j in range(len(pools)) if len(pools[j]) == 1]
    left: list[int] = []
    for j in alone:
        person = pools[j][0]
        homes = [
            h
            for h in range(len(pools))
            if h != j and len(pools[h]) >= 2
            and roster.compatible(person, np.asarray(pools[h])).all()
        ]
        if homes:
            best = max(homes, key=lambda h: len(pools[h]))
            pools[best].append(person)
        else:
            left.append(person)
        pools[j] = []
    result = [np.asarray(sorted(p), np.int64) for p in pools if len(p) >= 2]
    assert sum(len(p) for p in result) + len(left) == n
    return result, left


def _office_for(
    a: float,
    b: float,
    pools: list[list[int]],
    located: list[bool],
    lo: list[float],
    hi: list[float],
    window: float,
) -> int | None:
    """The largest location pool everyone with offsets in [a, b] can meet, if any."""
    best = None
    for j, is_loc in enumerate(located):
        if not is_loc:
            continue
        if max(b - lo[j], hi[j] - a) <= window and (
            best is None or len(pools[j]) > len(pools[best])
        ):
            best = j
    return best
