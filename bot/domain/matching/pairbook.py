"""Who met whom, among the members of one pool, in the form each algorithm wants.

Small pools get full matrices (the pairing search reads whole rows at a time); large pools
get a sorted array of pair keys and answer batches of look-ups with ``searchsorted``, which
stays fast and small with millions of past pairs.
"""

from __future__ import annotations

import numpy as np


class PairBook:
    def __init__(
        self,
        size: int,
        a: np.ndarray,
        b: np.ndarray,
        cost: np.ndarray,
        dense: bool,
    ) -> None:
        """Pairs ``(a[i], b[i])`` with ``a < b``, sorted by ``(a, b)``."""
        self.size = size
        self.dense = dense
        if dense:
            self.cost_matrix = np.zeros((size, size))
            self.cost_matrix[a, b] = cost
            self.cost_matrix[b, a] = cost
        else:
            self.keys = np.asarray(a, np.int64) * size + b
            self.costs = np.asarray(cost, float)
        self.pairs = len(a)

    def matrix(self) -> np.ndarray:
        """Repeat cost of every pair, as a size x size matrix (small pools only)."""
        if self.dense:
            return self.cost_matrix
        everyone = np.arange(self.size)
        return np.stack([self.cost(np.full(self.size, i), everyone) for i in range(self.size)])

    def cost(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Repeat cost of each pair (x[i], y[i]); 0 where they never met."""
        x = np.asarray(x)
        y = np.asarray(y)
        if self.dense:
            return self.cost_matrix[x, y]
        if self.pairs == 0:
            return np.zeros(np.broadcast(x, y).shape)
        keys = np.minimum(x, y).astype(np.int64) * self.size + np.maximum(x, y)
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[pos] == keys, self.costs[pos], 0.0)
