"""Arrow rows to JSON-ready values: ISO 8601 UTC times, null for missing numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def iso_column(column: pa.Array | pa.ChunkedArray) -> list[str | None]:
    """ISO 8601 strings ending in Z (second precision unless sub-second is present)."""
    ms = column.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    values = np.asarray(ms.fill_null(0).to_numpy(zero_copy_only=False), dtype="datetime64[ms]")
    has_fraction = bool((values.astype(np.int64) % 1000 != 0).any())
    text = np.datetime_as_string(values, unit="ms" if has_fraction else "s").tolist()
    nulls = np.asarray(pc.is_null(ms).to_numpy(zero_copy_only=False), dtype=bool)
    return [None if null else t + "Z" for t, null in zip(text, nulls.tolist(), strict=True)]


def _float_column(column: pa.Array | pa.ChunkedArray) -> list[float | None]:
    values = np.asarray(column.to_numpy(zero_copy_only=False), dtype=np.float64)
    return [None if v != v or v in (np.inf, -np.inf) else v for v in values.tolist()]


def arrow_columns(table: pa.Table) -> dict[str, list[Any]]:
    out: dict[str, list[Any]] = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(column.type):
            out[name] = iso_column(column)
        elif pa.types.is_floating(column.type):
            out[name] = _float_column(column)
        else:
            out[name] = column.to_pylist()
    return out


def arrow_rows(table: pa.Table) -> list[dict[str, Any]]:
    columns = arrow_columns(table)
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]
