"""Forecast-accuracy alerts (alerts/accuracy.py): per horizon, network-level, held for a
duration, hysteresis on resolving, severity, the validation-MAE bound."""

from __future__ import annotations

import numpy as np

from trafficcast.alerts.accuracy import (
    AccuracyAlerts,
    AccuracyRule,
    accuracy_rows,
    horizon_of,
    reference_mae,
)

H = np.array([15, 30, 60], dtype=np.int64)
MIN = 60_000
T0 = 1_767_600_000_000


def at(minutes: int) -> int:
    return T0 + minutes * MIN


def mae(*values: float) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def test_opens_after_the_hold_once_per_horizon_and_resolves_with_hysteresis() -> None:
    e = AccuracyAlerts(H, AccuracyRule(mae_mph=8.0, hold_minutes=30, resolve_minutes=15))
    for m in range(0, 30, 5):  # above the bound on 30 min only, not yet for 30 minutes
        assert len(e.observe(at(m), mae(5, 10, 6))) == 0
    c = e.observe(at(30), mae(5, 10, 6))
    assert c.opened.tolist() == [1]
    assert c.opened_at_ms.tolist() == [at(0)]  # since the error first rose
    assert c.severity.tolist() == ["minor"]
    row = accuracy_rows(c, H).to_pylist()[0]
    assert row["alert_id"] == f"forecast_accuracy:30min:{at(0)}"
    assert row["segment_id"] is None
    assert "live MAE 10.0 mph above the bound 8.0 mph" in row["message"]
    assert horizon_of(row["alert_id"]) == 30
    for m in range(35, 80, 5):  # hovering at the bound (above / just below): stays open
        assert len(e.observe(at(m), mae(5, 8.1 if m % 10 else 7.5, 6))) == 0
    # At or below 0.8 x bound (6.4) for 15 minutes resolves it.
    assert len(e.observe(at(80), mae(5, 6.0, 6))) == 0
    assert len(e.observe(at(90), mae(5, 6.0, 6))) == 0
    c = e.observe(at(95), mae(5, 6.0, 6))
    assert c.resolved.tolist() == [1]
    assert c.resolved_opened_at_ms.tolist() == [at(0)]
    assert accuracy_rows(c, H).to_pylist()[0]["state"] == "resolved"


def test_does_not_flap_when_the_error_hovers_at_the_bound() -> None:
    e = AccuracyAlerts(H, AccuracyRule(mae_mph=8.0, hold_minutes=15))
    for m in range(0, 200, 5):  # above, below, above...: never held for 15 minutes
        assert len(e.observe(at(m), mae(8.2 if m % 10 else 7.9, 1, 1))) == 0


def test_major_far_above_and_unknown_changes_nothing() -> None:
    e = AccuracyAlerts(H, AccuracyRule(mae_mph=8.0, hold_minutes=5, major_factor=1.5))
    e.observe(at(0), mae(13, np.nan, 9))
    c = e.observe(at(5), mae(13, np.nan, 9))
    assert c.opened.tolist() == [0, 2]
    assert c.severity.tolist() == ["major", "minor"]
    # Unknown (not scored yet, or warming up): neither opens nor resolves anything.
    assert len(e.observe(at(60), mae(np.nan, np.nan, np.nan))) == 0
    assert e.open_since_ms.tolist() == [at(0), 0, at(0)]


def test_the_bound_follows_the_models_validation_mae_when_known() -> None:
    rule = AccuracyRule(mae_mph=8.0, reference_ratio=2.0, hold_minutes=5)
    e = AccuracyAlerts(H, rule)
    ref = reference_mae({"validation": {"speed": {"mae": {"15": 2.0, "60": 5.5}}}}, H)
    assert np.array_equal(ref, [2.0, np.nan, 5.5], equal_nan=True)
    assert e.bounds(ref).tolist() == [4.0, 8.0, 11.0]
    e.observe(at(0), mae(5, 5, 10), ref)
    assert e.observe(at(5), mae(5, 5, 10), ref).opened.tolist() == [0]  # 5 > 2 x 2.0
    assert reference_mae({"validation": "odd"}, H).tolist() != [1, 2, 3]
    assert np.isnan(reference_mae({}, H)).all()


def test_disabled_opens_nothing_and_adopted_alerts_resolve() -> None:
    e = AccuracyAlerts(H, AccuracyRule(enabled=False, hold_minutes=5, resolve_minutes=5))
    e.observe(at(0), mae(50, 50, 50))
    assert len(e.observe(at(10), mae(50, 50, 50))) == 0
    e.adopt_open(60, at(-100), True)
    e.observe(at(15), mae(1, 1, 1))
    c = e.observe(at(20), mae(1, 1, 1))
    assert c.resolved.tolist() == [2]
    assert c.resolved_severity.tolist() == ["major"]
    assert horizon_of("forecast_accuracy:xmin:1") is None
