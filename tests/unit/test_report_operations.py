"""The performance report's incidents, forecast accuracy and system parts on a small store
whose figures are known: every expected value is worked out here from the rows written,
in plain Python, not through the store's queries."""

from __future__ import annotations

import csv
import io
import math
import statistics
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from trafficcast.analytics.csv_export import csv_chunks
from trafficcast.analytics.report import performance_report, report_json
from trafficcast.domain.schema import (
    ALERT_SCHEMA,
    EVENT_SCHEMA,
    PREDICTION_SCHEMA,
    SEGMENT_SCHEMA,
    WINDOW_SCHEMA,
)
from trafficcast.quality.detector_health import HealthRules
from trafficcast.store.duckdb_store import DuckDBStore

TZ = "America/Los_Angeles"
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z, Monday 00:00 in Los Angeles
MIN = 60_000
HOUR = 60 * MIN
DAY = 24 * HOUR
# One reading an hour expected; a 3-hour gap before a detector counts as intermittent.
RULES = HealthRules(expected_interval_s=3600, max_gap_minutes=180)

# (segment, target offset from T0, horizon minutes, predicted, actual)
FORECASTS = [
    ("a", 1 * HOUR, 15, 52.0, 50.0),
    ("a", 1 * HOUR, 30, 46.0, 50.0),
    ("b", 1 * HOUR, 15, 30.0, 25.0),
    ("a", DAY + 2 * HOUR, 15, 41.0, 40.0),
    ("a", DAY + 2 * HOUR, 30, 43.0, 40.0),
    ("a", DAY + 3 * HOUR, 15, 26.0, 20.0),
]
# (id, type, severity, segment, opened offset, minutes to acknowledge, minutes to resolve)
ALERTS = [
    ("i1", "incident", "major", "a", 1 * HOUR, 10, 40),
    ("c1", "congestion", "minor", "a", 2 * HOUR, None, 20),
    ("i2", "incident", "minor", "b", 5 * HOUR, None, None),
    ("s1", "system", "major", None, DAY + HOUR, 30, None),
    ("x1", "experimental", "minor", "a", DAY + 3 * HOUR, None, None),
    ("early", "incident", "major", "a", -HOUR, None, None),  # before the range
    ("late", "incident", "major", "a", 2 * DAY, None, None),  # at its end: outside
]


