"""An index of who has already met whom.

A year of weekly rounds in a 100,000-member channel is millions of pairs, so the index keeps
them as sorted numpy arrays (one 64-bit key per pair) instead of Python sets: building it is
one sort, and the engine pulls out the pairs among this round's members with one vectorised
pass instead of a dictionary look-up per candidate pair.
"""

from __future__ import annotations

import datetime
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np

from bot.domain.matching.types import PastGroup

_SHIFT = np.int64(1 << 32)
_MAX_SIZE_CODE = 63  # group sizes are stored in 6 bits next to the date


class History:
    """Past groups, indexed by pair. Immutable; :meth:`extended` returns a new index.

    Build it with :meth:`from_groups` (or :meth:`from_rows` when the data comes as columns).
    """

    __slots__ = ("_ids", "_index", "_lo", "_hi", "_count", "_last", "_person_last", "latest")

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._index: dict[str, int] = {}
        self._lo = np.zeros(0, np.int32)
        self._hi = np.zeros(0, np.int32)
        self._count = np.zeros(0, np.int32)
        self._last = np.zeros(0, np.int32)  # date ordinal of the latest meeting
        # per person: date ordinal * 64 + size of the latest group they were in
        self._person_last = np.zeros(0, np.int64)
        self.latest: datetime.date | None = None

    # ----------------------------------------------------------------- building
    @classmethod
    def from_groups(cls, groups: Iterable[PastGroup]) -> History:
        return cls().extended(groups)

    @classmethod
    def from_rows(
        cls, dates: Sequence[datetime.date], members: Sequence[Sequence[str]]
    ) -> History:
        """Index groups given as two parallel columns: the date and the member ids."""
        return cls()._merged(dates, members)

    def extended(self, groups: Iterable[PastGroup]) -> History:
        """A new index with ``groups`` added (for example the round just formed)."""
        groups = list(groups)
        return self._merged([g.date for g in groups], [g.member_ids for g in groups])

    def _merged(
        self, dates: Sequence[datetime.date], members: Sequence[Sequence[str]]
    ) -> History:
        new = History()
        # a dictionary that numbers unseen ids as it meets them, without a Python loop
        index = defaultdict(itertools.count(len(self._ids)).__next__, self._index)
        sizes = np.fromiter(map(len, members), np.int64, len(members))
        flat = itertools.chain.from_iterable(members)
        codes = np.fromiter(map(index.__getitem__, flat), np.int64, int(sizes.sum()))
        new._index = dict(index)
        new._ids = ids = list(new._index)
        ordinal_of = {d: d.toordinal() for d in set(dates)}  # few distinct dates
        ordinals = np.fromiter(map(ordinal_of.__getitem__, dates), np.int64, len(dates))
        member_dates = np.repeat(ordinals, sizes)
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1])) if len(sizes) else sizes

        lo_parts, hi_parts, date_parts = [self._lo], [self._hi], [self._last]
        count_parts = [self._count]
        for size in np.unique(sizes):
            if size < 2:
                continue
            which = starts[sizes == size]
            block = codes[which[:, None] + np.arange(size)[None, :]]
            block_dates = ordinals[sizes == size]
            for i in range(size):
                for j in range(i + 1, size):
                    a, b = block[:, i], block[:, j]
                    distinct = a != b  # a name listed twice in one group is one person
                    a, b = a[distinct], b[distinct]
                    lo_parts.append(np.minimum(a, b).astype(np.int32))
                    hi_parts.append(np.maximum(a, b).astype(np.int32))
                    date_parts.append(block_dates[distinct].astype(np.int32))
                    count_parts.append(np.ones(len(a), np.int32))
        lo = np.concatenate(lo_parts)
        hi = np.concatenate(hi_parts)
        last = np.concatenate(date_parts)
        count = np.concatenate(count_parts)
        if len(lo):
            keys = lo.astype(np.int64) * _SHIFT + hi
            order = np.argsort(keys)
            keys, last, count = keys[order], last[order], count[order]
            run_end = np.flatnonzero(np.r_[keys[1:] != keys[:-1], True])
            run_start = np.r_[0, run_end[:-1] + 1]
            new._count = np.add.reduceat(count, run_start).astype(np.int32)
            new._last = np.maximum.reduceat(last, run_start).astype(np.int32)
            keys = keys[run_end]
            new._lo = (keys // _SHIFT).astype(np.int32)
            new._hi = (keys % _SHIFT).astype(np.int32)

        person_last = np.zeros(len(ids), np.int64)
        person_last[: len(self._person_last)] = self._person_last
        if len(codes):
            stamp = member_dates * 64 + np.minimum(np.repeat(sizes, sizes), _MAX_SIZE_CODE)
            np.maximum.at(person_last, codes, stamp)
        new._person_last = person_last
        latest = [d for d in (self.latest, max(dates, default=None)) if d is not None]
        new.latest = max(latest) if latest else None
        return new

    # ----------------------------------------------------------------- queries
    def __len__(self) -> int:
        """The number of distinct pairs that have met."""
        return len(self._lo)

    def _find(self, a: str, b: str) -> int:
        ia, ib = self._index.get(a), self._index.get(b)
        if ia is None or ib is None or ia == ib:
            return -1
        lo, hi = min(ia, ib), max(ia, ib)
        keys_lo = np.searchsorted(self._lo, lo, "left")
        keys_hi = np.searchsorted(self._lo, lo, "right")
        pos = keys_lo + np.searchsorted(self._hi[keys_lo:keys_hi], hi)
        if pos < keys_hi and self._hi[pos] == hi:
            return int(pos)
        return -1

    def times_met(self, a: str, b: str) -> int:
        pos = self._find(a, b)
        return int(self._count[pos]) if pos >= 0 else 0

    def last_met(self, a: str, b: str) -> datetime.date | None:
        pos = self._find(a, b)
        return datetime.date.fromordinal(int(self._last[pos])) if pos >= 0 else None

    def last_group(self, person: str) -> tuple[datetime.date, int] | None:
        """The date and size of the latest group ``person`` was in, if any."""
        code = self._index.get(person)
        if code is None or self._person_last[code] == 0:
            return None
        stamp = int(self._person_last[code])
        return datetime.date.fromordinal(stamp // 64), stamp % 64

    # ----------------------------------------------------------------- for the engine
    def codes(self, ids: Sequence[str]) -> np.ndarray:
        """History codes of ``ids`` (-1 for someone never seen)."""
        return np.fromiter(
            map(self._index.get, ids, itertools.repeat(-1)), np.int64, len(ids)
        )

    def pairs_among(self, codes: np.ndarray) -> tuple[np.ndarray, ...]:
        """Past pairs among the given people, as positions into ``codes``.

        Returns ``(a, b, count, last_ordinal)`` with ``a < b``.
        """
        local = np.full(len(self._ids) + 1, -1, np.int64)
        known = codes >= 0
        local[codes[known]] = np.flatnonzero(known)
        pa, pb = local[self._lo], local[self._hi]
        keep = (pa >= 0) & (pb >= 0)
        pa, pb = pa[keep], pb[keep]
        return (
            np.minimum(pa, pb),
            np.maximum(pa, pb),
            self._count[keep],
            self._last[keep],
        )

    def last_groups(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Date ordinal (0 if never) and size of each person's latest group."""
        stamps = np.zeros(len(codes), np.int64)
        known = codes >= 0
        stamps[known] = self._person_last[codes[known]]
        return stamps // 64, stamps % 64
