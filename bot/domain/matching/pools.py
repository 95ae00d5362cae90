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
  are left for :mod:`bot.domain.matching.leftovers`.
"""

from __future__ import annotations

import numpy as np

from bot.domain.matching.roster import Roster


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

    left = _seat_the_lonely(roster, pools)
    result = [np.asarray(sorted(p), np.int64) for p in pools if len(p) >= 2]
    assert sum(len(p) for p in result) + len(left) == n
    return result, left


def _seat_the_lonely(roster: Roster, pools: list[list[int]]) -> list[int]:
    """Move people alone in their pool into the largest pool they can meet as a whole.

    Each pool is summarised by its location and the range of known offsets (of everyone, and
    of its members without a location), so one person is checked against all pools at once.
    """
    loc, offset, window = roster.loc, roster.offset, roster.window
    count = len(pools)
    size = np.array([len(p) for p in pools], np.int64)
    place = np.full(count, -1, np.int64)
    lo_all, hi_all = np.full(count, np.inf), np.full(count, -np.inf)
    lo_free, hi_free = np.full(count, np.inf), np.full(count, -np.inf)

    def take(j: int, person: int) -> None:
        off = offset[person]
        if loc[person] >= 0:
            place[j] = loc[person]
        if not np.isnan(off):
            lo_all[j], hi_all[j] = min(lo_all[j], off), max(hi_all[j], off)
            if loc[person] < 0:
                lo_free[j], hi_free[j] = min(lo_free[j], off), max(hi_free[j], off)

    if not (size == 1).any():
        return []
    for j, members in enumerate(pools):
        who = np.asarray(members, np.int64)
        located = loc[who] >= 0
        if located.any():
            place[j] = loc[who[located]][0]
        for mask, lo, hi in ((np.ones(len(who), bool), lo_all, hi_all),
                             (~located, lo_free, hi_free)):
            known = offset[who[mask]]
            known = known[~np.isnan(known)]
            if len(known):
                lo[j], hi[j] = known.min(), known.max()
    left: list[int] = []
    for j in np.flatnonzero(size == 1).tolist():
        person = pools[j][0]
        off = offset[person]
        if loc[person] >= 0:
            fits = place < 0
            if not np.isnan(off):
                fits &= np.maximum(hi_free - off, off - lo_free) <= window
        elif not np.isnan(off):
            fits = np.maximum(hi_all - off, off - lo_all) <= window
        else:
            fits = np.ones(count, bool)
        fits &= size >= 2
        if fits.any():
            home = int(np.flatnonzero(fits)[np.argmax(size[fits])])
            pools[home].append(person)
            size[home] += 1
            take(home, person)
        else:
            left.append(person)
        pools[j] = []
        size[j] = 0
    return left


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