def _store(tmp_path: Path) -> DuckDBStore:
    store = DuckDBStore(tmp_path / "store.duckdb")
    store.init_schema()
    store.upsert_segments(
        pa.Table.from_pylist(
            [
                {"segment_id": s, "name": s, "length_miles": 1.0, "free_flow_speed": 60.0}
                for s in ("a", "b")
            ],
            schema=SEGMENT_SCHEMA,
        )
    )
    windows = {(seg, T0 + t): actual for seg, t, _, _, actual in FORECASTS}
    store.insert_windows(
        pa.Table.from_pylist(
            [
                {
                    "segment_id": seg,
                    "window_minutes": 5,
                    "window_start": end - 5 * MIN,
                    "window_end": end,
                    "mean_speed": speed,
                    "harmonic_mean_speed": speed,
                    "volume": 10.0,
                    "occupancy": 0.1,
                    "count": 10,
                    "quality": 1.0,
                    "level_of_service": "C",
                    "updated_at": end,
                }
                for (seg, end), speed in windows.items()
            ],
            schema=_ms_schema(WINDOW_SCHEMA, ("window_start", "window_end", "updated_at")),
        ).cast(WINDOW_SCHEMA)
    )
    store.insert_predictions(
        pa.Table.from_pylist(
            [
                {
                    "prediction_id": f"{seg}@{T0 + t - h * MIN}/m",
                    "segment_id": seg,
                    "issued_at": T0 + t - h * MIN,
                    "horizon_minutes": h,
                    "target_time": T0 + t,
                    "predicted_speed": predicted,
                    "speed_lower": predicted - 5,
                    "speed_upper": predicted + 5,
                    "predicted_volume": None,
                    "volume_lower": None,
                    "volume_upper": None,
                    "confidence": 0.8,
                    "model_version": "m",
                }
                for seg, t, h, predicted, _ in FORECASTS
            ],
            schema=_ms_schema(PREDICTION_SCHEMA, ("issued_at", "target_time")),
        ).cast(PREDICTION_SCHEMA)
    )
    store.upsert_alerts(
        pa.Table.from_pylist(
            [
                {
                    "alert_id": aid,
                    "alert_type": kind,
                    "severity": severity,
                    "segment_id": seg,
                    "state": "resolved" if (resolve is not None and ack is None) else "open",
                    "opened_at": T0 + t,
                    "resolved_at": T0 + t + resolve * MIN
                    if resolve is not None and ack is None
                    else None,
                    "message": "m",
                }
                for aid, kind, severity, seg, t, ack, resolve in ALERTS
            ],
            schema=_ms_schema(ALERT_SCHEMA, ("opened_at", "resolved_at")),
        ).cast(ALERT_SCHEMA)
    )
    for aid, _, _, _, t, ack, resolve in ALERTS:
        if ack is not None:  # an operator acknowledges, then (maybe) resolves
            assert store.update_alert(aid, "acknowledged", None, T0 + t + ack * MIN).changed
            if resolve is not None:
                assert store.update_alert(aid, "resolved", None, T0 + t + resolve * MIN).changed
    # Readings: "a" hourly on day 1 and hourly plus six extra on day 2; "b" the first 12
    # hours of day 1 only.
    times = [("a", T0 + h * HOUR) for h in range(24)]
    times += [("a", T0 + DAY + h * HOUR) for h in range(24)]
    times += [("a", T0 + DAY + h * HOUR + 30 * MIN) for h in range(6)]
    times += [("b", T0 + h * HOUR) for h in range(12)]
    store.write_events(
        pa.Table.from_pylist(
            [
                {
                    "event_id": f"e{i}",
                    "segment_id": seg,
                    "timestamp": t,
                    "speed": 40.0 + i % 7,
                    "volume": 10.0,
                    "occupancy": None,
                    "latitude": 34.0,
                    "longitude": -118.0,
                    "source": "test",
                    "quality_score": 1.0,
                }
                for i, (seg, t) in enumerate(times)
            ],
            schema=_ms_schema(EVENT_SCHEMA, ("timestamp",)),
        ).cast(EVENT_SCHEMA)
    )
    return store


def _ms_schema(schema: pa.Schema, names: tuple[str, ...]) -> pa.Schema:
    """`schema` with the named time columns as epoch-ms integers, to build rows from ints."""
    for name in names:
        i = schema.get_field_index(name)
        schema = schema.set(i, pa.field(name, pa.int64()))
    return schema


def _report(store: DuckDBStore, segment_ids: tuple[str, ...] = ()) -> dict[str, Any]:
    report = performance_report(
        store, T0, T0 + 2 * DAY, "day", TZ, segment_ids, health_rules=RULES, now_ms=T0 + 9 * DAY
    )
    return report_json(report)


def _scores(rows: list[tuple[float, float]]) -> dict[str, Any]:
    errors = [p - a for p, a in rows]
    return {
        "n": len(rows),
        "speed_mae": pytest.approx(sum(abs(e) for e in errors) / len(rows), rel=1e-12),
        "speed_rmse": pytest.approx(math.sqrt(sum(e * e for e in errors) / len(rows)), rel=1e-12),
        "speed_mape": pytest.approx(
            sum(100 * abs(p - a) / a for p, a in rows) / len(rows), rel=1e-12
        ),
        "speed_coverage": pytest.approx(
            sum(p - 5 <= a <= p + 5 for p, a in rows) / len(rows), rel=1e-12
        ),
    }


