"""Validation of incoming traffic events: columns (events.py) and JSON (event_json.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import msgspec
import numpy as np
import pyarrow as pa
import pytest

from trafficcast.domain.event_json import (
    EventIn,
    MalformedBody,
    TooManyEvents,
    decode_batch,
    decode_one,
    describe_validation_error,
)
from trafficcast.domain.events import (
    MAX_ID_LENGTH,
    MAX_SOURCE_LENGTH,
    MIN_TIMESTAMP_MS,
    Limits,
    Rejection,
    ValidatedBatch,
    parse_timestamps,
    validate_columns,
)
from trafficcast.domain.schema import EVENT_SCHEMA

# 2024-01-15T12:00:00Z: the server clock in these tests.
NOW = 1_705_320_000_000
TS = "2024-01-15T11:59:00Z"
TS_MS = NOW - 60_000

_MISSING = object()


def event(**overrides: Any) -> dict[str, Any]:
    """A valid event as a client would send it; a value of _MISSING drops the key."""
    body: dict[str, Any] = {
        "event_id": "e-1",
        "segment_id": "seg-1",
        "timestamp": TS,
        "speed": 55.5,
        "volume": 12,
        "occupancy": 7.5,
        "coordinates": {"latitude": 34.05, "longitude": -118.25},
        "source": "loop",
        "quality_score": 0.9,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not _MISSING}


def encode(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def batch(*events: dict[str, Any], wrapped: bool = True) -> bytes:
    return encode({"events": list(events)} if wrapped else list(events))


def columns(n: int = 1, **overrides: Any) -> dict[str, Any]:
    """Valid columns of n rows; a value of None drops the column."""
    cols: dict[str, Any] = {
        "event_id": [f"e-{i}" for i in range(n)],
        "segment_id": [f"seg-{i}" for i in range(n)],
        "timestamp": [TS] * n,
        "speed": np.full(n, 50.0),
        "volume": np.full(n, 10.0),
        "occupancy": np.full(n, 5.0),
        "latitude": np.full(n, 34.0),
        "longitude": np.full(n, -118.0),
        "source": ["loop"] * n,
        "quality_score": np.full(n, 0.8),
    }
    cols.update(overrides)
    return {k: v for k, v in cols.items() if v is not None}


def reasons(result: Any) -> list[tuple[int, str, str]]:
    return [(r.index, r.field, r.reason) for r in result.rejections]


def absent(value: float | None) -> bool:
    """An optional numeric field the reading did not carry (null or NaN)."""
    return value is None or bool(np.isnan(value))


def only_rejection(result: ValidatedBatch) -> Rejection:
    assert result.events.num_rows == 0
    assert len(result.rejections) == 1, result.rejections
    return result.rejections[0]


# --- a good event ---


def test_valid_event_passes_with_all_fields_in_event_schema() -> None:
    result = decode_one(encode(event()), now_ms=NOW)
    assert result.rejections == []
    assert result.events.schema == EVENT_SCHEMA
    row = result.events.to_pylist()[0]
    assert row["event_id"] == "e-1"
    assert row["segment_id"] == "seg-1"
    assert row["timestamp"] == datetime(2024, 1, 15, 11, 59, tzinfo=UTC)
    assert row["speed"] == 55.5
    assert row["volume"] == 12.0
    assert row["occupancy"] == 7.5
    assert row["latitude"] == 34.05
    assert row["longitude"] == -118.25
    assert row["source"] == "loop"
    assert row["quality_score"] == 0.9
    assert result.accepted_index.tolist() == [0]
    assert result.rejected_rows == 0


def test_minimal_event_gets_defaults() -> None:
    body = {"segment_id": "s", "timestamp": TS, "speed": 40}
    result = decode_one(encode(body), now_ms=NOW, default_source="client-x")
    assert result.rejections == []
    row = result.events.to_pylist()[0]
    assert row["quality_score"] == 1.0
    assert row["source"] == "client-x"
    for name in ("volume", "occupancy", "latitude", "longitude"):
        assert absent(row[name]), name
    # Derived id: source/segment/epoch-ms, so a resend is recognised as the same reading.
    assert row["event_id"] == f"client-x/s/{TS_MS}"


def test_default_source_is_api() -> None:
    result = decode_one(encode(event(source=_MISSING)), now_ms=NOW)
    assert result.events.column("source").to_pylist() == ["api"]


def test_derived_id_is_stable_and_only_for_rows_without_id() -> None:
    body = batch(event(event_id=_MISSING), event(event_id="given"), event(event_id=None))
    first = decode_batch(body, now_ms=NOW)
    second = decode_batch(body, now_ms=NOW)
    ids = first.events.column("event_id").to_pylist()
    assert ids == [f"loop/seg-1/{TS_MS}", "given", f"loop/seg-1/{TS_MS}"]
    assert ids == second.events.column("event_id").to_pylist()


def test_integer_numbers_accepted_for_float_fields() -> None:
    result = decode_one(encode(event(speed=60, quality_score=1, occupancy=0)), now_ms=NOW)
    assert result.rejections == []
    assert result.events.column("speed").to_pylist() == [60.0]


def test_unknown_keys_are_ignored() -> None:
    result = decode_one(encode(event(lane=3, extra={"x": 1})), now_ms=NOW)
    assert result.rejections == []
    assert result.events.num_rows == 1


# --- one field at a time ---


@pytest.mark.parametrize(
    ("overrides", "field", "reason"),
    [
        # segment_id
        ({"segment_id": _MISSING}, "segment_id", "missing"),
        ({"segment_id": ""}, "segment_id", "empty"),
        ({"segment_id": "x" * (MAX_ID_LENGTH + 1)}, "segment_id", "longer than 128 characters"),
        ({"segment_id": "a\nb"}, "segment_id", "contains control characters"),
        ({"segment_id": "a\x00b"}, "segment_id", "contains control characters"),
        ({"segment_id": "a\x7fb"}, "segment_id", "contains control characters"),
        ({"segment_id": 17}, "segment_id", "expected str, got int"),
        ({"segment_id": None}, "segment_id", "expected str, got null"),
        # timestamp
        ({"timestamp": _MISSING}, "timestamp", "missing"),
        ({"timestamp": "2024-01-15T11:59:00"}, "timestamp", "timestamp has no time zone"),
        ({"timestamp": "2024-01-15"}, "timestamp", "timestamp has no time zone"),
        ({"timestamp": "yesterday"}, "timestamp", "not an ISO 8601 timestamp: 'yesterday'"),
        ({"timestamp": "2024-13-45T99:00:00Z"}, "timestamp", "not an ISO 8601 timestamp"),
        ({"timestamp": "1999-12-31T23:59:59Z"}, "timestamp", "before 2000-01-01T00:00:00Z"),
        ({"timestamp": "1970-01-01T00:00:00Z"}, "timestamp", "before 2000-01-01T00:00:00Z"),
        ({"timestamp": "2024-01-15T12:05:01Z"}, "timestamp", "more than 300 s ahead"),
        ({"timestamp": "2030-01-01T00:00:00Z"}, "timestamp", "more than 300 s ahead"),
        ({"timestamp": 1705319940000}, "timestamp", "expected str, got int"),
        # speed
        ({"speed": _MISSING}, "speed", "missing"),
        ({"speed": None}, "speed", "expected float, got null"),
        ({"speed": "fast"}, "speed", "expected float, got str"),
        ({"speed": True}, "speed", "expected float, got bool"),
        ({"speed": -0.1}, "speed", "negative"),
        ({"speed": 150.01}, "speed", "above 150 mph"),
        # volume
        ({"volume": -1}, "volume", "negative"),
        ({"volume": 100_001}, "volume", "above 100000 vehicles"),
        ({"volume": "many"}, "volume", "expected float | null, got str"),
        # occupancy
        ({"occupancy": -0.01}, "occupancy", "outside 0-100 percent"),
        ({"occupancy": 100.01}, "occupancy", "outside 0-100 percent"),
        # coordinates
        ({"coordinates": {"latitude": 34.0}}, "coordinates.longitude", "missing"),
        ({"coordinates": {"longitude": -118.0}}, "coordinates.latitude", "missing"),
        (
            {"coordinates": {"latitude": 90.5, "longitude": 0}},
            "coordinates.latitude",
            "outside -90..90",
        ),
        (
            {"coordinates": {"latitude": -91, "longitude": 0}},
            "coordinates.latitude",
            "outside -90..90",
        ),
        (
            {"coordinates": {"latitude": 0, "longitude": 180.5}},
            "coordinates.longitude",
            "outside -180..180",
        ),
        (
            {"coordinates": {"latitude": 0, "longitude": -181}},
            "coordinates.longitude",
            "outside -180..180",
        ),
        ({"coordinates": [34.0, -118.0]}, "coordinates", "expected object | null, got array"),
        (
            {"coordinates": {"latitude": "north", "longitude": 0}},
            "coordinates.latitude",
            "expected float, got str",
        ),
        # quality_score
        ({"quality_score": -0.01}, "quality_score", "outside 0-1"),
        ({"quality_score": 1.01}, "quality_score", "outside 0-1"),
        # source
        ({"source": "s" * (MAX_SOURCE_LENGTH + 1)}, "source", "longer than 64 characters"),
        ({"source": ""}, "source", "empty"),
        ({"source": "cam\t1"}, "source", "contains control characters"),
        # event_id
        ({"event_id": ""}, "event_id", "empty"),
        ({"event_id": "i" * (MAX_ID_LENGTH + 1)}, "event_id", "longer than 128 characters"),
        ({"event_id": "a\rb"}, "event_id", "contains control characters"),
        ({"event_id": 5}, "event_id", "expected str | null, got int"),
    ],
)
def test_bad_field_is_rejected_with_field_and_reason(
    overrides: dict[str, Any], field: str, reason: str
) -> None:
    for result in (
        decode_one(encode(event(**overrides)), now_ms=NOW),
        decode_batch(batch(event(**overrides)), now_ms=NOW),
    ):
        rejection = only_rejection(result)
        assert rejection.index == 0
        assert rejection.field == field
        assert reason in rejection.reason
        assert result.events.schema == EVENT_SCHEMA


@pytest.mark.parametrize(
    "overrides",
    [
        {"segment_id": "x" * MAX_ID_LENGTH},
        {"segment_id": "é" * MAX_ID_LENGTH},  # length counts characters, not bytes
        {"event_id": "i" * MAX_ID_LENGTH},
        {"source": "s" * MAX_SOURCE_LENGTH},
        {"speed": 0},
        {"speed": 150},
        {"volume": 0},
        {"volume": 100_000},
        {"occupancy": 0},
        {"occupancy": 100},
        {"quality_score": 0},
        {"quality_score": 1},
        {"coordinates": {"latitude": 90, "longitude": 180}},
        {"coordinates": {"latitude": -90, "longitude": -180}},
        {"coordinates": None},
        {"volume": None, "occupancy": None, "quality_score": None, "source": None},
        {"timestamp": "2000-01-01T00:00:00Z"},
        {"timestamp": "2024-01-15T12:05:00Z"},  # exactly the allowed skew ahead
    ],
)
def test_boundary_values_are_accepted(overrides: dict[str, Any]) -> None:
    result = decode_one(encode(event(**overrides)), now_ms=NOW)
    assert result.rejections == []
    assert result.events.num_rows == 1


def test_limits_are_configurable() -> None:
    limits = Limits(max_speed=80.0, max_volume=10.0, max_future_skew_ms=0)
    result = decode_batch(
        batch(
            event(speed=81, volume=1),
            event(volume=11),
            event(timestamp="2024-01-15T12:00:00.001Z", volume=1),
            event(timestamp="2024-01-15T12:00:00Z", volume=10),
        ),
        now_ms=NOW,
        limits=limits,
    )
    assert reasons(result) == [
        (0, "speed", "above 80 mph"),
        (1, "volume", "above 10 vehicles"),
        (2, "timestamp", "more than 0 s ahead of the server clock"),
    ]
    assert result.accepted_index.tolist() == [3]


def test_one_rejection_per_row_first_failing_check_wins() -> None:
    result = decode_one(encode(event(segment_id="", speed=-5, occupancy=500)), now_ms=NOW)
    assert reasons(result) == [(0, "segment_id", "empty")]
    assert result.rejected_rows == 1


# --- timestamps ---


@pytest.mark.parametrize(
    ("text", "expected_ms"),
    [
        ("2024-01-15T11:59:00Z", TS_MS),
        ("2024-01-15T11:59:00+00:00", TS_MS),
        ("2024-01-15T03:59:00-08:00", TS_MS),
        ("2024-01-15T17:29:00+05:30", TS_MS),
        ("2024-01-15 11:59:00Z", TS_MS),
        ("2024-01-15T11:59:00.250Z", TS_MS + 250),
        ("2024-01-15T11:59:00.123456Z", TS_MS + 123),  # microseconds truncate to ms
        ("2024-01-15T11:59:00.999999+00:00", TS_MS + 999),
    ],
)
def test_timestamp_forms_and_offsets(text: str, expected_ms: int) -> None:
    # Alone (whole-column fast path) and beside a bad value (row-by-row path).
    fast, fast_errors = parse_timestamps([text], 1)
    slow, slow_errors = parse_timestamps([text, "bad"], 2)
    assert fast_errors == {}
    assert fast.tolist() == [expected_ms]
    assert slow[0] == expected_ms
    assert list(slow_errors) == [1]
    result = decode_one(encode(event(timestamp=text)), now_ms=NOW)
    assert result.events.column("timestamp").cast(pa.int64()).to_pylist() == [expected_ms]


def test_fast_and_row_paths_agree_on_milliseconds() -> None:
    texts = [f"2024-01-15T11:59:00.{i:06d}Z" for i in range(0, 1_000_000, 3331)]
    fast, _ = parse_timestamps(texts, len(texts))
    slow, errors = parse_timestamps([*texts, None], len(texts) + 1)
    assert errors == {len(texts): "missing"}
    np.testing.assert_array_equal(fast, slow[:-1])


def test_parse_timestamps_missing_column_and_nulls() -> None:
    values, errors = parse_timestamps(None, 3)
    assert errors == {0: "missing", 1: "missing", 2: "missing"}
    assert len(values) == 3
    values, errors = parse_timestamps([TS, None], 2)
    assert errors == {1: "missing"}
    assert values[0] == TS_MS


def test_parse_timestamps_from_arrow_and_integers() -> None:
    aware = pa.array([TS_MS, None], type=pa.timestamp("ms", tz="UTC"))
    values, errors = parse_timestamps(aware, 2)
    assert values[0] == TS_MS
    assert errors == {1: "missing"}

    micro = pa.array([TS_MS * 1000 + 123_456], type=pa.timestamp("us", tz="Europe/Paris"))
    values, errors = parse_timestamps(micro, 1)
    assert errors == {}
    assert values.tolist() == [TS_MS + 123]

    naive = pa.array([TS_MS], type=pa.timestamp("ms"))
    _, errors = parse_timestamps(naive, 1)
    assert errors == {0: "timestamp has no time zone"}

    ints = np.array([TS_MS, TS_MS + 1], dtype=np.int64)
    values, errors = parse_timestamps(ints, 2)
    assert errors == {}
    assert values.tolist() == [TS_MS, TS_MS + 1]


def test_min_timestamp_constant_is_2000() -> None:
    assert datetime.fromtimestamp(MIN_TIMESTAMP_MS / 1000, tz=UTC) == datetime(
        2000, 1, 1, tzinfo=UTC
    )


# --- NaN and infinity ---


def test_nan_and_inf_in_columns() -> None:
    nan, inf = float("nan"), float("inf")
    cols = columns(
        9,
        speed=np.array([nan, inf, -inf, 50, 50, 50, 50, 50, 50]),
        volume=np.array([1, 1, 1, inf, nan, 1, 1, 1, 1]),
        occupancy=np.array([1, 1, 1, 1, 1, -inf, nan, 1, 1]),
        quality_score=np.array([1, 1, 1, 1, 1, 1, 1, inf, nan]),
    )
    result = validate_columns(cols, now_ms=NOW)
    assert reasons(result) == [
        (0, "speed", "missing or not a number"),
        (1, "speed", "not finite"),
        (2, "speed", "not finite"),
        (3, "volume", "not finite"),
        (5, "occupancy", "not finite"),
        (7, "quality_score", "outside 0-1"),
    ]
    assert result.accepted_index.tolist() == [4, 6, 8]
    table = result.events
    assert absent(table.column("volume")[0].as_py())  # NaN volume = not reported
    assert absent(table.column("occupancy")[1].as_py())
    assert table.column("quality_score")[2].as_py() == 1.0  # NaN quality = default


def test_json_number_overflow_is_rejected_not_crashing() -> None:
    body = batch(event(speed=12345), event()).replace(b"12345", b"1e999")
    result = decode_batch(body, now_ms=NOW)
    assert [(r.index, r.field) for r in result.rejections] == [(0, "speed")]
    assert result.accepted_index.tolist() == [1]


def test_json_nan_literal_is_malformed() -> None:
    with pytest.raises(MalformedBody):
        decode_one(encode(event(speed=float("nan"))), now_ms=NOW)


# --- mixed batches ---


@pytest.mark.parametrize("wrapped", [True, False])
def test_bad_rows_mixed_with_good_rows(wrapped: bool) -> None:
    rows: list[Any] = [
        event(event_id="ok-0"),
        event(event_id="bad-1", speed="fast"),  # wrong type: decoded row by row
        event(event_id="ok-2", segment_id="seg-2"),
        event(event_id="bad-3", occupancy=140),  # out of range: found by validation
        event(event_id="bad-4", timestamp=_MISSING),  # missing field: decoding
        event(event_id="ok-5", segment_id="seg-5"),
        event(event_id="bad-6", coordinates={"latitude": 1, "longitude": 999}),
        "not an object",
        event(event_id="ok-8"),
    ]
    result = decode_batch(batch(*rows, wrapped=wrapped), now_ms=NOW)
    assert reasons(result) == [
        (1, "speed", "expected float, got str"),
        (3, "occupancy", "outside 0-100 percent"),
        (4, "timestamp", "missing"),
        (6, "coordinates.longitude", "outside -180..180"),
        (7, "event", "expected object, got str"),
    ]
    assert result.accepted_index.tolist() == [0, 2, 5, 8]
    ids = result.events.column("event_id").to_pylist()
    assert ids == ["ok-0", "ok-2", "ok-5", "ok-8"]
    # accepted_index maps each accepted row back to its position in the request.
    for pos, event_id in zip(result.accepted_index, ids, strict=True):
        assert rows[pos]["event_id"] == event_id
    assert result.rejected_rows == 5


def test_validation_only_failures_keep_positions_without_fallback() -> None:
    rows = [event(speed=-1), event(), event(quality_score=2), event(), event(segment_id="")]
    result = decode_batch(batch(*rows), now_ms=NOW)
    assert [(r.index, r.field) for r in result.rejections] == [
        (0, "speed"),
        (2, "quality_score"),
        (4, "segment_id"),
    ]
    assert result.accepted_index.tolist() == [1, 3]


def test_every_row_bad() -> None:
    result = decode_batch(batch(event(speed="x"), event(segment_id=3)), now_ms=NOW)
    assert [(r.index, r.field) for r in result.rejections] == [(0, "speed"), (1, "segment_id")]
    assert result.events.num_rows == 0
    assert result.events.schema == EVENT_SCHEMA
    assert result.accepted_index.tolist() == []


def test_empty_batches() -> None:
    for body in (b"[]", b'{"events": []}', b"  \n [ ] "):
        result = decode_batch(body, now_ms=NOW)
        assert result.events.num_rows == 0
        assert result.rejections == []


def test_bare_array_and_wrapped_forms_agree() -> None:
    rows = [event(event_id=f"e{i}", speed=float(i)) for i in range(5)]
    a = decode_batch(batch(*rows, wrapped=True), now_ms=NOW)
    b = decode_batch(batch(*rows, wrapped=False), now_ms=NOW)
    assert a.events.equals(b.events)
    assert a.events.column("speed").to_pylist() == [0.0, 1.0, 2.0, 3.0, 4.0]


def test_duplicate_ids_within_a_batch_are_not_rejected_here() -> None:
    # Dedupe is the stream's job; validation keeps both rows.
    result = decode_batch(batch(event(event_id="same"), event(event_id="same")), now_ms=NOW)
    assert result.events.num_rows == 2


# --- malformed bodies ---


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[",
        b"not json",
        b'{"events": [',
        b"[1, 2",
        b'{"events": [{"segment_id": "a"}], }',
        # A row of the wrong shape before the truncation: must still be MalformedBody.
        b'[{"segment_id": 1}, ',
        b'{"events": [{"segment_id": "a", "timestamp": "x", "speed": "fast"}, ',
    ],
)
def test_malformed_json_raises_malformed_body(body: bytes) -> None:
    with pytest.raises(MalformedBody, match="malformed JSON") as info:
        decode_batch(body, now_ms=NOW)
    assert info.value.field == "body"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{}", "missing"),
        (b'{"events": 5}', "expected array, got int"),
        (b'{"events": {"a": 1}}', "expected array, got object"),
        (b'"hello"', "expected object, got str"),
        (b"42", "expected object, got int"),
    ],
)
def test_wrong_overall_shape_raises_malformed_body(body: bytes, reason: str) -> None:
    with pytest.raises(MalformedBody, match=reason) as info:
        decode_batch(body, now_ms=NOW)
    assert info.value.field == "events"
    assert not isinstance(info.value, TooManyEvents)


def test_decode_one_malformed_json_raises() -> None:
    with pytest.raises(MalformedBody, match="malformed JSON"):
        decode_one(b'{"segment_id": ', now_ms=NOW)


def test_decode_one_wrong_shape_is_a_rejection() -> None:
    result = decode_one(b"[1, 2]", now_ms=NOW)
    rejection = only_rejection(result)
    assert (rejection.index, rejection.field) == (0, "event")
    assert "expected object" in rejection.reason
    assert result.events.schema == EVENT_SCHEMA


@pytest.mark.parametrize("wrapped", [True, False])
def test_too_many_events(wrapped: bool) -> None:
    rows = [event(event_id=f"e{i}") for i in range(4)]
    with pytest.raises(TooManyEvents, match="4 events; the limit is 3") as info:
        decode_batch(batch(*rows, wrapped=wrapped), now_ms=NOW, max_events=3)
    assert info.value.field == "events"
    assert isinstance(info.value, MalformedBody)
    # Also when a row is bad (the row-by-row path counts too).
    rows[0] = event(speed="fast")
    with pytest.raises(TooManyEvents):
        decode_batch(batch(*rows, wrapped=wrapped), now_ms=NOW, max_events=3)
    # Exactly at the limit is fine.
    assert decode_batch(batch(*rows[1:], wrapped=wrapped), now_ms=NOW, max_events=3)


# --- ids taken verbatim ---


@pytest.mark.parametrize(
    "segment_id",
    [
        "'; DROP TABLE events; --",
        'x" OR "1"="1',
        "Robert'); DELETE FROM segments WHERE ('1'='1",
        "環状線-北行き",
        "Straße/Ost 🚗",
        "<script>alert(1)</script>",
        "  spaced  ",
    ],
)
def test_unusual_segment_ids_are_accepted_verbatim(segment_id: str) -> None:
    result = decode_batch(batch(event(segment_id=segment_id, event_id=_MISSING)), now_ms=NOW)
    assert result.rejections == []
    assert result.events.column("segment_id").to_pylist() == [segment_id]
    assert result.events.column("event_id").to_pylist() == [f"loop/{segment_id}/{TS_MS}"]


# --- validate_columns directly ---


def test_validate_columns_with_arrow_and_numpy_inputs() -> None:
    cols = columns(
        3,
        segment_id=pa.chunked_array([["a", "b"], ["c"]]),
        timestamp=pa.array([TS_MS, TS_MS + 1, TS_MS + 2], type=pa.timestamp("ms", tz="UTC")),
        speed=pa.array([1.0, 2.0, 3.0]),
        event_id=None,
        source=None,
    )
    result = validate_columns(cols, now_ms=NOW, default_source="replay:x")
    assert result.rejections == []
    assert result.events.column("segment_id").to_pylist() == ["a", "b", "c"]
    assert result.events.column("event_id").to_pylist() == [
        f"replay:x/a/{TS_MS}",
        f"replay:x/b/{TS_MS + 1}",
        f"replay:x/c/{TS_MS + 2}",
    ]


def test_validate_columns_missing_required_columns() -> None:
    result = validate_columns(columns(2, speed=None), now_ms=NOW)
    assert reasons(result) == [
        (0, "speed", "missing or not a number"),
        (1, "speed", "missing or not a number"),
    ]
    result = validate_columns(columns(2, segment_id=None), now_ms=NOW)
    assert [(r.index, r.field, r.reason) for r in result.rejections] == [
        (0, "segment_id", "missing"),
        (1, "segment_id", "missing"),
    ]


def test_validate_columns_null_segment_id_and_half_coordinates() -> None:
    cols = columns(
        4,
        segment_id=["a", None, "c", "d"],
        latitude=np.array([1.0, 1.0, np.nan, np.nan]),
        longitude=np.array([1.0, 1.0, 2.0, np.nan]),
    )
    result = validate_columns(cols, now_ms=NOW)
    assert reasons(result) == [
        (1, "segment_id", "missing"),
        (2, "coordinates", "latitude and longitude go together"),
    ]
    assert result.accepted_index.tolist() == [0, 3]


def test_validate_columns_pre_rejected_rows_are_dropped_and_reported() -> None:
    pre = [Rejection(1, "speed", "expected float")]
    result = validate_columns(columns(3), now_ms=NOW, pre_rejected=pre)
    assert reasons(result) == [(1, "speed", "expected float")]
    assert result.accepted_index.tolist() == [0, 2]


def test_validate_columns_length_mismatch_raises() -> None:
    with pytest.raises(ValueError, match="different lengths"):
        validate_columns(columns(2, speed=np.ones(3)), now_ms=NOW)


def test_validate_columns_empty() -> None:
    result = validate_columns({}, now_ms=NOW)
    assert result.events.num_rows == 0
    assert result.events.schema == EVENT_SCHEMA


def test_large_batch_is_vectorised_and_correct() -> None:
    n = 20_000
    rng = np.random.default_rng(7)
    speed = rng.uniform(0, 100, n)
    bad = rng.choice(n, 500, replace=False)
    speed[bad] = -1.0
    result = validate_columns(columns(n, speed=speed), now_ms=NOW)
    assert sorted(r.index for r in result.rejections) == sorted(bad.tolist())
    assert {r.field for r in result.rejections} == {"speed"}
    assert result.events.num_rows == n - 500
    np.testing.assert_array_equal(
        result.events.column("speed").to_numpy(), speed[result.accepted_index]
    )


# --- describe_validation_error ---


def _error(body: bytes, kind: Any = EventIn) -> msgspec.ValidationError:
    with pytest.raises(msgspec.ValidationError) as info:
        msgspec.json.decode(body, type=kind)
    return info.value


def test_describe_validation_error_messages() -> None:
    assert describe_validation_error(_error(b'{"speed": "x", "segment_id": "a"}')) == (
        "speed",
        "expected float, got str",
    )
    assert describe_validation_error(_error(b'{"segment_id": "a", "speed": 1}')) == (
        "timestamp",
        "missing",
    )
    assert describe_validation_error(
        _error(b'{"segment_id": "a", "timestamp": "t", "speed": 1, "coordinates": {"latitude": 1}}')
    ) == ("coordinates.longitude", "missing")
    assert describe_validation_error(_error(b"[]")) == ("event", "expected object, got array")
    # Paths with a list index (as in a whole-batch decode) lose the index prefix.
    field, reason = describe_validation_error(
        _error(b'[{"segment_id": "a", "timestamp": "t", "speed": "x"}]', list[EventIn])
    )
    assert (field, reason) == ("speed", "expected float, got str")


def test_ndjson_fast_path_matches_the_json_path() -> None:
    import json as _json

    from trafficcast.domain.event_json import decode_ndjson

    rows = [
        {
            "segment_id": f"S{i}",
            "timestamp": f"2026-01-05T08:0{i}:00Z",
            "speed": 40.0 + i,
            "volume": i,
            "occupancy": None,
            "source": "t",
            **({"coordinates": {"latitude": 34.0, "longitude": -118.0 - i}} if i % 2 else {}),
        }
        for i in range(6)
    ]
    now = 1_800_000_000_000
    as_json = decode_batch(_json.dumps({"events": rows}).encode(), now_ms=now)
    as_ndjson = decode_ndjson("\n".join(_json.dumps(r) for r in rows).encode(), now_ms=now)
    assert as_ndjson.rejections == as_json.rejections == []
    assert as_ndjson.events.equals(as_json.events)
