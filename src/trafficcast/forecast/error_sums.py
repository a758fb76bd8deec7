"""The sums behind MAE, RMSE and interval coverage, per horizon, so scores add up.

Segment groups trained apart (on Spark executors, or one after another) are scored
apart; the network's MAE is the sum of every group's absolute errors over the sum
of their counts, not the mean of their MAEs. The sums travel as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.panel import STEP_MINUTES

Scores = dict[str, dict[str, float]]  # metric -> horizon minutes (as text) -> value
_FIELDS = ("abs_error", "sq_error", "count", "covered", "banded")


def _by_minutes(values: Mapping[int, float]) -> dict[str, float]:
    return {str(step * STEP_MINUTES): float(v) for step, v in sorted(values.items())}


@dataclass
class ErrorSums:
    """Per horizon step: sum of |error|, sum of error², scored pairs, and for bands the
    actuals inside them over the actuals that had a band. Missing values are never scored."""

    abs_error: dict[int, float] = field(default_factory=dict)
    sq_error: dict[int, float] = field(default_factory=dict)
    count: dict[int, int] = field(default_factory=dict)
    covered: dict[int, int] = field(default_factory=dict)
    banded: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        actual: npt.NDArray[np.floating],
        predicted: npt.NDArray[np.floating],
        steps: Sequence[int],
        lower: npt.NDArray[np.floating] | None = None,
        upper: npt.NDArray[np.floating] | None = None,
    ) -> ErrorSums:
        """Sums over (..., len(steps)) arrays, the last axis being the horizon."""
        out = cls()
        for j, h in enumerate(steps):
            a, p = actual[..., j], predicted[..., j]
            ok = np.isfinite(a) & np.isfinite(p)
            err = a[ok].astype(np.float64) - p[ok].astype(np.float64)
            out.abs_error[h] = float(np.abs(err).sum())
            out.sq_error[h] = float((err**2).sum())
            out.count[h] = int(ok.sum())
            if lower is not None and upper is not None:
                lo, hi = lower[..., j], upper[..., j]
                has = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
                out.covered[h] = int(((a[has] >= lo[has]) & (a[has] <= hi[has])).sum())
                out.banded[h] = int(has.sum())
        return out

    def merge(self, other: ErrorSums) -> ErrorSums:
        def add(a: Mapping[int, Any], b: Mapping[int, Any]) -> dict[int, Any]:
            return {h: a.get(h, 0) + b.get(h, 0) for h in sorted(set(a) | set(b))}

        return ErrorSums(
            add(self.abs_error, other.abs_error),
            add(self.sq_error, other.sq_error),
            add(self.count, other.count),
            add(self.covered, other.covered),
            add(self.banded, other.banded),
        )

    def mae(self) -> dict[int, float]:
        return {h: self.abs_error[h] / n for h, n in self.count.items() if n > 0}

    def scores(self) -> Scores:
        """{"mae": {...}, "rmse": {...}} and "coverage" when bands were scored; horizons
        with nothing scored are left out (model.json is strict JSON: no NaN)."""
        out: Scores = {
            "mae": _by_minutes(self.mae()),
            "rmse": _by_minutes(
                {h: math.sqrt(self.sq_error[h] / n) for h, n in self.count.items() if n > 0}
            ),
        }
        if self.banded:
            out["coverage"] = _by_minutes(
                {h: self.covered[h] / n for h, n in self.banded.items() if n > 0}
            )
        return out

    def to_json(self) -> dict[str, dict[str, float]]:
        return {
            name: {str(h): v for h, v in getattr(self, name).items()}
            for name in _FIELDS
            if getattr(self, name)
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Mapping[str, float]]) -> ErrorSums:
        """Parse to_json's output; ValueError naming the field when it is not that."""
        if not isinstance(data, Mapping):
            raise ValueError(f"error sums: an object, not {type(data).__name__}")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"error sums: unknown field {unknown[0]!r}")
        out = cls()
        for name in _FIELDS:
            values = data.get(name, {})
            if not isinstance(values, Mapping):
                raise ValueError(f"error sums: {name}: an object of horizon -> number")
            cast = float if name in ("abs_error", "sq_error") else int
            for h, v in values.items():
                if not (isinstance(h, str) and h.isdigit()):
                    raise ValueError(f"error sums: {name}: horizon {h!r} is not a step number")
                if isinstance(v, bool) or not isinstance(v, int | float):
                    raise ValueError(f"error sums: {name}[{h}]: {v!r} is not a number")
                getattr(out, name)[int(h)] = cast(v)
        for group in (("abs_error", "sq_error", "count"), ("covered", "banded")):
            steps = {name: set(getattr(out, name)) for name in group}
            if len({frozenset(v) for v in steps.values()}) > 1:
                raise ValueError(f"error sums: {', '.join(group)} cover different horizons")
        return out


def total(sums: Sequence[ErrorSums]) -> ErrorSums:
    out = ErrorSums()
    for s in sums:
        out = out.merge(s)
    return out
