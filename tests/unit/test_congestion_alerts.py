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
