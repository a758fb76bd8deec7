"""plan_groups: segment groups that keep roads whole, come out even and never empty.

The bound, read from the code: `limit = ceil(N / groups)`. A connected part of at most
`limit` segments is never split; a larger one is cut into as few runs of a breadth-first
walk as hold at most `limit` each, of near-equal length. The pieces are then packed
largest first, each into the least-loaded group, so a group can exceed `limit` only by
holding several whole parts: at most `(N - p) // groups + p`, p ≤ limit the last piece it
took (three chains of 3 in 2 groups give 6 and 3). When the network is one connected part
every group is one run, so every group holds at most `limit` segments and the groups differ
by at most one.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse
from scipy.sparse import csgraph

from trafficcast.forecast.panel import Graph
from trafficcast.forecast.segment_groups import GroupingError, SegmentGroups, plan_groups


def graph(size: int, links: list[tuple[int, int]]) -> Graph:
    if not links:
        return Graph.empty(size)
    src, dst = (np.array(x, dtype=np.int64) for x in zip(*links, strict=True))
    return Graph(src, dst, np.ones(len(links)), size)


def chain(first: int, length: int) -> list[tuple[int, int]]:
    """first -> first+1 -> ... -> first+length-1, a stretch of road."""
    return [(i, i + 1) for i in range(first, first + length - 1)]


def parts_of(g: Graph) -> np.ndarray:
    adjacency = sparse.csr_matrix((np.ones(len(g.src)), (g.src, g.dst)), shape=(g.size, g.size))
    return csgraph.connected_components(adjacency, directed=True, connection="weak")[1]


def cut_by_hand(g: Graph, labels: np.ndarray) -> int:
    return sum(int(labels[s]) != int(labels[d]) for s, d in zip(g.src, g.dst, strict=True))


def check_plan(g: Graph, plan: SegmentGroups, groups: int) -> None:
    """What every plan must be: a label per column, every group used, cut links counted."""
    assert plan.count == groups
    assert plan.labels.shape == (g.size,)
    assert plan.labels.dtype == np.int64
    assert set(plan.labels.tolist()) == set(range(groups))  # no group empty
    assert sum(plan.sizes()) == g.size
    assert plan.labels[0] == 0
    assert plan.cut_links == cut_by_hand(g, plan.labels)
    # Groups are numbered by their first column.
    firsts = [int(plan.columns(k)[0]) for k in range(groups)]
    assert firsts == sorted(firsts)
    for k in range(groups):
        np.testing.assert_array_equal(plan.columns(k), np.flatnonzero(plan.labels == k))


def test_connected_parts_that_fit_an_even_share_are_never_split() -> None:
    # Three roads of 4, 3 and 3 segments, their columns interleaved; 3 groups: share 4.
    order = [0, 4, 7, 1, 5, 8, 2, 6, 9, 3]  # column of the road's k-th segment
    roads = [order[0:4], order[4:7], order[7:10]]
    links = [(r[i], r[i + 1]) for r in roads for i in range(len(r) - 1)]
    g = graph(10, links)
    plan = plan_groups(g, 3)
    check_plan(g, plan, 3)
    assert plan.cut_links == 0
    assert sorted(plan.sizes()) == [3, 3, 4]
    for road in roads:
        assert len(set(plan.labels[road].tolist())) == 1


def test_whole_parts_can_load_a_group_beyond_the_even_share() -> None:
    # Three roads of 3 in 2 groups: each fits the share of 5, so none is cut, and one group
    # takes two of them. No links cut, at the cost of balance.
    g = graph(9, chain(0, 3) + chain(3, 3) + chain(6, 3))
    plan = plan_groups(g, 2)
    check_plan(g, plan, 2)
    assert plan.sizes() == [6, 3]
    assert plan.cut_links == 0


def test_a_part_larger_than_the_share_is_cut_into_runs_of_the_share() -> None:
    g = graph(10, chain(0, 10))  # one road of 10 in 3 groups: share ceil(10 / 3) = 4
    plan = plan_groups(g, 3)
    check_plan(g, plan, 3)
    assert plan.sizes() == [4, 3, 3]
    # Runs of a breadth-first walk along the road: consecutive stretches, 2 links cut.
    assert np.all(np.diff(plan.labels) >= 0)
    assert plan.cut_links == 2


def test_a_large_part_beside_small_ones() -> None:
    # A road of 7 and three isolated segments, 3 groups (share 4): the road is cut into
    # runs of 4 and 3, the isolated segments fill the others up.
    g = graph(10, chain(0, 7))
    plan = plan_groups(g, 3)
    check_plan(g, plan, 3)
    assert max(plan.sizes()) <= 4
    assert sorted(plan.sizes()) == [3, 3, 4]
    road = plan.labels[:7]
    assert len(set(road.tolist())) == 2  # cut once into two runs
    assert plan.cut_links == 1


def test_a_branching_part_is_cut_breadth_first() -> None:
    # A star: hub 0 with 3 arms of 3 segments (10 segments), 2 groups: share 5.
    links = [(0, 1), (1, 2), (2, 3), (0, 4), (4, 5), (5, 6), (0, 7), (7, 8), (8, 9)]
    g = graph(10, links)
    plan = plan_groups(g, 2)
    check_plan(g, plan, 2)
    assert plan.sizes() == [5, 5]
    # Breadth-first from the hub: the hub, its three neighbours and the next one out.
    assert set(plan.columns(0).tolist()) == {0, 1, 4, 7, 2}
    assert plan.cut_links == 3  # 2 -> 3, 4 -> 5 and 7 -> 8


@pytest.mark.parametrize(
    ("g", "groups"),
    [
        (graph(5, []), 4),  # 5 isolated segments
        (graph(5, chain(0, 5)), 4),  # one road of 5: runs of 2, 2 and 1, one run halved
        (graph(5, chain(0, 5)), 5),
        (graph(8, chain(0, 8)), 8),
        (graph(7, chain(0, 4) + chain(4, 3)), 6),
        (graph(3, chain(0, 3)), 1),
    ],
)
def test_groups_are_never_empty(g: Graph, groups: int) -> None:
    plan = plan_groups(g, groups)
    check_plan(g, plan, groups)
    assert min(plan.sizes()) >= 1


def test_five_segments_on_a_road_in_four_groups() -> None:
    plan = plan_groups(graph(5, chain(0, 5)), 4)
    assert sorted(plan.sizes()) == [1, 1, 1, 2]
    assert plan.cut_links == 3  # four groups along one road: three links between them


def test_an_empty_link_graph_deals_segments_out_evenly() -> None:
    g = graph(11, [])
    for groups in range(1, 12):
        plan = plan_groups(g, groups)
        check_plan(g, plan, groups)
        assert max(plan.sizes()) - min(plan.sizes()) <= 1
        assert plan.cut_links == 0


def test_one_group_holds_everything() -> None:
    g = graph(6, [*chain(0, 3), (4, 5)])
    plan = plan_groups(g, 1)
    assert plan.labels.tolist() == [0] * 6
    assert plan.cut_links == 0
    assert plan.sizes() == [6]


def random_graph(rng: np.random.Generator) -> Graph:
    """Several roads (chains, some with branches) of random lengths, columns shuffled."""
    size = int(rng.integers(2, 60))
    perm = rng.permutation(size)
    links: list[tuple[int, int]] = []
    i = 0
    while i < size:
        length = int(rng.integers(1, 25))
        road = list(range(i, min(size, i + length)))
        links += [(a, b) for a, b in itertools.pairwise(road)]
        if len(road) > 3 and rng.random() < 0.5:  # a ramp joining the road
            links.append((road[-1], road[int(rng.integers(0, len(road) - 2))]))
        i += length
    return graph(size, [(int(perm[a]), int(perm[b])) for a, b in links])


def test_random_roads_obey_the_bounds_and_are_deterministic() -> None:
    rng = np.random.default_rng(8)
    for _ in range(300):
        g = random_graph(rng)
        groups = int(rng.integers(1, g.size + 1))
        plan = plan_groups(g, groups)
        check_plan(g, plan, groups)
        limit = -(-g.size // groups)
        part = parts_of(g)
        for p in np.unique(part):
            members = np.flatnonzero(part == p)
            if len(members) <= limit and len(np.unique(part)) >= groups:
                assert len(set(plan.labels[members].tolist())) == 1  # a fitting part: whole
        # A group exceeds the share only by whole parts (see the module docstring).
        assert max(plan.sizes()) <= (g.size - 1) // groups + limit
        if len(np.unique(part)) == 1:
            assert max(plan.sizes()) <= limit
        again = plan_groups(g, groups)
        np.testing.assert_array_equal(again.labels, plan.labels)
        assert again.cut_links == plan.cut_links


def test_the_same_graph_twice_gives_the_same_labels() -> None:
    links = chain(0, 9) + chain(9, 4) + [(3, 9)] + chain(13, 7)
    a = plan_groups(graph(20, links), 3)
    b = plan_groups(graph(20, list(links)), 3)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.labels[0] == 0


@pytest.mark.parametrize(
    ("size", "groups", "message"),
    [
        (5, 0, "at least 1, got 0"),
        (5, -2, "at least 1, got -2"),
        (5, 6, "6 groups asked of only 5 segments"),
        (0, 1, "1 groups asked of only 0 segments"),
    ],
)
def test_impossible_groupings_are_refused_naming_the_numbers(
    size: int, groups: int, message: str
) -> None:
    with pytest.raises(GroupingError, match=message):
        plan_groups(Graph.empty(size), groups)
    assert issubclass(GroupingError, ValueError)


@pytest.fixture(scope="module")
def road_graph(shared_data: Path) -> Graph:
    from trafficcast.sources.dataset import load_dataset

    dataset = load_dataset(shared_data / "pems08-partial", timezone="UTC")
    return Graph.from_links(dataset.links, dataset.segments.column("segment_id").combine_chunks())


# pems08-partial: 170 detectors, 295 links, one connected part. Links cut by 2..8 groups:
# 37, 68, 75, 119, 120, 139, 151 (of 295). Slices of one breadth-first order are not
# connected beyond the first: with 2 groups the second falls into 11 pieces of road, with
# 4 groups the others into 5, 15 and 7.
@pytest.mark.parametrize("groups", range(2, 9))
def test_the_pems08_road_graph(road_graph: Graph, groups: int) -> None:
    assert road_graph.size == 170
    assert len(road_graph.src) == 295
    assert len(np.unique(parts_of(road_graph))) == 1
    plan = plan_groups(road_graph, groups)
    check_plan(road_graph, plan, groups)
    limit = -(-170 // groups)
    # One connected part cut into runs of at most the share, one run to a group.
    assert max(plan.sizes()) == limit
    assert 0 < plan.cut_links < len(road_graph.src)


@pytest.mark.parametrize("groups", range(2, 9))
def test_the_pems08_groups_are_within_one_segment(road_graph: Graph, groups: int) -> None:
    # Before runs were of near-equal length, 4 / 6 / 7 / 8 groups gave 43x3+41, 29x5+25,
    # 25x6+20 and 22x7+16.
    sizes = plan_groups(road_graph, groups).sizes()
    assert max(sizes) - min(sizes) <= 1, sizes
