"""Score past forecasts against the windows that later close.

Pending forecasts are held by target time; when a window with that end time
closes for a segment, the forecast is scored. Errors feed an exponentially
weighted MAE per horizon (the live accuracy metric and the band width).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from trafficcast.forecast.forecasts import Forecasts

_ALPHA = 0.05  # weight of one batch of scores; ~20 window closes of memory
_SLOW_ALPHA = 0.005  # the long-run level a rise is judged against; ~17 hours of closes
_TREND_AFTER = 24  # batches scored before a trend is reported (two hours)


@dataclass
class _Pending:
    segment: npt.NDArray[np.int64]
    horizon_idx: npt.NDArray[np.int64]
    speed: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    bands: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
    model_version: str


@dataclass
class ScoredBands:
    """One horizon's bands of one model met by the actuals of a close (for band adaptation)."""

    model_version: str
    horizon_min: int
    quantity: str  # "speed" or "volume"
    actual: npt.NDArray[np.float64]
    lower: npt.NDArray[np.float64]
    upper: npt.NDArray[np.float64]
    segment: npt.NDArray[np.int64]  # the catalog column of each value above


class LiveScorer:
    def __init__(self, horizons_min: npt.NDArray[np.int64]) -> None:
        self.horizons_min = horizons_min
        h = len(horizons_min)
        self.speed_mae = np.full(h, np.nan)
        self.speed_mae_slow = np.full(h, np.nan)
        self.batches = np.zeros(h, dtype=np.int64)
        self.volume_rel_mae = np.full(h, np.nan)
        self.scored = np.zeros(h, dtype=np.int64)
        self._pending: dict[int, list[_Pending]] = {}
        self.last_bands: list[ScoredBands] = []  # what the latest observe() scored

    def record(self, forecasts: Forecasts) -> None:
        """Hold forecasts for scoring; their horizons may be any subset of this scorer's."""
        n, h = forecasts.speed.shape
        if not np.isin(forecasts.horizons_min, self.horizons_min).all():
            raise ValueError(
                f"forecast horizons {forecasts.horizons_min.tolist()} are not all among the "
                f"scored ones {self.horizons_min.tolist()}"
            )
        cols = np.searchsorted(self.horizons_min, forecasts.horizons_min)
        hidx = np.broadcast_to(cols, (n, h))
        seg = np.broadcast_to(forecasts.segment[:, None], (n, h))
        for j in range(h):
            target = int(forecasts.target_ms[0, j]) if n else 0
            self._pending.setdefault(target, []).append(
                _Pending(
                    seg[:, j].copy(),
                    hidx[:, j].copy(),
                    forecasts.speed[:, j].copy(),
                    forecasts.volume[:, j].copy(),
                    {
                        "speed": (
                            forecasts.speed_lower[:, j].copy(),
                            forecasts.speed_upper[:, j].copy(),
                        ),
                        "volume": (
                            forecasts.volume_lower[:, j].copy(),
                            forecasts.volume_upper[:, j].copy(),
                        ),
                    },
                    forecasts.model_version,
                )
            )

    def observe(
        self,
        segment: npt.NDArray[np.int64],
        window_end_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
    ) -> int:
        """Score forecasts whose target windows just closed; returns how many."""
        scored = 0
        self.last_bands = []
        for end in np.unique(window_end_ms):
            pending = self._pending.pop(int(end), None)
            if not pending:
                continue
            at = window_end_ms == end
            size = 1 + int(
                max(
                    [int(segment.max())] + [int(p.segment.max()) for p in pending if len(p.segment)]
                )
            )
            actual_speed = np.full(size, np.nan)
            actual_volume = np.full(size, np.nan)
            actual_speed[segment[at]] = speed[at]
            actual_volume[segment[at]] = volume[at]
            for p in pending:
                hmin = int(self.horizons_min[int(p.horizon_idx[0])]) if len(p.segment) else 0
                for quantity, actual in (("speed", actual_speed), ("volume", actual_volume)):
                    lower, upper = p.bands[quantity]
                    self.last_bands.append(
                        ScoredBands(
                            p.model_version,
                            hmin,
                            quantity,
                            actual[p.segment],
                            lower,
                            upper,
                            p.segment,
                        )
                    )
                err = np.abs(p.speed - actual_speed[p.segment])
                ok = np.isfinite(err)
                verr = np.abs(p.volume - actual_volume[p.segment])
                vref = np.maximum(actual_volume[p.segment], 1.0)
                vok = np.isfinite(verr)
                for j in np.unique(p.horizon_idx):
                    sel = ok & (p.horizon_idx == j)
                    if sel.any():
                        batch_mae = float(err[sel].mean())
                        self.speed_mae[j] = _blend(self.speed_mae[j], batch_mae)
                        self.batches[j] += 1
                        # A plain mean until it has as much memory as the EWMA, so the
                        # long-run level is not just the first batches' error.
                        self.speed_mae_slow[j] = _blend(
                            self.speed_mae_slow[j],
                            batch_mae,
                            max(_SLOW_ALPHA, 1.0 / self.batches[j]),
                        )
                        self.scored[j] += int(sel.sum())
                        scored += int(sel.sum())
                    vsel = vok & (p.horizon_idx == j)
                    if vsel.any():
                        rel = float((verr[vsel] / vref[vsel]).mean())
                        self.volume_rel_mae[j] = _blend(self.volume_rel_mae[j], rel)
        return scored

    def trend(self) -> dict[int, float | None]:
        """Recent MAE over its long-run level per horizon (> 1: error rising); None too early."""
        out: dict[int, float | None] = {}
        for j, h in enumerate(self.horizons_min.tolist()):
            slow = self.speed_mae_slow[j]
            ready = self.batches[j] >= _TREND_AFTER and np.isfinite(slow) and slow > 0
            out[h] = round(float(self.speed_mae[j] / slow), 3) if ready else None
        return out

    def expire(self, before_ms: int) -> None:
        """Forget forecasts whose target passed long ago without an observation."""
        for target in [t for t in self._pending if t < before_ms]:
            del self._pending[target]


def _blend(current: float, new: float, alpha: float = _ALPHA) -> float:
    return new if np.isnan(current) else (1 - alpha) * current + alpha * new
