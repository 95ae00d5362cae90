"""Maximum-cardinality matching in a general graph (Edmonds' blossom algorithm).

The engine uses it as the referee for "no repeat while avoidable": a repeat-free round of
pairs exists exactly when the graph of pairs that have not met yet has a perfect matching,
and only a blossom search answers that for sure (a greedy pass or a bipartite solver does
not). Channels where this runs are at most a few hundred people, where the plain O(n^3)
version takes milliseconds when it starts from a good matching.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence


def maximum_matching(
    neighbours: Sequence[Sequence[int]], mate: list[int] | None = None
) -> list[int]:
    """Return ``mate`` with ``mate[v]`` the partner of ``v`` or -1, of maximum size.

    ``neighbours[v]`` lists the vertices ``v`` may be paired with (symmetric). A starting
    matching may be given; it is grown by augmenting paths and so mostly kept.
    """
    n = len(neighbours)
    mate = list(mate) if mate is not None else [-1] * n
    for root in range(n):
        if mate[root] == -1:
            end, parent = _search(neighbours, mate, root)
            while end != -1:  # flip the augmenting path
                before = parent[end]
                after = mate[before]
                mate[end], mate[before] = before, end
                end = after
    return mate


def _search(
    neighbours: Sequence[Sequence[int]], mate: list[int], root: int
) -> tuple[int, list[int]]:
    """Breadth-first search for an augmenting path from ``root``, shrinking odd cycles."""
    n = len(neighbours)
    parent = [-1] * n
    base = list(range(n))
    in_tree = [False] * n
    in_tree[root] = True
    queue = deque([root])

    def common_base(a: int, b: int) -> int:
        seen = [False] * n
        while True:
            a = base[a]
            seen[a] = True
            if mate[a] == -1:
                break
            a = parent[mate[a]]
        while True:
            b = base[b]
            if seen[b]:
                return b
            b = parent[mate[b]]

    def mark(v: int, stop: int, child: int, in_blossom: list[bool]) -> None:
        while base[v] != stop:
            in_blossom[base[v]] = in_blossom[base[mate[v]]] = True
            parent[v] = child
            child = mate[v]
            v = parent[mate[v]]

    while queue:
        v = queue.popleft()
        for w in neighbours[v]:
            if base[v] == base[w] or mate[v] == w:
                continue
            if w == root or (mate[w] != -1 and parent[mate[w]] != -1):
                # an odd cycle: shrink it into its base
                stop = common_base(v, w)
                in_blossom = [False] * n
                mark(v, stop, w, in_blossom)
                mark(w, stop, v, in_blossom)
                for u in range(n):
                    if in_blossom[base[u]]:
                        base[u] = stop
                        if not in_tree[u]:
                            in_tree[u] = True
                            queue.append(u)
            elif parent[w] == -1:
                parent[w] = v
                if mate[w] == -1:
                    return w, parent
                in_tree[mate[w]] = True
                queue.append(mate[w])
    return -1, parent