def test_accuracy_per_period_and_horizon_equals_a_plain_recount(tmp_path: Path) -> None:
    body = _report(_store(tmp_path))
    acc = body["accuracy"]
    assert acc["bucket_minutes"] == 60
    assert [p["start"] for p in acc["periods"]] == ["2026-01-05T08:00:00Z", "2026-01-06T08:00:00Z"]

    def pick(day: int | None = None, horizon: int | None = None) -> list[tuple[float, float]]:
        return [
            (p, a)
            for _, t, h, p, a in FORECASTS
            if (day is None or t // DAY == day) and (horizon is None or h == horizon)
        ]

    assert acc["totals"] == _scores(pick())
    assert acc["by_horizon"] == [{"horizon_minutes": h, **_scores(pick(None, h))} for h in (15, 30)]
    for day, period in enumerate(acc["periods"]):
        assert {k: v for k, v in period.items() if k not in ("start", "end", "by_horizon")} == (
            _scores(pick(day))
        )
        assert period["by_horizon"] == [
            {"horizon_minutes": h, **_scores(pick(day, h))} for h in (15, 30)
        ]
    # Figures worked by hand: day 2 errors +1 and +6 at 15 min (actuals 40 and 20).
    assert acc["periods"][1]["by_horizon"][0]["speed_mae"] == pytest.approx(3.5)
    assert acc["periods"][1]["by_horizon"][0]["speed_mape"] == pytest.approx(16.25)
    only_a = _report(_store(tmp_path / "a"), ("a",))["accuracy"]
    assert only_a["totals"]["n"] == 5
    assert only_a["totals"]["speed_mae"] == pytest.approx((2 + 4 + 1 + 3 + 6) / 5)


def test_incidents_count_alerts_opened_by_type_severity_and_median_times(tmp_path: Path) -> None:
    body = _report(_store(tmp_path))
    inc = body["incidents"]
    assert inc["types"] == [
        "congestion",
        "incident",
        "predicted_congestion",
        "forecast_accuracy",
        "system",
        "experimental",
    ]
    assert inc["severities"] == ["minor", "major"]
    in_range = [a for a in ALERTS if 0 <= a[4] < 2 * DAY]

    def expect(rows: list[tuple[Any, ...]]) -> dict[str, Any]:
        acks = [a[5] for a in rows if a[5] is not None]
        resolves = [a[6] for a in rows if a[6] is not None]
        return {
            "opened": len(rows),
            "by_type": {t: sum(a[1] == t for a in rows) for t in inc["types"]},
            "by_severity": {s: sum(a[2] == s for a in rows) for s in ("minor", "major")},
            "acknowledged": len(acks),
            "resolved": len(resolves),
            "median_minutes_to_acknowledge": statistics.median(acks) if acks else None,
            "median_minutes_to_resolve": statistics.median(resolves) if resolves else None,
        }

    assert inc["totals"] == expect(in_range)
    for day, period in enumerate(inc["periods"]):
        got = {k: v for k, v in period.items() if k not in ("start", "end")}
        assert got == expect([a for a in in_range if a[4] // DAY == day])
    assert inc["totals"]["median_minutes_to_acknowledge"] == 20  # 10 and 30
    assert inc["periods"][0]["median_minutes_to_resolve"] == 30  # 40 and 20
    only_a = _report(_store(tmp_path / "a"), ("a",))["incidents"]
    assert [p["opened"] for p in only_a["periods"]] == [2, 1]  # no system alert, no "b"


def test_system_counts_windows_readings_health_and_forecast_issues(tmp_path: Path) -> None:
    store = _store(tmp_path)
    body = _report(store)
    system = body["system"]
    assert system["detector_interval_s"] == 3600
    day1, day2 = (
        {k: v for k, v in p.items() if k not in ("start", "end")} for p in system["periods"]
    )
    # Day 1: a 24 of 24 readings (good), b 12 of 24 (insufficient data); 2 windows;
    # issues: a at 00:45 and 00:30, b at 00:45.
    assert day1 == {
        "windows_closed": 2,
        "detector_days": 2,
        "healthy_detector_days": 1,
        "healthy_share": 0.5,
        "samples_received": 36,
        "samples_expected": 48,
        "sample_share": 36 / 48,
        "forecast_issues": 3,
    }
    # Day 2: a 30 readings, counted as the 24 expected; b none.
    assert day2 == {
        "windows_closed": 2,
        "detector_days": 2,
        "healthy_detector_days": 1,
        "healthy_share": 0.5,
        "samples_received": 30,
        "samples_expected": 48,
        "sample_share": 24 / 48,
        "forecast_issues": 3,
    }
    assert system["totals"]["sample_share"] == 60 / 96
    assert system["totals"]["samples_received"] == 66
    # A day still under way expects readings only up to now.
    halfway = performance_report(
        store, T0, T0 + 2 * DAY, "day", TZ, health_rules=RULES, now_ms=T0 + DAY + 12 * HOUR
    )
    second = report_json(halfway)["system"]["periods"][1]
    assert (second["samples_expected"], second["samples_received"]) == (24, 18)


def test_csv_carries_the_new_parts_exactly(tmp_path: Path) -> None:
    body = _report(_store(tmp_path))
    rows = list(csv.DictReader(io.StringIO("".join(csv_chunks(body)))))

    def scoped(scope: str) -> list[dict[str, str]]:
        return [r for r in rows if r["scope"] == scope]

    def num(text: str) -> float | None:
        return None if text == "" else float(text)

    periods = scoped("incidents_period")
    assert [int(r["alerts_opened"]) for r in periods] == [2 + 1, 2]
    assert [int(r["alerts_type_experimental"]) for r in periods] == [0, 1]
    assert [num(r["median_minutes_to_acknowledge"]) for r in periods] == [10, 30]
    assert int(scoped("incidents_total")[0]["alerts_severity_major"]) == 2
    horizon_rows = scoped("accuracy_period_horizon")
    want = [(p["start"], h) for p in body["accuracy"]["periods"] for h in p["by_horizon"]]
    assert len(horizon_rows) == len(want) == 4
    for row, (start, h) in zip(horizon_rows, want, strict=True):
        assert (row["start"], int(row["horizon_minutes"])) == (start, h["horizon_minutes"])
        assert int(row["forecasts_scored"]) == h["n"]
        for name in ("speed_mae", "speed_rmse", "speed_mape", "speed_coverage"):
            assert num(row[name]) == h[name]
    assert len(scoped("accuracy_horizon")) == 2
    assert (
        num(scoped("accuracy_total")[0]["speed_rmse"]) == body["accuracy"]["totals"]["speed_rmse"]
    )
    system = scoped("system_period")
    assert [num(r["sample_share"]) for r in system] == [0.75, 0.5]
    assert int(scoped("system_total")[0]["forecast_issues"]) == 6
    # The existing rows come first, unchanged in shape.
    assert [r["scope"] for r in rows[:3]] == ["total", "period", "period"]


def test_old_local_mean_time_edges_and_an_empty_store(tmp_path: Path) -> None:
    store = DuckDBStore(tmp_path / "empty.duckdb")
    store.init_schema()
    start = -3_786_825_600_000  # 1850-01-01Z: Los Angeles kept local mean time, -7:52:58
    body = report_json(performance_report(store, start, start + 3 * DAY, "day", TZ))
    assert body["periods"][0]["start"] == "1849-12-31T07:52:58Z"  # local midnight
    assert body["accuracy"]["bucket_minutes"] == 1
    assert body["accuracy"]["totals"] == {
        "n": 0,
        "speed_mae": None,
        "speed_rmse": None,
        "speed_mape": None,
        "speed_coverage": None,
    }
    assert body["incidents"]["totals"]["opened"] == 0
    assert body["system"]["totals"]["detector_days"] == 0  # no segments
    assert body["system"]["totals"]["sample_share"] is None
