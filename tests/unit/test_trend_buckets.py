"""The trend endpoint's pure parts: id parsing, range defaults and adding days into buckets."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from trafficcast.api.errors import ApiError
from trafficcast.api.routes.analytics_trend import (
    MAX_BUCKETS,
    bucket_totals,
    parse_segment_ids,
    resolve_edges,
)
from trafficcast.domain.periods import DAY_MS
from trafficcast.domain.schema import DAILY_SUMMARY_SCHEMA


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def field_of(exc: pytest.ExceptionInfo[ApiError]) -> str:
    assert exc.value.status == 422
    return str(exc.value.details[0]["field"])


def test_segment_ids_split_dedupe_and_cap() -> None:
    assert parse_segment_ids(["a, b", "b", " ", "c,,a"]) == ("a", "b", "c")
    assert parse_segment_ids(None) == ()
    assert len(parse_segment_ids([",".join(str(i) for i in range(10_000))])) == 10_000
    with pytest.raises(ApiError) as many:
        parse_segment_ids([",".join(str(i) for i in range(10_001))])
    assert field_of(many) == "segment_ids"
    with pytest.raises(ApiError) as long:
        parse_segment_ids(["x" * 129])
    assert field_of(long) == "segment_ids"


def test_defaults_follow_the_newest_data_then_the_clock() -> None:
    newest = ms(2026, 11, 26, 9)  # a Thursday
    days = resolve_edges("day", None, None, newest, now=0)
    assert (days[0], days[-1], len(days) - 1) == (ms(2026, 11, 13), ms(2026, 11, 27), 14)
    weeks = resolve_edges("week", None, None, newest, now=0)
    assert (weeks[0], weeks[-1]) == (ms(2026, 9, 7), ms(2026, 11, 30))
    months = resolve_edges("month", None, None, None, now=newest)
    assert (months[0], months[-1]) == (ms(2025, 12, 1), ms(2026, 12, 1))
    # A start after the newest data still gets its own bucket.
    late = resolve_edges("day", ms(2027, 1, 1), None, newest, now=0)
    assert late == [ms(2027, 1, 1), ms(2027, 1, 2)]


def test_range_errors_name_their_field() -> None:
    with pytest.raises(ApiError) as backwards:
        resolve_edges("day", ms(2026, 2, 1), ms(2026, 1, 1), None, now=0)
    assert field_of(backwards) == "end_date"
    with pytest.raises(ApiError) as too_many:
        resolve_edges("week", ms(2000, 1, 1), ms(2026, 1, 1), None, now=0)
    assert field_of(too_many) == "start_date"
    assert len(resolve_edges("day", 0, MAX_BUCKETS * DAY_MS, None, now=0)) == MAX_BUCKETS + 1
    year_9999 = ms(9999, 12, 31)
    with pytest.raises(ApiError) as late_start:
        resolve_edges("day", year_9999, None, None, now=0)  # its bucket ends in year 10000
    assert field_of(late_start) == "start_date"
    with pytest.raises(ApiError) as late_end:
        resolve_edges("month", ms(9999, 11, 1), year_9999, None, now=0)
    assert field_of(late_end) == "end_date"
    assert resolve_edges("day", None, ms(1, 1, 1), None, now=0) == [ms(1, 1, 1), ms(1, 1, 2)]


def days_table(rows: list[tuple[int, int, float | None, int, float, int, float, int]]) -> pa.Table:
    names = DAILY_SUMMARY_SCHEMA.names
    columns = list(zip(*rows, strict=True))
    return pa.Table.from_arrays(
        [
            pa.array(list(c), pa.int64()).cast(f.type) if i == 0 else pa.array(list(c), f.type)
            for i, (c, f) in enumerate(zip(columns, DAILY_SUMMARY_SCHEMA, strict=True))
        ],
        names=names,
    )


def test_days_add_into_buckets_with_weighted_averages() -> None:
    edges = [ms(2026, 1, 5), ms(2026, 1, 12), ms(2026, 1, 19), ms(2026, 1, 26)]
    days = days_table(
        [
            # day, events, speed sum, n, volume sum, n, congestion h, incidents
            (ms(2026, 1, 5), 10, 100.0, 2, 30.0, 2, 0.5, 1),
            (ms(2026, 1, 11), 5, 20.0, 2, 10.0, 1, 0.25, 0),
            (ms(2026, 1, 20), 0, None, 0, 0.0, 0, 0.0, 2),  # incidents only
        ]
    )
    first, second, third = bucket_totals(days, edges)
    assert first == {
        "start": "2026-01-05T00:00:00Z",
        "end": "2026-01-12T00:00:00Z",
        "total_events": 15,
        "avg_speed": 30.0,  # (100 + 20) / 4, not the mean of the daily means
        "avg_volume": pytest.approx(40.0 / 3),
        "congestion_hours": 0.75,
        "incident_count": 1,
    }
    assert (second["total_events"], second["avg_speed"], second["incident_count"]) == (0, None, 0)
    assert (third["avg_speed"], third["avg_volume"], third["incident_count"]) == (None, None, 2)


def test_a_nan_speed_makes_its_bucket_average_unknown_not_zero() -> None:
    edges = [ms(2026, 1, 1), ms(2026, 1, 2), ms(2026, 1, 3)]
    days = days_table(
        [
            (ms(2026, 1, 1), 3, math.nan, 3, 9.0, 3, 0.0, 0),
            (ms(2026, 1, 2), 3, 90.0, 3, 9.0, 3, 0.0, 0),
        ]
    )
    first, second = bucket_totals(days, edges)
    assert first["avg_speed"] is None
    assert first["avg_volume"] == 3.0
    assert second["avg_speed"] == 30.0


def test_no_days_gives_empty_buckets() -> None:
    edges = [ms(2026, 1, 1), ms(2026, 2, 1)]
    (only,) = bucket_totals(DAILY_SUMMARY_SCHEMA.empty_table(), edges)
    assert only["total_events"] == 0
    assert only["avg_speed"] is None
