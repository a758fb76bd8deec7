"""Forecast error measures, masked: a missing actual (NaN) is never scored."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[np.floating]


def _pairs(actual: Array, predicted: Array) -> tuple[Array, Array]:
    ok = np.isfinite(actual) & np.isfinite(predicted)
    return actual[ok].astype(np.float64), predicted[ok].astype(np.float64)


def mae(actual: Array, predicted: Array) -> float:
    a, p = _pairs(actual, predicted)
    return float(np.abs(a - p).mean()) if len(a) else float("nan")


def rmse(actual: Array, predicted: Array) -> float:
    a, p = _pairs(actual, predicted)
    return float(np.sqrt(((a - p) ** 2).mean())) if len(a) else float("nan")


def mape(actual: Array, predicted: Array) -> float:
    """Percent, over actuals above zero."""
    a, p = _pairs(actual, predicted)
    pos = a > 0
    return float((np.abs(a - p)[pos] / a[pos]).mean() * 100) if pos.any() else float("nan")


def accuracy(actual: Array, predicted: Array) -> float:
    """T-GCN's Accuracy: 1 - ||Y - Yhat||_F / ||Y||_F."""
    a, p = _pairs(actual, predicted)
    return float(1 - np.linalg.norm(a - p) / np.linalg.norm(a)) if len(a) else float("nan")


def coverage(actual: Array, lower: Array, upper: Array) -> float:
    """Share of actuals inside [lower, upper]."""
    ok = np.isfinite(actual) & np.isfinite(lower) & np.isfinite(upper)
    if not ok.any():
        return float("nan")
    inside = (actual[ok] >= lower[ok]) & (actual[ok] <= upper[ok])
    return float(inside.mean())
