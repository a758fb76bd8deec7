"""Split a road network into segment groups that train apart, cutting few links.

A forecaster's neighbour features read the segments up- and downstream, so a group
should hold stretches of road: the network's connected parts (freeways that meet
nowhere in the data) are never split unless one is larger than a group ought to be;
such a part is cut into as few slices of one breadth-first walk as fit, of near-equal
length, so a slice's segments lie near one another (a slice after the first need not
be connected). Parts are then packed into the groups largest first, each into the
group with the fewest segments so far, so the groups come out even. Deterministic:
the same graph and number of groups give the same groups.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import sparse
from scipy.sparse import csgraph

from trafficcast.forecast.panel import Graph


class GroupingError(ValueError):
    """The segments cannot be split as asked; the message says why."""


@dataclass(frozen=True)
class SegmentGroups:
    labels: npt.NDArray[np.int64]  # group of each column, 0 .. count - 1
    count: int
    cut_links: int  # links whose ends fell in different groups

    def columns(self, group: int) -> npt.NDArray[np.int64]:
        """The columns of `group`, in column order."""
        return np.flatnonzero(self.labels == group).astype(np.int64)

    def sizes(self) -> list[int]:
        return [int(n) for n in np.bincount(self.labels, minlength=self.count)]


def _pieces(graph: Graph, limit: int) -> list[npt.NDArray[np.int64]]:
    """Connected parts of the graph, the ones above `limit` segments cut into runs."""
    adjacency = sparse.csr_matrix(
        (np.ones(len(graph.src)), (graph.src, graph.dst)), shape=(graph.size, graph.size)
    )
    count, part = csgraph.connected_components(adjacency, directed=True, connection="weak")
    undirected = (adjacency + adjacency.T).tocsr()
    pieces: list[npt.NDArray[np.int64]] = []
    for p in range(count):
        members = np.flatnonzero(part == p).astype(np.int64)
        if len(members) <= limit:
            pieces.append(members)
            continue
        order = csgraph.breadth_first_order(
            undirected, int(members[0]), directed=False, return_predecessors=False
        )
        runs = -(-len(members) // limit)  # as few runs as fit, of near-equal length
        pieces.extend(np.sort(run) for run in np.array_split(np.asarray(order, np.int64), runs))
    return pieces


def plan_groups(graph: Graph, groups: int) -> SegmentGroups:
    """`groups` groups of the graph's columns (see the module's docstring)."""
    if groups < 1:
        raise GroupingError(f"groups must be at least 1, got {groups}")
    if groups > graph.size:
        raise GroupingError(f"{groups} groups asked of only {graph.size} segments")
    limit = -(-graph.size // groups)  # a part larger than an even share is cut
    pieces = _pieces(graph, limit)
    while len(pieces) < groups:  # e.g. 5 segments in 4 groups: runs of 2, 2 and 1
        pieces.sort(key=len)
        largest = pieces.pop()
        half = len(largest) // 2
        pieces += [largest[:half], largest[half:]]
    # Largest first; ties by first column, so the plan does not depend on the sort.
    pieces.sort(key=lambda p: (-len(p), int(p[0])))
    load = np.zeros(groups, dtype=np.int64)
    labels = np.full(graph.size, -1, dtype=np.int64)
    for piece in pieces:
        target = int(np.argmin(load))
        labels[piece] = target
        load[target] += len(piece)
    # Groups numbered by their first column, so group 0 holds column 0.
    first = np.array([np.flatnonzero(labels == g).min() for g in range(groups)])
    renumber = np.empty(groups, dtype=np.int64)
    renumber[np.argsort(first, kind="stable")] = np.arange(groups)
    labels = renumber[labels]
    cut = int(np.count_nonzero(labels[graph.src] != labels[graph.dst]))
    return SegmentGroups(labels, groups, cut)
