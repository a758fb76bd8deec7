"""Vectorised validation of traffic events.

Input arrives as columns (from JSON, CSV, Parquet or the simulator); every row
is checked with array operations, rejected rows are reported with their index,
field and reason, and the good rows leave as one Arrow table in EVENT_SCHEMA.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.schema import EVENT_SCHEMA, TIMESTAMP

MIN_TIMESTAMP_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: older readings are data errors
MAX_ID_LENGTH = 128
MAX_SOURCE_LENGTH = 64
_CONTROL_CHARS = r"[\x00-\x1f\x7f]"


@dataclass(frozen=True)
class Limits:
    """Plausibility bounds; speeds are in mph."""

    max_speed: float = 150.0
    max_volume: float = 100_000.0
    max_future_skew_ms: int = 5 * 60_000


@dataclass(frozen=True)
class Rejection:
    index: int
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "field": self.field, "reason": self.reason}


@dataclass
class ValidatedBatch:
    """Accepted rows in EVENT_SCHEMA plus one Rejection per failed check."""

    events: pa.Table
    rejections: list[Rejection] = field(default_factory=list)
    # Position of each accepted row in the caller's input, for reporting ids back.
    accepted_index: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )

    @property
    def rejected_rows(self) -> int:
        return len({r.index for r in self.rejections})


def _float_column(values: Any, n: int) -> npt.NDArray[np.float64]:
    if values is None:
        return np.full(n, np.nan)
    if isinstance(values, np.ndarray):
        return values.astype(np.float64, copy=False)
    if isinstance(values, pa.ChunkedArray | pa.Array):
        return np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.float64)
    return np.array(values, dtype=np.float64)


def _string_column(values: Any, n: int) -> pa.Array:
    if values is None:
        return pa.nulls(n, pa.string())
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array):
        return values.cast(pa.string())
    return pa.array(values, type=pa.string())


def _parse_one_timestamp(text: str) -> tuple[int | None, str | None]:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None, f"not an ISO 8601 timestamp: {text[:40]!r}"
    if parsed.tzinfo is None:
        return None, "timestamp has no time zone (add Z or an offset such as +00:00)"
    return int(parsed.timestamp() * 1000), None


def parse_timestamps(values: Any, n: int) -> tuple[npt.NDArray[np.int64], dict[int, str]]:
    """Epoch milliseconds per row, and a reason for each row that failed.

    Whole-column Arrow parsing is the fast path; only a column holding at least
    one bad value falls back to parsing row by row to say which and why.
    """
    if values is None:
        return np.zeros(n, dtype=np.int64), dict.fromkeys(range(n), "missing")
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    if isinstance(values, pa.Array) and pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            return np.zeros(n, dtype=np.int64), dict.fromkeys(
                range(n), "timestamp has no time zone"
            )
        # safe=False truncates sub-millisecond precision instead of raising.
        ms = values.cast(TIMESTAMP, safe=False).cast(pa.int64())
        missing = np.asarray(ms.is_null().to_numpy(zero_copy_only=False))
        out = np.asarray(ms.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        return out, {int(i): "missing" for i in np.flatnonzero(missing)}
    if isinstance(values, np.ndarray) and np.issubdtype(values.dtype, np.integer):
        return values.astype(np.int64), {}
    arr = values if isinstance(values, pa.Array) else pa.array(values, type=pa.string())
    try:
        parsed = arr.cast(pa.timestamp("us", tz="UTC")).cast(TIMESTAMP)
        if parsed.null_count == 0:
            return np.asarray(parsed.cast(pa.int64()).to_numpy(), dtype=np.int64), {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out = np.zeros(n, dtype=np.int64)
    errors: dict[int, str] = {}
    for i, text in enumerate(arr.to_pylist()):
        if text is None:
            errors[i] = "missing"
            continue
        value, error = _parse_one_timestamp(str(text))
        if error is not None:
            errors[i] = error
        else:
            out[i] = value if value is not None else 0
    return out, errors


def validate_columns(
    columns: Mapping[str, Any],
    *,
    now_ms: int,
    limits: Limits = Limits(),
    default_source: str = "api",
    pre_rejected: Sequence[Rejection] = (),
) -> ValidatedBatch:
    """Check every row of `columns` and return the good ones as EVENT_SCHEMA.

    `columns` maps field names to arrays (numpy, Arrow or lists) of equal
    length; optional fields may be absent. Rows listed in `pre_rejected`
    (e.g. failed JSON decoding) are dropped and reported as they are.
    """
    n = _length(columns)
    rejections: list[Rejection] = list(pre_rejected)
    bad = np.zeros(n, dtype=bool)
    for r in pre_rejected:
        bad[r.index] = True

    def reject(mask: npt.NDArray[np.bool_], field_name: str, reason: str) -> None:
        if not mask.any():  # the common case: nothing to do
            return
        hits = mask & ~bad
        rejections.extend(Rejection(int(i), field_name, reason) for i in np.flatnonzero(hits))
        bad[hits] = True

    segment = _string_column(columns.get("segment_id"), n)
    seg_missing = np.asarray(segment.is_null().to_numpy(zero_copy_only=False))
    seg_len = _char_lengths(segment, MAX_ID_LENGTH)
    reject(seg_missing, "segment_id", "missing")
    reject(seg_len == 0, "segment_id", "empty")
    reject(seg_len > MAX_ID_LENGTH, "segment_id", f"longer than {MAX_ID_LENGTH} characters")
    reject(_has_control_chars(segment), "segment_id", "contains control characters")

    ts_ms, ts_errors = parse_timestamps(columns.get("timestamp"), n)
    for i, reason in sorted(ts_errors.items()):
        if not bad[i]:
            rejections.append(Rejection(i, "timestamp", reason))
            bad[i] = True
    reject(ts_ms < MIN_TIMESTAMP_MS, "timestamp", "before 2000-01-01T00:00:00Z")
    reject(
        ts_ms > now_ms + limits.max_future_skew_ms,
        "timestamp",
        f"more than {limits.max_future_skew_ms // 1000} s ahead of the server clock",
    )

    speed = _float_column(columns.get("speed"), n)
    reject(np.isnan(speed), "speed", "missing or not a number")
    reject(~np.isfinite(speed) & ~np.isnan(speed), "speed", "not finite")
    reject(speed < 0, "speed", "negative")
    reject(speed > limits.max_speed, "speed", f"above {limits.max_speed:g} mph")

    volume = _float_column(columns.get("volume"), n)
    reject(np.isinf(volume), "volume", "not finite")
    reject(volume < 0, "volume", "negative")
    reject(volume > limits.max_volume, "volume", f"above {limits.max_volume:g} vehicles")

    occupancy = _float_column(columns.get("occupancy"), n)
    reject(np.isinf(occupancy), "occupancy", "not finite")
    reject((occupancy < 0) | (occupancy > 100), "occupancy", "outside 0-100 percent")

    lat = _float_column(columns.get("latitude"), n)
    lon = _float_column(columns.get("longitude"), n)
    reject(np.isnan(lat) != np.isnan(lon), "coordinates", "latitude and longitude go together")
    reject(np.abs(lat) > 90, "coordinates.latitude", "outside -90..90")
    reject(np.abs(lon) > 180, "coordinates.longitude", "outside -180..180")

    quality = _float_column(columns.get("quality_score"), n)
    quality = np.where(np.isnan(quality), 1.0, quality)
    reject(np.isinf(quality) | (quality < 0) | (quality > 1), "quality_score", "outside 0-1")

    source = _string_column(columns.get("source"), n).fill_null(default_source)
    src_len = _char_lengths(source, MAX_SOURCE_LENGTH)
    reject(src_len == 0, "source", "empty")
    reject(src_len > MAX_SOURCE_LENGTH, "source", f"longer than {MAX_SOURCE_LENGTH} characters")
    reject(_has_control_chars(source), "source", "contains control characters")

    event_id = _string_column(columns.get("event_id"), n)
    id_len = np.where(
        np.asarray(event_id.is_null().to_numpy(zero_copy_only=False)),
        -1,
        _char_lengths(event_id, MAX_ID_LENGTH),
    )
    reject(id_len == 0, "event_id", "empty")
    reject(id_len > MAX_ID_LENGTH, "event_id", f"longer than {MAX_ID_LENGTH} characters")
    reject(_has_control_chars(event_id), "event_id", "contains control characters")

    keep = np.flatnonzero(~bad)
    if len(keep) == n:  # all good: no copies

        def take(a: pa.Array) -> pa.Array:
            return a
    else:
        keep_arr = pa.array(keep, type=pa.int64())

        def take(a: pa.Array) -> pa.Array:
            return a.take(keep_arr)

    ts_arr = pa.array(ts_ms[keep], type=pa.int64()).cast(TIMESTAMP)
    segment_kept = take(segment)
    source_kept = take(source)
    ids = _assign_missing_ids(take(event_id), source_kept, segment_kept, ts_ms[keep])
    table = pa.Table.from_arrays(
        [
            ids,
            segment_kept,
            ts_arr,
            pa.array(speed[keep]),
            pa.array(volume[keep], from_pandas=True),
            pa.array(occupancy[keep], from_pandas=True),
            pa.array(lat[keep], from_pandas=True),
            pa.array(lon[keep], from_pandas=True),
            source_kept,
            pa.array(quality[keep]),
        ],
        schema=EVENT_SCHEMA,
    )
    rejections.sort(key=lambda r: r.index)
    return ValidatedBatch(table, rejections, keep.astype(np.int64))


def _length(columns: Mapping[str, Any]) -> int:
    lengths = {len(v) for v in columns.values() if v is not None}
    if len(lengths) > 1:
        raise ValueError(f"columns have different lengths: {sorted(lengths)}")
    return lengths.pop() if lengths else 0


def _string_data(values: pa.Array) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.uint8]] | None:
    """Offsets and bytes of a plain string array, without copying; None for other layouts."""
    if not pa.types.is_string(values.type) or values.offset != 0:
        return None
    _, offsets, data = values.buffers()
    if offsets is None:
        return None
    offs = np.frombuffer(offsets, dtype=np.int32, count=len(values) + 1)
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return offs, raw[offs[0] : offs[-1]]


def _char_lengths(values: pa.Array, limit: int) -> npt.NDArray[np.int64]:
    """Character length of each string (0 for null).

    Byte lengths come straight from the Arrow offsets; they bound the character
    count from above, so only a column with a long value pays for UTF-8 counting.
    """
    layout = _string_data(values)
    if layout is not None and values.null_count == 0:
        byte_len = np.diff(layout[0]).astype(np.int64)
        if len(byte_len) == 0 or byte_len.max() <= limit:
            return byte_len
    return np.asarray(
        pc.utf8_length(values).fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64
    )


def _has_control_chars(values: pa.Array) -> npt.NDArray[np.bool_]:
    layout = _string_data(values)
    if layout is not None:
        # Control characters are single bytes in UTF-8 (< 0x20 or 0x7f): one
        # scan of the raw bytes clears the usual column without a regex per row.
        data = layout[1]
        if len(data) == 0 or (data.min() >= 0x20 and not (data == 0x7F).any()):
            return np.zeros(len(values), dtype=bool)
    hits = pc.match_substring_regex(values, _CONTROL_CHARS).fill_null(False)
    return np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)


def _assign_missing_ids(
    ids: pa.Array, source: pa.Array, segment: pa.Array, ts_ms: npt.NDArray[np.int64]
) -> pa.Array:
    """Events without an id get one derived from what identifies a reading.

    Deriving it (rather than a random UUID) means a client that resends the
    same reading, or a replay that restarts, is recognised as a duplicate.
    """
    if ids.null_count == 0:
        return ids
    derived = pc.binary_join_element_wise(source, segment, pa.array(ts_ms).cast(pa.string()), "/")
    return pc.coalesce(ids, derived)
