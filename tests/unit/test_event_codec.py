"""Event records on the Kafka topic: grouped by segment, read back exactly, poison named."""

from __future__ import annotations

import orjson
import pyarrow as pa
import pytest

from trafficcast.bus.event_codec import MAX_EVENTS_PER_RECORD, Decoded, Format, decode, encode
from trafficcast.domain.event_json import decode_batch
from trafficcast.domain.events import Limits

NOW = 1_867_600_000_000


def validated(rows: list[dict[str, object]]) -> pa.Table:
    return decode_batch(orjson.dumps(rows), now_ms=NOW, max_events=10**6).events


def readings(segments: int, per_segment: int) -> pa.Table:
    return validated(
        [
            {
                "segment_id": f"s{s}",
                "timestamp": f"2026-01-05T08:{i // 60:02d}:{i % 60:02d}.{s:03d}Z",
                "speed": 40.0 + s + i / 10,
                "volume": None if i % 3 == 0 else float(i),
                "coordinates": {"latitude": 34.0, "longitude": -117.5} if s % 2 else None,
            }
            for i in range(per_segment)
            for s in range(segments)
        ]
    )


def read(values: list[bytes], fmt: Format = "json", limit: int = 1 << 20) -> Decoded:
    return decode(
        list[bytes | None](values),
        [fmt] * len(values),
        now_ms=NOW,
        limits=Limits(),
        max_record_bytes=limit,
    )


@pytest.mark.parametrize("fmt", ["json", "avro"])
def test_one_record_per_segment_read_back_exactly(fmt: Format) -> None:
    events = readings(segments=5, per_segment=30)
    keys, values = encode(events, fmt)
    assert sorted(keys) == [f"s{s}" for s in range(5)]
    got = read(values, fmt)
    assert got.dead == []
    assert got.events.sort_by("event_id").equals(events.sort_by("event_id"))
    # Each segment's events keep their order, and each event knows its record.
    for key, record in zip(keys, range(len(keys)), strict=True):
        mine = got.events.filter(pa.array(got.record == record))
        assert set(mine.column("segment_id").to_pylist()) == {key}
        assert mine.column("timestamp").to_pylist() == sorted(mine.column("timestamp").to_pylist())


def test_a_busy_segment_is_split_into_bounded_records() -> None:
    events = readings(segments=1, per_segment=MAX_EVENTS_PER_RECORD + 10)
    keys, values = encode(events)
    assert keys == ["s0", "s0"]
    assert read(values).events.num_rows == events.num_rows


def test_poison_records_are_named_and_good_rows_of_a_record_survive() -> None:
    _, good = encode(readings(segments=1, per_segment=3))
    half_bad = (
        b'{"segment_id": "x", "timestamp": "2026-01-05T08:00:00Z", "speed": 50}\n'
        b'{"segment_id": "x", "timestamp": "2026-01-05T08:00:30Z", "speed": -4}'
    )
    values = [
        good[0],
        b'{"segment_id": "s1", "timestamp": ',
        b'{"segment_id": 7, "timestamp": "yesterday", "speed": "fast"}',
        b"",
        b'{"pad": "' + b"x" * 2000 + b'"}',
        half_bad,
    ]
    got = read(values, limit=1000)
    reasons = {d.index: " | ".join(d.reasons) for d in got.dead}
    assert set(reasons) == {1, 2, 3, 4, 5}
    assert "malformed JSON" in reasons[1]
    assert "event 0: segment_id" in reasons[2] or "event 0: speed" in reasons[2]
    assert reasons[3] == "value: empty record"
    assert "exceeds the limit of 1000" in reasons[4]
    assert reasons[5].startswith("event 1: speed")  # numbered within its own record
    assert got.events.num_rows == 3 + 1  # the good record and the good row of record 5
    assert set(got.record.tolist()) == {0, 5}
