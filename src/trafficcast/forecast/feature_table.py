"""Training features as a table: one row per segment and 5-minute step, in Arrow batches.

The columns are what the forecaster learns from (features.FEATURES), computed by the
same FeatureContext training uses, with profiles fitted on the training rows only, so
a row's features never saw its own targets. Per horizon come its horizon features
(`<name>_<minutes>min`) and the target `change_<minutes>min`: the reading then minus
the base, what the gradient-boosted model predicts. `part` says which slice of the
split the row's step falls in. Rows without a base (no reading in the last hour)
are left out, as the models give those no learned forecast.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pyarrow as pa

from trafficcast.forecast.features import BASE_FEATURES, HORIZON_FEATURES, INPUT_STEPS
from trafficcast.forecast.panel import STEP_MINUTES, STEP_MS, Panel
from trafficcast.forecast.training import Split, context

CHUNK_ROWS = 288  # steps per batch: a day


def feature_schema(steps: Sequence[int]) -> pa.Schema:
    fields = [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("window_start", pa.timestamp("ms", tz="UTC"), nullable=False),
        pa.field("group", pa.int32(), nullable=False),
        pa.field("quantity", pa.string(), nullable=False),
        pa.field("part", pa.string(), nullable=False),
    ]
    fields += [pa.field(name, pa.float32()) for name in BASE_FEATURES]
    for h in steps:
        minutes = h * STEP_MINUTES
        fields += [pa.field(f"{name}_{minutes}min", pa.float32()) for name in HORIZON_FEATURES]
        fields.append(pa.field(f"change_{minutes}min", pa.float32()))
    return pa.schema(fields)


def feature_batches(
    panel: Panel,
    quantity: str,
    split: Split,
    steps: Sequence[int],
    group: int = 0,
    chunk_rows: int = CHUNK_ROWS,
) -> Iterator[pa.RecordBatch]:
    """The feature rows of `panel` for `quantity`, a chunk of steps at a time."""
    schema = feature_schema(steps)
    ctx = context(panel, quantity, split.train_end)
    n = panel.size
    parts = np.array(["train", "validation", "test"])
    for begin in range(INPUT_STEPS - 1, panel.steps, chunk_rows):
        t_idx = np.arange(begin, min(begin + chunk_rows, panel.steps), dtype=np.int64)
        x, base = ctx.base_features(t_idx)
        keep = np.isfinite(base).ravel()
        if not keep.any():
            continue
        rows = np.repeat(t_idx, n)[keep]
        columns: list[pa.Array] = [
            panel.segment_ids.take(pa.array(np.tile(np.arange(n), len(t_idx))[keep])),
            pa.array(panel.start_ms + rows * STEP_MS, pa.int64()).cast(schema.field(1).type),
            pa.array(np.full(len(rows), group, dtype=np.int32)),
            pa.array(np.full(len(rows), quantity)),
            pa.array(parts[(rows >= split.train_end).astype(int) + (rows >= split.valid_end)]),
        ]
        flat = x.reshape(-1, x.shape[-1])[keep].astype(np.float32, copy=False)
        columns += [pa.array(flat[:, i]) for i in range(flat.shape[1])]
        for h in steps:
            hx = ctx.horizon_features(t_idx, h, base).reshape(-1, len(HORIZON_FEATURES))[keep]
            hx = hx.astype(np.float32, copy=False)
            columns += [pa.array(hx[:, i]) for i in range(hx.shape[1])]
            ahead = t_idx + h
            later = np.full((len(t_idx), n), np.nan, dtype=np.float32)
            inside = ahead < panel.steps
            later[inside] = ctx.values[ahead[inside]]
            columns.append(pa.array((later - base).ravel()[keep].astype(np.float32)))
        yield pa.RecordBatch.from_arrays(columns, schema=schema)
