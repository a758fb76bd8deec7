"""The published evaluation protocols, reproduced exactly, for our models and the baselines.

- T-GCN (Los-loop): first 80 % of steps train, last 20 % test; for P = 3, 6, 9,
  12 steps, one test window per start i in range(len(test) - 12 - P), inputs
  the 12 steps before, metrics over all P forecast steps and all sensors.
- Chronological 70/10/20 (METR-LA, PEMS08, DCRNN's script): samples are the
  12-in/12-out windows of the whole series, split 70/10/20 in time order;
  each horizon (3, 6, 12 steps) is scored at that single step; targets that
  are missing (0 in the raw set) are not scored.
Hyper-parameters and the choice of model come from a validation slice of the
training period (T-GCN's protocol has none, so the last 1/8 of its training
part is held out); the test rows are read only to score.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trafficcast.forecast import metrics
from trafficcast.forecast.features import INPUT_STEPS
from trafficcast.forecast.intervals import online_bands
from trafficcast.forecast.models.base import PointModel
from trafficcast.forecast.panel import STEP_MINUTES, Panel
from trafficcast.forecast.training import (
    ALL_STEPS,
    BASELINES,
    Split,
    StageProgress,
    TrainConfig,
    fit_quantity,
)


@dataclass(frozen=True)
class Protocol:
    name: str
    style: str  # "tgcn" (mean over steps 1..P) or "single" (step P only)
    report_steps: tuple[int, ...]
    quantities: tuple[str, ...] = ("speed",)


TGCN = Protocol("T-GCN 80/20", "tgcn", (3, 6, 9, 12))
CHRONO = Protocol("70/10/20, single step", "single", (3, 6, 12))
CHRONO_FLOW = Protocol("70/10/20, single step", "single", (3, 6, 12), ("speed", "volume"))
PROTOCOLS = {"los-loop": TGCN, "metr-la-29": CHRONO, "pems08-partial": CHRONO_FLOW}
# Sets published without their own road graph, and the set whose graph covers them (README).
GRAPH_OF = {"metr-la-29": "los-loop"}


@dataclass
class ResultRow:
    dataset: str
    protocol: str
    quantity: str
    model: str
    horizon_min: int
    mae: float
    rmse: float
    mape: float
    accuracy: float
    coverage: float  # NaN for models without intervals
    interval_width: float  # mean width of the 80 % band; NaN without intervals
    train_seconds: float
    score_seconds: float
    chosen: bool = False


def _split(protocol: Protocol, steps: int) -> tuple[Split, npt.NDArray[np.int64]]:
    """(train/validation split, the test rows' "now" indices)."""
    if protocol.style == "tgcn":
        train_rows = int(steps * 0.8)
        split = Split.tail(train_rows, 0.125)
        return split, np.arange(train_rows + INPUT_STEPS - 1, steps - 1, dtype=np.int64)
    samples = steps - 2 * INPUT_STEPS + 1
    n_test = round(samples * 0.2)
    n_train = round(samples * 0.7)
    n_valid = samples - n_test - n_train
    first = INPUT_STEPS - 1
    split = Split(first + n_train, first + n_train + n_valid)
    test = np.arange(first + n_train + n_valid, first + samples, dtype=np.int64)
    return split, test


def _windows(
    protocol: Protocol, test_t: npt.NDArray[np.int64], steps: int, p: int
) -> npt.NDArray[np.int64]:
    if protocol.style == "tgcn":
        first = int(test_t[0]) - (INPUT_STEPS - 1)
        count = steps - first - INPUT_STEPS - p
        return np.asarray(test_t[:count], dtype=np.int64)
    return test_t


def _mean_width(
    actual: npt.NDArray[np.floating],
    lower: npt.NDArray[np.floating],
    upper: npt.NDArray[np.floating],
) -> float:
    ok = np.isfinite(actual) & np.isfinite(lower) & np.isfinite(upper)
    return float((upper[ok] - lower[ok]).mean()) if ok.any() else float("nan")


def evaluate(
    dataset: str,
    panel: Panel,
    protocol: Protocol,
    config: TrainConfig | None = None,
    progress: StageProgress | None = None,
) -> list[ResultRow]:
    """Train on the protocol's training part and score every model on its test part."""
    base = config or TrainConfig()
    needed = ALL_STEPS if protocol.style == "tgcn" else protocol.report_steps
    config = TrainConfig(needed, base.candidates, base.gbm, base.validation_fraction)
    split, test_t = _split(protocol, panel.steps)
    rows: list[ResultRow] = []
    for quantity in protocol.quantities:
        if quantity == "volume" and panel.volume is None:
            continue
        result = fit_quantity(panel, quantity, split, config, progress)
        fit_seconds = {c.kind: c.fit_seconds for c in result.candidates}
        ctx = result.ctx
        chosen = result.chosen
        models: dict[str, PointModel] = {c.kind: c.model for c in result.candidates}
        for name, model in models.items():
            began = time.perf_counter()
            pred = model.predict(ctx, test_t, needed)
            scored = time.perf_counter() - began
            is_chosen = model is chosen.model
            lo = hi = np.full_like(pred, np.nan, dtype=np.float64)
            if is_chosen:
                lo, hi = online_bands(ctx, chosen.calibration, test_t, pred, needed)
            for p in protocol.report_steps:
                t = _windows(protocol, test_t, panel.steps, p)
                pos = np.searchsorted(test_t, t)
                cols = (
                    [needed.index(h) for h in range(1, p + 1)]
                    if protocol.style == "tgcn"
                    else [needed.index(p)]
                )
                offsets = [needed[c] for c in cols]
                actual = np.stack([ctx.values[t + h] for h in offsets], axis=-1)
                yhat = pred[pos][..., cols]
                rows.append(
                    ResultRow(
                        dataset,
                        protocol.name,
                        quantity,
                        name if name not in BASELINES else f"{name} (baseline)",
                        p * STEP_MINUTES,
                        metrics.mae(actual, yhat),
                        metrics.rmse(actual, yhat),
                        metrics.mape(actual, yhat),
                        metrics.accuracy(actual, yhat),
                        metrics.coverage(actual, lo[pos][..., cols], hi[pos][..., cols]),
                        _mean_width(actual, lo[pos][..., cols], hi[pos][..., cols]),
                        fit_seconds[name],
                        scored,
                        is_chosen,
                    )
                )
    return rows
