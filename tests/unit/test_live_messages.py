"""Live messages built column by column read as the documented JSON."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from trafficcast.domain.schema import PREDICTION_SCHEMA, TIMESTAMP
from trafficcast.live.messages import prediction_messages, table_messages

T0 = 1_767_600_000_000


def ts(values: list[int]) -> pa.Array:
    return pa.array(values, pa.int64()).cast(TIMESTAMP)


def test_rows_become_messages_with_iso_times_and_null_for_missing_numbers() -> None:
    table = pa.table(
        {
            "segment_id": ["a", "b", "c"],
            "window_start": ts([T0, T0, T0 + 300_000]),
            "mean_speed": [61.5, float("nan"), float("inf")],
            "volume": pa.array([None, 3.0, -float("inf")], pa.float64()),
            "count": [4, 5, 6],
        }
    )
    got = table_messages("window", table)
    assert [sid for sid, _ in got] == ["a", "b", "c"]
    assert [json.loads(text) for _, text in got] == [
        {
            "type": "window",
            "segment_id": "a",
            "data": {
                "segment_id": "a",
                "window_start": "2026-01-05T08:00:00Z",
                "mean_speed": 61.5,
                "volume": None,
                "count": 4,
            },
        },
        {
            "type": "window",
            "segment_id": "b",
            "data": {
                "segment_id": "b",
                "window_start": "2026-01-05T08:00:00Z",
                "mean_speed": None,
                "volume": 3.0,
                "count": 5,
            },
        },
        {
            "type": "window",
            "segment_id": "c",
            "data": {
                "segment_id": "c",
                "window_start": "2026-01-05T08:05:00Z",
                "mean_speed": None,
                "volume": None,
                "count": 6,
            },
        },
    ]


def test_milliseconds_are_kept_when_present() -> None:
    table = pa.table({"segment_id": ["a", "a"], "t": ts([T0, T0 + 123])})
    times = [json.loads(text)["data"]["t"] for _, text in table_messages("x", table)]
    assert times == ["2026-01-05T08:00:00.000Z", "2026-01-05T08:00:00.123Z"]


def test_one_prediction_message_per_segment_with_all_its_horizons() -> None:
    horizons = [15, 30]
    n = 2 * len(horizons)
    table = pa.Table.from_arrays(
        [
            pa.array(["s1@x", "s1@x", "s2@x", "s2@x"]),
            pa.array(["s1", "s1", "s2", "s2"]),
            ts([T0] * n),
            pa.array(horizons * 2, pa.int32()),
            ts([T0 + h * 60_000 for h in horizons] * 2),
            *[pa.array(np.arange(n, dtype=float)) for _ in range(7)],
            pa.array(["v1"] * n),
        ],
        schema=PREDICTION_SCHEMA,
    )
    got = prediction_messages(table)
    assert [sid for sid, _ in got] == ["s1", "s2"]
    second = json.loads(got[1][1])
    assert second["type"] == "prediction"
    assert second["data"]["issued_at"] == "2026-01-05T08:00:00Z"
    assert second["data"]["model_version"] == "v1"
    assert [f["horizon_minutes"] for f in second["data"]["forecasts"]] == horizons
    assert [f["predicted_speed"] for f in second["data"]["forecasts"]] == [2.0, 3.0]
