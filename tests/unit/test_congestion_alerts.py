"""Congestion alerts: open after a sustained drop, resolve with hysteresis, never flap."""

from __future__ import annotations

import numpy as np

from trafficcast.alerts.congestion import CongestionAlerts, CongestionRule

W = 5 * 60_000
T0 = 1_767_600_000_000


def run(speeds: list[float], free_flow: float = 60.0) -> list[tuple[str, int]]:
    """Feed one segment's windows; return ('open'|'resolve', window index) events."""
    engine = CongestionAlerts(CongestionRule())
    out = []
    for i, v in enumerate(speeds):
        c = engine.observe(
            np.array([0]), np.array([T0 + (i + 1) * W]), np.array([v]), np.array([free_flow])
        )
        out += [("open", i)] * len(c.opened) + [("resolve", i)] * len(c.resolved)
    return out


def test_opens_after_three_low_windows_and_dates_from_the_first() -> None:
    engine = CongestionAlerts()
    changes = None
    for i in range(3):
        changes = engine.observe(
            np.array([4]), np.array([T0 + (i + 1) * W]), np.array([20.0]), np.array([60.0])
        )
    assert changes is not None
    assert changes.opened.tolist() == [4]
    assert changes.opened_at_ms.tolist() == [T0]
    assert changes.severity.tolist() == ["minor"]  # 33 % of free flow: not below 30 %


def test_two_low_windows_are_not_enough() -> None:
    assert run([20, 20, 50, 20, 20, 50]) == []


def test_resolves_only_after_two_recovered_windows() -> None:
    # 50 mph is 83 % of free flow (recovered); 30 mph at 50 % breaks the recovery run.
    assert run([20, 20, 20, 50, 30, 50, 50]) == [("open", 2), ("resolve", 6)]


def test_hovering_at_the_threshold_does_not_flap() -> None:
    # Between 50 % and 65 % of free flow: neither opens nor resolves.
    assert run([20, 20, 20, 35, 31, 36, 33, 35, 34]) == [("open", 2)]


def test_major_severity_and_many_segments() -> None:
    engine = CongestionAlerts()
    segs = np.array([0, 1, 2])
    for i in range(3):
        c = engine.observe(
            segs,
            np.full(3, T0 + (i + 1) * W),
            np.array([10.0, 59.0, np.nan]),
            np.array([60.0, 60.0, 60.0]),
        )
    assert c.opened.tolist() == [0]
    assert c.severity.tolist() == ["major"]


def step(
    engine: CongestionAlerts,
    i: int,
    speeds: list[float],
    eligible: list[bool] | None = None,
) -> tuple[list[int], list[int]]:
    """One window close (window i) for segments 0..n-1 at free flow 60; (opened, resolved)."""
    n = len(speeds)
    c = engine.observe(
        np.arange(n),
        np.full(n, T0 + (i + 1) * W),
        np.array(speeds, dtype=np.float64),
        np.full(n, 60.0),
        None if eligible is None else np.array(eligible),
    )
    return c.opened.tolist(), c.resolved.tolist()


def test_a_rule_change_applies_from_the_next_window_and_keeps_the_runs() -> None:
    engine = CongestionAlerts()
    assert step(engine, 0, [25.0]) == ([], [])  # 42 % of free flow: low (below 50 %)
    assert step(engine, 1, [25.0]) == ([], [])
    # Now it needs 4 low windows: the two counted so far still count.
    engine.set_rule(CongestionRule(open_windows=4))
    assert step(engine, 2, [25.0]) == ([], [])
    c = engine.observe(np.array([0]), np.array([T0 + 4 * W]), np.array([25.0]), np.array([60.0]))
    assert c.opened.tolist() == [0]
    assert c.opened_at_ms.tolist() == [T0]  # from the first low window
    assert c.low_minutes.tolist() == [20]


def test_a_stricter_threshold_stops_counting_windows_that_no_longer_qualify() -> None:
    engine = CongestionAlerts()
    step(engine, 0, [25.0])
    engine.set_rule(CongestionRule(open_ratio=0.4))  # 25 mph is 42 %: no longer low
    assert step(engine, 1, [25.0]) == ([], [])
    assert engine.low_run.tolist() == [0]


def test_disabled_opens_nothing_but_open_alerts_still_resolve() -> None:
    engine = CongestionAlerts()
    for i in range(3):
        step(engine, i, [20.0, 60.0])
    engine.set_rule(CongestionRule(enabled=False))
    for i in range(3, 6):
        assert step(engine, i, [20.0, 20.0]) == ([], [])
    assert step(engine, 6, [60.0, 20.0]) == ([], [])
    assert step(engine, 7, [60.0, 20.0]) == ([], [0])
    # Enabled again: segment 1, low all along, opens at once, dated from its first low window.
    engine.set_rule(CongestionRule())
    c = engine.observe(np.array([1]), np.array([T0 + 9 * W]), np.array([20.0]), np.array([60.0]))
    assert c.opened.tolist() == [1]
    assert c.opened_at_ms.tolist() == [T0 + 3 * W]


def test_only_segments_in_scope_open_alerts() -> None:
    engine = CongestionAlerts()
    opened: list[int] = []
    for i in range(3):
        opened += step(engine, i, [20.0, 20.0], eligible=[False, True])[0]
    assert opened == [1]


def test_a_resolution_keeps_the_severity_it_opened_with() -> None:
    engine = CongestionAlerts()
    for i in range(3):
        c = engine.observe(
            np.array([0]), np.array([T0 + (i + 1) * W]), np.array([10.0]), np.array([60.0])
        )
    assert c.severity.tolist() == ["major"]
    for i in range(3, 5):
        c = engine.observe(
            np.array([0]), np.array([T0 + (i + 1) * W]), np.array([60.0]), np.array([60.0])
        )
    assert c.resolved.tolist() == [0]
    assert c.resolved_severity.tolist() == ["major"]
    assert c.resolved_opened_at_ms.tolist() == [T0]


def test_adopted_alerts_resolve_and_block_a_duplicate() -> None:
    engine = CongestionAlerts()
    engine.adopt_open(np.array([2]), np.array([T0 - W]), np.array([True]))
    # Still congested after a restart: no second alert for segment 2.
    for i in range(4):
        assert step(engine, i, [60.0, 60.0, 20.0]) == ([], [])
    assert step(engine, 4, [60.0, 60.0, 60.0]) == ([], [])
    c = engine.observe(np.array([2]), np.array([T0 + 6 * W]), np.array([60.0]), np.array([60.0]))
    assert c.resolved.tolist() == [2]
    assert c.resolved_opened_at_ms.tolist() == [T0 - W]
    assert c.resolved_severity.tolist() == ["major"]
