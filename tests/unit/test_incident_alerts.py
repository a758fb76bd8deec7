"""The incident detector: sudden drops that the profile and the neighbours do not explain."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from trafficcast.alerts.congestion import AlertChanges
from trafficcast.alerts.incidents import (
    IncidentAlerts,
    IncidentRule,
    incident_rows,
    neighbour_matrix,
)
from trafficcast.domain.schema import ALERT_SCHEMA, LINK_SCHEMA
from trafficcast.forecast.panel import Graph

STEP = 300_000
T0 = 1_767_600_000_000
N = 5  # a road 0 -> 1 -> 2 -> 3 -> 4 (traffic flows towards 4)


def detector(rule: IncidentRule | None = None) -> IncidentAlerts:
    ids = [f"s{i}" for i in range(N)]
    links = pa.Table.from_pylist(
        [{"from_segment": ids[i], "to_segment": ids[i + 1], "weight": 1.0} for i in range(N - 1)],
        schema=LINK_SCHEMA,
    )
    g = Graph.from_links(links, pa.array(ids))
    det = IncidentAlerts(rule or IncidentRule(open_windows=2))
    det.set_neighbours(neighbour_matrix(g.upstream(), g.downstream()))
    return det


class Feed:
    """Windows closing every 5 minutes for all segments; usual speed 60 unless given."""

    def __init__(self, det: IncidentAlerts) -> None:
        self.det = det
        self.t = 0

    def close(
        self, speed: list[float] | float, usual: list[float] | float = 60.0, days: float = 10.0
    ) -> AlertChanges:
        self.t += 1
        seg = np.arange(N, dtype=np.int64)
        return self.det.observe(
            seg,
            np.full(N, T0 + self.t * STEP, np.int64),
            np.broadcast_to(np.asarray(speed, float), N).copy(),
            np.broadcast_to(np.asarray(usual, float), N).copy(),
            np.full(N, days),
            np.full(N, 65.0),
        )

    def end_ms(self) -> int:
        return T0 + self.t * STEP


def only(seg: int, value: float, rest: float = 60.0) -> list[float]:
    return [value if i == seg else rest for i in range(N)]


def steady(feed: Feed, windows: int = 6) -> None:
    for _ in range(windows):
        assert len(feed.close(60.0)) == 0


def test_a_clean_drop_opens_after_the_pending_windows() -> None:
    feed = Feed(detector())
    steady(feed)
    first = feed.close(only(2, 30.0))
    assert len(first) == 0  # one window of two pending
    first_low_start = feed.end_ms() - STEP
    second = feed.close(only(2, 30.0))
    assert second.opened.tolist() == [2]
    assert second.opened_at_ms.tolist() == [first_low_start]
    assert second.severity.tolist() == ["major"]  # half the speed gone
    assert second.low_minutes.tolist() == [10]
    assert abs(float(second.ratio[0]) - 0.5) < 1e-9


def test_a_smaller_drop_is_minor_and_one_below_the_threshold_is_nothing() -> None:
    feed = Feed(detector())
    steady(feed)
    for _ in range(4):
        assert len(feed.close(only(1, 48.0))) == 0  # 20 % < 25 %
    feed = Feed(detector())
    steady(feed)
    feed.close(only(1, 40.0))
    assert feed.close(only(1, 40.0)).severity.tolist() == ["minor"]  # a third


def test_a_drop_the_profile_expects_is_no_incident() -> None:
    """A rush hour: speed halves, and so does the usual speed for that time."""
    feed = Feed(detector())
    steady(feed)
    for _ in range(6):
        assert len(feed.close(only(2, 30.0), usual=only(2, 30.0))) == 0
    assert feed.det.open_since_ms.max() == 0


def test_a_young_profile_is_not_trusted_and_free_flow_stands_in() -> None:
    """With a day of history a profile may hold yesterday's incident: it is ignored."""
    feed = Feed(detector())
    for _ in range(6):
        feed.close(60.0, usual=60.0, days=1.0)
    feed.close(only(2, 30.0), usual=only(2, 30.0), days=1.0)
    assert feed.close(only(2, 30.0), usual=only(2, 30.0), days=1.0).opened.tolist() == [2]


def test_a_network_wide_drop_is_no_incident() -> None:
    feed = Feed(detector())
    steady(feed)
    for _ in range(6):
        assert len(feed.close(30.0)) == 0
    # The same drop shared by both neighbours only.
    feed = Feed(detector())
    steady(feed)
    for _ in range(6):
        assert len(feed.close([60.0, 32.0, 30.0, 32.0, 60.0])) == 0


def test_the_queue_upstream_of_an_incident_does_not_raise_its_own_alert() -> None:
    feed = Feed(detector())
    steady(feed)
    feed.close(only(3, 20.0))
    assert feed.close(only(3, 20.0)).opened.tolist() == [3]
    # The queue reaches the upstream segment, weaker: its downstream neighbour is worse.
    for _ in range(6):
        assert len(feed.close([60.0, 60.0, 35.0, 20.0, 60.0])) == 0


