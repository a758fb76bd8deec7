"""Forecast error figures combined from the store's per-bucket accuracy rows
(Store.forecast_accuracy): GET /api/predictions/accuracy and the performance report
both use these, so the two cannot disagree."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pyarrow as pa


def by_horizon(table: pa.Table) -> list[dict[str, Any]]:
    """Whole-range figures per horizon from the bucket rows, each bucket weighted by its n."""
    if table.num_rows == 0:
        return []
    starts = table.column("bucket_start").cast(pa.int64()).to_pylist()
    rows = table.drop_columns(["bucket_start"]).to_pylist()
    for row, bucket in zip(rows, starts, strict=True):
        row["bucket"] = bucket
    out: list[dict[str, Any]] = []
    for horizon in sorted({r["horizon_minutes"] for r in rows}):
        group = [r for r in rows if r["horizon_minutes"] == horizon]
        newest = max(r["bucket"] for r in group)
        mae = _weighted(group, "speed_mae")
        mse = _weighted(group, "speed_rmse", squared=True)
        recent = _weighted([r for r in group if r["bucket"] == newest], "speed_mae")
        out.append(
            {
                "horizon_minutes": horizon,
                "n": sum(r["n"] for r in group),
                "speed_mae": mae,
                "speed_rmse": None if mse is None else math.sqrt(mse),
                "speed_mape": _weighted(group, "speed_mape"),
                "speed_coverage": _weighted(group, "speed_coverage"),
                "recent_mae": recent,
                "trend": recent / mae if recent is not None and mae else None,
            }
        )
    return out


def _weighted(rows: Sequence[dict[str, Any]], name: str, squared: bool = False) -> float | None:
    """Mean of a per-bucket figure weighted by n, over buckets where it is known."""
    total = weight = 0.0
    for r in rows:
        value = r[name]
        if value is None or not math.isfinite(value):
            continue
        total += r["n"] * (value * value if squared else value)
        weight += r["n"]
    return total / weight if weight else None


SCORES = ("speed_mae", "speed_rmse", "speed_mape", "speed_coverage")


def all_horizons(horizons: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The figures of by_horizon's rows together, each horizon weighted by its n."""
    mse = _weighted(horizons, "speed_rmse", squared=True)
    return {
        "n": sum(h["n"] for h in horizons),
        "speed_mae": _weighted(horizons, "speed_mae"),
        "speed_rmse": None if mse is None else math.sqrt(mse),
        "speed_mape": _weighted(horizons, "speed_mape"),
        "speed_coverage": _weighted(horizons, "speed_coverage"),
    }
