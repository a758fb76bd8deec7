"""JSON texts of the live messages (`traffic_event`, `window`, `prediction`, `alert`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc


def iso_times(ms: npt.NDArray[np.int64]) -> list[str]:
    """ISO 8601 UTC strings ("2012-03-01T08:05:00Z") for epoch milliseconds, vectorised."""
    text = np.datetime_as_string(np.asarray(ms, dtype="datetime64[ms]"), unit="s")
    return [t + "Z" for t in text.tolist()]


def iso(ms: int) -> str:
    return iso_times(np.array([ms], dtype=np.int64))[0]


def nullable(values: npt.NDArray[np.float64], digits: int = 3) -> list[float | None]:
    """Round and turn NaN into None (JSON null)."""
    rounded = np.round(np.asarray(values, dtype=np.float64), digits)
    return [None if v != v else v for v in rounded.tolist()]


def message(kind: str, segment_id: str, data: dict[str, Any]) -> str:
    return orjson.dumps({"type": kind, "segment_id": segment_id, "data": data}).decode()


def traffic_event_messages(
    segment_ids: list[str],
    ts_ms: npt.NDArray[np.int64],
    speed: npt.NDArray[np.float64],
    volume: npt.NDArray[np.float64],
    occupancy: npt.NDArray[np.float64],
    level_of_service: list[str],
) -> list[tuple[str, str]]:
    rows = zip(
        segment_ids,
        iso_times(ts_ms),
        nullable(speed),
        nullable(volume),
        nullable(occupancy),
        level_of_service,
        strict=True,
    )
    return [
        (
            seg,
            message(
                "traffic_event",
                seg,
                {"timestamp": t, "speed": s, "volume": v, "occupancy": o, "level_of_service": los},
            ),
        )
        for seg, t, s, v, o, los in rows
    ]


def _json_ready(table: pa.Table) -> pl.DataFrame:
    """The table as encoding.arrow_rows writes it (ISO times, NaN and infinities as null),
    but as columns."""
    columns: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            ms = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
            epoch = np.asarray(ms.fill_null(0).to_numpy(), dtype=np.int64)
            # Second precision unless a value has milliseconds, as encoding.iso_column; a
            # batch holds few distinct times (window bounds, one issue), formatted once each.
            fraction = bool((epoch % 1000).any())
            distinct, which = np.unique(epoch, return_inverse=True)
            stamps = distinct.astype("datetime64[ms]")
            text = np.char.add(np.datetime_as_string(stamps, unit="ms" if fraction else "s"), "Z")
            columns[name] = pc.if_else(
                pc.is_null(ms), pa.scalar(None, pa.string()), pa.array(text).take(pa.array(which))
            )
        elif pa.types.is_floating(column.type):
            finite = pc.is_finite(column)
            columns[name] = pc.if_else(finite, column, pa.scalar(None, column.type))
        else:
            columns[name] = column
    frame = pl.from_arrow(pa.table(columns))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _lines(frame: pl.DataFrame) -> list[str]:
    return frame.write_ndjson().splitlines()


def table_messages(kind: str, table: pa.Table) -> list[tuple[str, str]]:
    """One message per row, built column by column (the live path's volume: a window close
    of 10 000 segments is 10 000 messages)."""
    if table.num_rows == 0:
        return []
    data = _json_ready(table)
    frame = data.select(
        pl.lit(kind).alias("type"),
        pl.col("segment_id"),
        pl.struct(data.columns).alias("data"),
    )
    return list(zip(table.column("segment_id").to_pylist(), _lines(frame), strict=True))


def prediction_messages(table: pa.Table) -> list[tuple[str, str]]:
    """One `prediction` message per segment, carrying all its horizons (rows of one issue)."""
    if table.num_rows == 0:
        return []
    data = _json_ready(table)
    grouped = data.group_by("segment_id", maintain_order=True).agg(
        pl.col("issued_at").first(),
        pl.col("model_version").first(),
        pl.struct(data.columns).alias("forecasts"),
    )
    frame = grouped.select(
        pl.lit("prediction").alias("type"),
        pl.col("segment_id"),
        pl.struct("issued_at", "model_version", "forecasts").alias("data"),
    )
    return list(zip(grouped.get_column("segment_id").to_list(), _lines(frame), strict=True))