def test_hovering_at_the_threshold_does_not_flap() -> None:
    feed = Feed(detector())
    steady(feed)
    # Before it opens: in and out of the threshold never makes two windows in a row.
    for k in range(10):
        assert len(feed.close(only(2, 44.0 if k % 2 else 46.0))) == 0  # 27 %, 23 %
    feed = Feed(detector())
    steady(feed)
    feed.close(only(2, 40.0))
    assert feed.close(only(2, 40.0)).opened.tolist() == [2]
    # Once open: around the opening threshold, above the clearing one -> no change.
    for k in range(20):
        assert len(feed.close(only(2, 43.0 if k % 2 else 47.0))) == 0
    assert feed.det.open_since_ms[2] > 0


def test_recovery_resolves_and_each_episode_is_one_alert() -> None:
    feed = Feed(detector())
    steady(feed)
    opened: list[int] = []
    resolved: list[tuple[int, int]] = []

    def collect(c: AlertChanges) -> None:
        opened.extend(c.opened_at_ms.tolist())
        resolved.extend(
            zip(c.resolved_opened_at_ms.tolist(), c.resolved_at_ms.tolist(), strict=True)
        )

    for _ in range(24):  # two hours of incident: the level does not follow it
        collect(feed.close(only(2, 25.0)))
    assert len(opened) == 1
    assert resolved == []
    collect(feed.close(only(2, 58.0)))
    assert resolved == []  # one clear window of two
    collect(feed.close(only(2, 58.0)))
    assert resolved == [(opened[0], feed.end_ms())]
    steady(feed, 4)
    collect(feed.close(only(2, 25.0)))
    collect(feed.close(only(2, 25.0)))
    assert len(opened) == 2
    assert opened[1] > opened[0]
    rows = incident_rows(
        AlertChanges(
            np.array([2]),
            np.array([opened[1]]),
            np.array(["major"]),
            np.array([0.6]),
            np.array([10]),
            np.array([2]),
            np.array([resolved[0][1]]),
            np.array([opened[0]]),
            np.array(["major"]),
        ),
        [f"s{i}" for i in range(N)],
    )
    assert rows.schema == ALERT_SCHEMA
    assert rows.column("alert_id").to_pylist() == [
        f"incident:s2:{opened[1]}",
        f"incident:s2:{opened[0]}",
    ]
    assert rows.column("state").to_pylist() == ["open", "resolved"]
    assert set(rows.column("alert_type").to_pylist()) == {"incident"}


def test_an_adopted_alert_resolves_at_the_usual_speed_without_a_duplicate() -> None:
    det = detector()
    det.adopt_open(np.array([1]), np.array([T0]), np.array([True]))
    feed = Feed(det)
    for _ in range(5):
        assert len(feed.close(only(1, 25.0))) == 0  # still slow: no second alert
    feed.close(60.0)
    done = feed.close(60.0)
    assert done.resolved.tolist() == [1]
    assert done.resolved_opened_at_ms.tolist() == [T0]
    assert done.resolved_severity.tolist() == ["major"]


def test_an_alert_open_too_long_resolves_and_the_new_level_is_normal() -> None:
    feed = Feed(detector(IncidentRule(open_windows=2, max_open_windows=6)))
    steady(feed)
    feed.close(only(0, 20.0))
    assert len(feed.close(only(0, 20.0)).opened) == 1
    changes = [feed.close(only(0, 20.0)) for _ in range(12)]
    assert sum(len(c.resolved) for c in changes) == 1
    assert sum(len(c.opened) for c in changes) == 0


def test_disabled_opens_nothing_and_bad_windows_are_skipped() -> None:
    feed = Feed(detector(IncidentRule(open_windows=1, enabled=False)))
    steady(feed)
    assert len(feed.close(only(2, 20.0))) == 0
    det = detector(IncidentRule(open_windows=1))
    steady(Feed(det))
    seg = np.arange(N, dtype=np.int64)
    end = np.full(N, T0 + 99 * STEP, np.int64)
    speed = np.array([np.nan, 10.0, 10.0, 60.0, 60.0])
    quality = np.array([1.0, 0.3, 1.0, 1.0, 1.0])  # segment 1: a noisy sensor
    got = det.observe(
        seg, end, speed, np.full(N, 60.0), np.full(N, 10.0), np.full(N, 65.0), quality
    )
    assert got.opened.tolist() == [2]


def test_a_segment_that_jumps_about_needs_a_larger_drop() -> None:
    feed = Feed(detector())
    for k in range(60):  # segment 2 swings by about 10 % from window to window
        feed.close(only(2, 60.0 if k % 2 else 48.0))
    for _ in range(3):
        assert len(feed.close(only(2, 40.0))) == 0  # about 25 %, < 6 x its usual change
    feed = Feed(detector())
    for _ in range(60):
        feed.close(60.0)
    feed.close(only(2, 40.0))
    assert feed.close(only(2, 40.0)).opened.tolist() == [2]  # the same drop on a steady one


def test_without_a_neighbour_reading_there_is_nothing_to_compare_with() -> None:
    det = detector(IncidentRule(open_windows=1))
    det.set_neighbours(None)
    feed = Feed(det)
    steady(feed)
    assert len(feed.close(only(2, 20.0))) == 0
    det = detector(IncidentRule(open_windows=1, need_neighbours=False))
    det.set_neighbours(None)
    feed = Feed(det)
    steady(feed)
    assert feed.close(only(2, 20.0)).opened.tolist() == [2]
