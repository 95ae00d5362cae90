"""One pool: people who can all have lunch with each other, grouped independently."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.domain.matching.pairbook import PairBook
from bot.domain.matching.types import MAX_GROUP_SIZE

# Weights of the soft goals, in levels of spread: a pair from two departments is worth a
# quarter of a level more than the same pair from one department.
DEPT_BONUS = 0.25
# Sitting in an enlarged group twice in a row costs more than any spread, less than a repeat.
ROTATION_COST = 1_000.0


@dataclass
class Pool:
    members: np.ndarray  # positions in the roster
    level: np.ndarray
    dept: np.ndarray
    enlarged_last: np.ndarray
    book: PairBook
    group_size: int
    keys: np.ndarray | None = None  # stable per-person keys (deterministic tie-breaks)

    @property
    def size(self) -> int:
        return len(self.members)


def group_sizes(count: int, k: int) -> list[int]:
    """Sizes of the groups for ``count`` people with usual size ``k``.

    Groups of k, and when the count does not divide, some groups of k + 1. When that would
    need more than one extra seat per group (say 15 people in groups of 8), or a group larger
    than ``MAX_GROUP_SIZE`` (any extra seat in groups of 8), the groups are made as even as
    possible instead with one group more (15 in groups of 8: 8 + 7; 9: 5 + 4; 17: 6 + 6 + 5).
    Fewer than k people form one smaller group.
    """
    if count < 2:
        return []
    largest = min(k + 1, MAX_GROUP_SIZE)
    if count <= largest:
        return [count]
    groups, extra = divmod(count, k)
    if extra <= groups * (largest - k):
        return [k + 1] * extra + [k] * (groups - extra)
    groups += 1
    base, extra = divmod(count, groups)
    return [base + 1] * extra + [base] * (groups - extra)
