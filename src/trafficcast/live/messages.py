"""JSON texts of the live messages (`traffic_event`, `window`, `prediction`, `alert`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import orjson


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


def table_row_messages(kind: str, rows: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """One message per row of an Arrow table (already as JSON-ready dicts)."""
    return [(str(r["segment_id"]), message(kind, str(r["segment_id"]), r)) for r in rows]
