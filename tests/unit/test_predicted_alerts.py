"""Predicted-congestion alerts (alerts/predicted.py): hold, hysteresis, one alert per
segment, resolution by the forecast or by the congestion arriving, severity."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trafficcast.alerts.predicted import PredictedAlerts, PredictedRule, predicted_rows

H = np.array([15, 30, 45, 60, 90], dtype=np.int64)
FREE = 60.0
MIN = 60_000


def issue(
    engine: PredictedAlerts,
    k: int,
    ratios: list[list[float]],
    congested: list[bool] | None = None,
    eligible: list[bool] | None = None,
) -> object:
    """Issue k (every 5 minutes): one row of ratios (of free flow, per horizon) a segment."""
    speed = np.array(ratios) * FREE
    n = len(ratios)
    return engine.observe(
        np.arange(n, dtype=np.int64),
        1_000 * MIN + k * 5 * MIN,
        H,
        speed,
        np.full(n, FREE),
        None if eligible is None else np.array(eligible),
        None if congested is None else np.array(congested),
    )


def fine(low_at: int | None = None, value: float = 0.4) -> list[float]:
    row = [0.9] * len(H)
    if low_at is not None:
        row[low_at] = value
    return row


def opened(changes: object) -> npt.NDArray[np.int64]:
    return changes.opened  # type: ignore[attr-defined, no-any-return]


def resolved(changes: object) -> npt.NDArray[np.int64]:
    return changes.resolved  # type: ignore[attr-defined, no-any-return]


def test_opens_after_the_hold_with_the_worst_horizon_and_its_speed() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=2))
    assert len(opened(issue(e, 0, [fine(1, 0.4), fine()]))) == 0  # one issue: pending
    c = issue(e, 1, [fine(2, 0.35), fine()])
    assert opened(c).tolist() == [0]
    assert c.horizon_min.tolist() == [45]  # type: ignore[attr-defined]
    assert c.speed.tolist() == [0.35 * FREE]  # type: ignore[attr-defined]
    assert c.opened_at_ms.tolist() == [1_000 * MIN]  # type: ignore[attr-defined]
    assert c.severity.tolist() == ["minor"]  # type: ignore[attr-defined]
    rows = predicted_rows(c, ["s0", "s1"]).to_pylist()  # type: ignore[arg-type]
    assert rows[0]["alert_id"] == f"predicted_congestion:s0:{1_000 * MIN}"
    assert rows[0]["message"] == "forecast 21 mph (35% of free flow) in 45 min"
    # Still low: no second alert for the same segment.
    for k in range(2, 6):
        assert len(opened(issue(e, k, [fine(0, 0.3), fine()]))) == 0


def test_horizons_beyond_the_rule_are_not_judged() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=1, max_horizon_min=60))
    assert len(opened(issue(e, 0, [fine(4, 0.1)]))) == 0  # 90 min out
    assert opened(issue(e, 1, [fine(3, 0.1)])).tolist() == [0]  # 60 min: judged


def test_does_not_flap_at_the_threshold() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=2, resolve_cycles=2))
    # Alternating just below and just above open_ratio never holds for two issues.
    for k in range(10):
        c = issue(e, k, [fine(0, 0.51 if k % 2 else 0.49)])
        assert len(c) == 0
    # Once open, hovering around open_ratio (below resolve_ratio) keeps it open.
    issue(e, 10, [fine(0, 0.4)])
    assert opened(issue(e, 11, [fine(0, 0.4)])).tolist() == [0]
    for k in range(12, 20):
        assert len(issue(e, k, [fine(0, 0.49 if k % 2 else 0.55)])) == 0
    # One issue clear is not enough; two are.
    assert len(resolved(issue(e, 20, [fine()]))) == 0
    assert len(resolved(issue(e, 21, [fine(0, 0.6)]))) == 0  # below resolve: run broken
    assert len(resolved(issue(e, 22, [fine()]))) == 0
    c = issue(e, 23, [fine()])
    assert resolved(c).tolist() == [0]
    assert c.resolved_opened_at_ms.tolist() == [1_000 * MIN + 10 * 5 * MIN]  # type: ignore[attr-defined]
    assert c.resolved_by_congestion.tolist() == [False]  # type: ignore[attr-defined]


def test_resolves_when_the_congestion_arrives_and_stays_quiet_while_it_lasts() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=1))
    assert opened(issue(e, 0, [fine(0, 0.3), fine(0, 0.3)])).tolist() == [0, 1]
    c = issue(e, 1, [fine(0, 0.3), fine(0, 0.3)], congested=[True, False])
    assert resolved(c).tolist() == [0]
    assert c.resolved_by_congestion.tolist() == [True]  # type: ignore[attr-defined]
    rows = predicted_rows(c, ["s0", "s1"]).to_pylist()  # type: ignore[arg-type]
    assert rows[0]["state"] == "resolved"
    assert "congestion arrived" in rows[0]["message"]
    for k in range(2, 5):  # congested: no new prediction alert
        assert len(issue(e, k, [fine(0, 0.3), fine(0, 0.3)], congested=[True, False])) == 0
    # The congestion ends, the forecast is still low: a fresh run must hold again.
    assert opened(issue(e, 5, [fine(0, 0.3), fine(0, 0.3)])).tolist() == [0]


def test_severity_scope_and_disabled() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=1, major_ratio=0.3))
    c = issue(e, 0, [fine(0, 0.2), fine(0, 0.45), fine(0, 0.2)], eligible=[True, True, False])
    assert opened(c).tolist() == [0, 1]
    assert c.severity.tolist() == ["major", "minor"]  # type: ignore[attr-defined]
    e.set_rule(PredictedRule(open_cycles=1, enabled=False))
    assert len(opened(issue(e, 1, [fine(), fine(), fine(0, 0.2)]))) == 0
    # Disabled: open alerts still resolve (issue 1 was the first clear one).
    assert sorted(resolved(issue(e, 2, [fine(), fine(), fine()])).tolist()) == [0, 1]


def test_unknown_free_flow_or_forecast_changes_nothing_and_adopted_alerts_resolve() -> None:
    e = PredictedAlerts(PredictedRule(open_cycles=1))
    c = e.observe(
        np.array([0, 1], np.int64),
        0,
        H,
        np.array([[np.nan] * 5, [10.0] * 5]),
        np.array([FREE, np.nan]),
    )
    assert len(c) == 0
    e.adopt_open(np.array([3], np.int64), np.array([42], np.int64), np.array([True]))
    e.observe(np.array([3], np.int64), 5 * MIN, H, np.full((1, 5), FREE), np.array([FREE]))
    c = e.observe(np.array([3], np.int64), 10 * MIN, H, np.full((1, 5), FREE), np.array([FREE]))
    assert resolved(c).tolist() == [3]
    assert c.resolved_severity.tolist() == ["major"]  # type: ignore[attr-defined]
    assert c.resolved_opened_at_ms.tolist() == [42]  # type: ignore[attr-defined]
