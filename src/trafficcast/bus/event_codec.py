"""Events on the Kafka topic: one record per segment per published batch.

A record's key is the segment id (Kafka keeps a key's records in order) and
its value holds that segment's events of the batch, in the format clients
already send to the REST API: newline-delimited JSON event objects (the
default), or an Avro array of event records. Grouping by segment keeps the
number of records, and so the per-record Python work, far below the number of
events; one event object per record, as other producers may write, is read
just the same.

Decoding is columnar (Arrow's JSON reader over all values of a poll) and
validation is the REST API's, so a record is judged as a request would be.
Records with a rejected row are reported with their reasons for the
dead-letter topic; their good rows still go through.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any, Literal

import fastavro
import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.event_json import decode_ndjson
from trafficcast.domain.events import Limits, Rejection, validate_columns

Format = Literal["json", "avro"]
CONTENT_TYPE = {"json": b"application/x-ndjson", "avro": b"application/avro"}
FORMAT_OF = {v: k for k, v in CONTENT_TYPE.items()}
MAX_EVENTS_PER_RECORD = 1_000  # about 250 kB, half the consumer's record limit

_AVRO_EVENT_FIELDS: list[dict[str, Any]] = [
    {"name": "event_id", "type": ["null", "string"], "default": None},
    {"name": "segment_id", "type": "string"},
    {"name": "timestamp", "type": "string"},
    {"name": "speed", "type": "double"},
    {"name": "volume", "type": ["null", "double"], "default": None},
    {"name": "occupancy", "type": ["null", "double"], "default": None},
    {"name": "latitude", "type": ["null", "double"], "default": None},
    {"name": "longitude", "type": ["null", "double"], "default": None},
    {"name": "source", "type": ["null", "string"], "default": None},
    {"name": "quality_score", "type": ["null", "double"], "default": None},
]
AVRO_FIELDS = tuple(str(f["name"]) for f in _AVRO_EVENT_FIELDS)
AVRO_SCHEMA = fastavro.parse_schema(
    {
        "type": "array",
        "items": {
            "type": "record",
            "name": "TrafficEvent",
            "namespace": "trafficcast",
            "fields": _AVRO_EVENT_FIELDS,
        },
    }
)


def _iso(timestamps: pa.ChunkedArray | pa.Array) -> pa.Array:
    # %S of a millisecond timestamp carries the fraction: 08:00:00.123
    return pc.strftime(timestamps, format="%Y-%m-%dT%H:%M:%SZ")


def _groups(table: pa.Table) -> tuple[pa.Table, list[tuple[int, int]]]:
    """The table sorted by segment (stably: a segment's events keep their order) and each
    segment's row range, split so no record holds more than MAX_EVENTS_PER_RECORD."""
    order = pc.sort_indices(table, sort_keys=[("segment_id", "ascending")])
    table = table.take(order)
    codes = pc.dictionary_encode(table.column("segment_id")).combine_chunks().indices
    seg = np.asarray(codes.to_numpy(), dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]]) if len(seg) else np.zeros(0, int)
    ends = np.r_[starts[1:], len(seg)]
    ranges: list[tuple[int, int]] = []
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        ranges.extend(
            (s, min(s + MAX_EVENTS_PER_RECORD, b)) for s in range(a, b, MAX_EVENTS_PER_RECORD)
        )
    return table, ranges


def encode(table: pa.Table, fmt: Format = "json") -> tuple[list[str], list[bytes]]:
    """(keys, values) of the records carrying a batch of validated events (EVENT_SCHEMA)."""
    if table.num_rows == 0:
        return [], []
    table, ranges = _groups(table)
    keys = table.column("segment_id").take(pa.array([a for a, _ in ranges])).to_pylist()
    if fmt == "avro":
        return keys, [_avro_value(table.slice(a, b - a)) for a, b in ranges]
    lat, lon = table.column("latitude").combine_chunks(), table.column("longitude").combine_chunks()
    coordinates = pa.StructArray.from_arrays(
        [lat, lon],
        names=["latitude", "longitude"],
        mask=pc.or_(pc.is_null(lat), pc.is_null(lon)),
    )
    text = pl.from_arrow(
        pa.table(
            {
                "event_id": table.column("event_id"),
                "segment_id": table.column("segment_id"),
                "timestamp": _iso(table.column("timestamp")),
                "speed": table.column("speed"),
                "volume": table.column("volume"),
                "occupancy": table.column("occupancy"),
                "coordinates": coordinates,
                "source": table.column("source"),
                "quality_score": table.column("quality_score"),
            }
        )
    )
    assert isinstance(text, pl.DataFrame)
    data = text.write_ndjson().encode()
    # Byte offsets of every line start, found without a Python loop over events.
    newlines = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 10)
    line_start = np.r_[0, newlines + 1]
    view = memoryview(data)
    values = [bytes(view[line_start[a] : line_start[b] - 1]) for a, b in ranges]
    return keys, values


def _avro_value(rows: pa.Table) -> bytes:
    columns: dict[str, Any] = {
        name: (_iso(rows.column(name)) if name == "timestamp" else rows.column(name)).to_pylist()
        for name in AVRO_FIELDS
    }
    records = [
        dict(zip(columns, values, strict=True)) for values in zip(*columns.values(), strict=True)
    ]
    out = io.BytesIO()
    fastavro.schemaless_writer(out, AVRO_SCHEMA, records)
    return out.getvalue()


@dataclass
class DeadLetter:
    """A record that was refused in whole or in part, with the reasons."""

    index: int  # position among the records given to decode()
    reasons: list[str]


@dataclass
class Decoded:
    events: pa.Table  # validated, EVENT_SCHEMA
    record: npt.NDArray[np.int64]  # per event: the position of its record
    dead: list[DeadLetter] = field(default_factory=list)


def decode(
    values: list[bytes | None],
    formats: list[Format],
    *,
    now_ms: int,
    limits: Limits,
    max_record_bytes: int,
) -> Decoded:
    """Decode and validate the records of one poll, in order."""
    dead: dict[int, list[str]] = {}
    json_idx: list[int] = []
    avro_idx: list[int] = []
    for i, (value, fmt) in enumerate(zip(values, formats, strict=True)):
        if not value or not value.strip():
            dead[i] = ["value: empty record"]
        elif len(value) > max_record_bytes:
            dead[i] = [
                f"value: record of {len(value)} bytes exceeds the limit of {max_record_bytes}"
            ]
        else:
            (avro_idx if fmt == "avro" else json_idx).append(i)
    tables: list[tuple[pa.Table, npt.NDArray[np.int64]]] = []
    if json_idx:
        tables.append(_decode_json(values, json_idx, now_ms, limits, dead))
    if avro_idx:
        tables.append(_decode_avro(values, avro_idx, now_ms, limits, dead))
    if not tables:
        empty = validate_columns({}, now_ms=now_ms).events
        return Decoded(empty, np.zeros(0, dtype=np.int64), _letters(dead))
    if len(tables) == 1:
        return Decoded(tables[0][0], tables[0][1], _letters(dead))
    # Mixed formats in one poll: restore record order so a segment's events stay in order.
    combined = pa.concat_tables([t for t, _ in tables])
    record = np.concatenate([r for _, r in tables])
    order = np.argsort(record, kind="stable")
    return Decoded(combined.take(pa.array(order)), record[order], _letters(dead))


def _letters(dead: dict[int, list[str]]) -> list[DeadLetter]:
    return [DeadLetter(i, reasons) for i, reasons in sorted(dead.items())]


def _reject(
    rejections: list[Rejection], owner: npt.NDArray[np.int64], dead: dict[int, list[str]]
) -> None:
    """File each rejected row under its record, numbered within that record."""
    for r in rejections:
        record = int(owner[r.index])
        row = r.index - int(np.searchsorted(owner, record))  # owner is in record order
        dead.setdefault(record, []).append(f"event {row}: {r.field}: {r.reason}")


def _line_count(value: bytes) -> int:
    value = value.strip()
    if b"\n\n" in value or b"\r" in value:
        return sum(1 for line in value.splitlines() if line.strip())
    return value.count(b"\n") + 1


def _decode_json(
    values: list[bytes | None],
    idx: list[int],
    now_ms: int,
    limits: Limits,
    dead: dict[int, list[str]],
) -> tuple[pa.Table, npt.NDArray[np.int64]]:
    chunks = [values[i] or b"" for i in idx]
    counts = np.array([_line_count(v) for v in chunks], dtype=np.int64)
    owner = np.repeat(np.array(idx, dtype=np.int64), counts)  # record of each event
    body = b"\n".join(chunks)
    batch = decode_ndjson(
        body, now_ms=now_ms, limits=limits, default_source="kafka", max_events=1 << 40
    )
    _reject(batch.rejections, owner, dead)
    return batch.events, owner[batch.accepted_index]


def _decode_avro(
    values: list[bytes | None],
    idx: list[int],
    now_ms: int,
    limits: Limits,
    dead: dict[int, list[str]],
) -> tuple[pa.Table, npt.NDArray[np.int64]]:
    rows: list[dict[str, Any]] = []
    owner: list[int] = []
    for i in idx:
        try:
            records = fastavro.schemaless_reader(io.BytesIO(values[i] or b""), AVRO_SCHEMA, None)
        except Exception as exc:  # fastavro raises a variety of errors on bad bytes
            dead[i] = [f"value: not an Avro array of TrafficEvent records: {type(exc).__name__}"]
            continue
        assert isinstance(records, list)
        rows.extend(records)
        owner.extend([i] * len(records))
    columns: dict[str, Any] = {name: [r.get(name) for r in rows] for name in AVRO_FIELDS}
    batch = validate_columns(columns, now_ms=now_ms, limits=limits, default_source="kafka")
    owners = np.array(owner, dtype=np.int64)
    _reject(batch.rejections, owners, dead)
    return batch.events, owners[batch.accepted_index]
