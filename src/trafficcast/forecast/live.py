"""A registered model serving the stream: forecasts from the recent history on each close.

The model's profiles belong to the segments it was trained on; live segments
are matched by id, and a segment the model never saw gets NaN profiles, which
the model was trained to handle (features.PROFILE_FEATURES). What the model
cannot forecast (a quantity it has no model for, a horizon it was not trained
for) is left NaN for the caller to fill from the interim forecaster.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.time_of_day import slots
from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.features import FeatureContext
from trafficcast.forecast.forecasts import Forecasts
from trafficcast.forecast.history import RecentHistory
from trafficcast.forecast.intervals import confidence
from trafficcast.forecast.live_scoring import ScoredBands
from trafficcast.forecast.panel import STEP_MINUTES, STEP_MS, Graph
from trafficcast.forecast.profiles import Profiles


@dataclass
class _Columns:
    """The model's profiles and the road graph laid out in the live catalog's column order."""

    size: int
    links_version: int
    profiles: dict[str, Profiles]
    graph: Graph
    codes: npt.NDArray[np.float32]


class LiveModel:
    def __init__(self, model: TrainedModel, version: str, timezone: str) -> None:
        self.model = model
        self.version = version
        self.timezone = timezone
        self._columns: _Columns | None = None
        self._lock = threading.Lock()

    def _layout(self, segment_ids: pa.Array, links: pa.Table, links_version: int) -> _Columns:
        with self._lock:
            cached = self._columns
            if (
                cached is not None
                and cached.size == len(segment_ids)
                and cached.links_version == links_version
            ):
                return cached
            cols = np.asarray(
                pc.index_in(segment_ids, value_set=self.model.segment_ids)
                .fill_null(-1)
                .to_numpy(zero_copy_only=False),
                dtype=np.int64,
            )
            layout = _Columns(
                len(segment_ids),
                links_version,
                {q: m.profiles.take(cols) for q, m in self.model.quantities.items()},
                Graph.from_links(links, segment_ids),
                np.where(cols >= 0, cols, np.nan).astype(np.float32),
            )
            self._columns = layout
            return layout

    def adapt(self, scored: list[ScoredBands]) -> None:
        """Follow the live misses of this model's bands (intervals.IntervalCalibration.adapt)."""
        trained = self.model.steps
        for b in scored:
            step = b.horizon_min // STEP_MINUTES
            q = self.model.quantities.get(b.quantity)
            if b.model_version != self.version or q is None or step not in trained:
                continue
            q.calibration.adapt(trained.index(step), b.actual, b.lower, b.upper, delay=step)

    def forecast(
        self,
        history: RecentHistory,
        segment: npt.NDArray[np.int64],
        issued_ms: int,
        horizons_min: npt.NDArray[np.int64],
        segment_ids: pa.Array,
        links: pa.Table,
        links_version: int = 0,
    ) -> Forecasts:
        """Forecasts for `segment` from the history row whose window ends at `issued_ms`.

        `segment_ids` are the live catalog's ids, one per history column.
        """
        n_cols = min(history.size, len(segment_ids))
        layout = self._layout(segment_ids.slice(0, n_cols), links, links_version)
        t = history.row_of(issued_ms - STEP_MS)
        steps = (horizons_min // STEP_MINUTES).astype(np.int64)
        trained = set(self.model.steps)
        usable = [j for j, h in enumerate(steps.tolist()) if h in trained]
        shape = (len(segment), len(steps))
        nan = np.full(shape, np.nan)
        out = {q: [nan.copy(), nan.copy(), nan.copy(), nan.copy()] for q in ("speed", "volume")}
        if 0 <= t < history.steps and usable and n_cols:
            # Calendar for every history row plus the horizons beyond the newest one.
            rows = history.steps + int(steps.max()) + 1
            starts = history.first_start_ms + np.arange(rows, dtype=np.int64) * STEP_MS
            slot, day = slots(starts, self.timezone)
            t_idx = np.array([t], dtype=np.int64)
            chosen = tuple(int(steps[j]) for j in usable)
            for quantity, qmodel in self.model.quantities.items():
                values = history.speed if quantity == "speed" else history.volume
                ctx = FeatureContext(
                    values[:, :n_cols],
                    slot,
                    day,
                    layout.profiles[quantity],
                    layout.graph,
                    layout.codes,
                )
                result = qmodel.forecast(ctx, t_idx, chosen, self.model.steps)
                parts: tuple[npt.NDArray[np.floating], ...] = (
                    result.value,
                    result.lower,
                    result.upper,
                    result.confidence,
                )
                for k, arr in enumerate(parts):
                    # A segment newer than the history has no learned forecast yet.
                    known = segment < n_cols
                    block = np.full((len(segment), len(usable)), np.nan)
                    block[known] = arr[0][segment[known]]
                    out[quantity][k][:, usable] = block
        speed, s_lo, s_hi, s_conf = out["speed"]
        volume, v_lo, v_hi, _ = out["volume"]
        return Forecasts(
            segment=segment,
            issued_ms=issued_ms,
            horizons_min=horizons_min,
            target_ms=np.broadcast_to(issued_ms + horizons_min * 60_000, shape).copy(),
            speed=np.clip(speed, 0.0, None),
            speed_lower=s_lo,
            speed_upper=s_hi,
            volume=np.clip(volume, 0.0, None),
            volume_lower=v_lo,
            volume_upper=v_hi,
            confidence=np.where(np.isfinite(s_conf), s_conf, confidence(speed, s_lo, s_hi)),
            model_version=self.version,
        )


def merge(primary: Forecasts, fallback: Forecasts) -> Forecasts:
    """`primary` where it has a value, `fallback` elsewhere, field by field per quantity."""
    has_speed = np.isfinite(primary.speed)
    has_volume = np.isfinite(primary.volume)

    def pick(
        mask: npt.NDArray[np.bool_], a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
    ) -> npt.NDArray[np.float64]:
        out: npt.NDArray[np.float64] = np.where(mask, a, b)
        return out

    return Forecasts(
        segment=primary.segment,
        issued_ms=primary.issued_ms,
        horizons_min=primary.horizons_min,
        target_ms=primary.target_ms,
        speed=pick(has_speed, primary.speed, fallback.speed),
        speed_lower=pick(has_speed, primary.speed_lower, fallback.speed_lower),
        speed_upper=pick(has_speed, primary.speed_upper, fallback.speed_upper),
        volume=pick(has_volume, primary.volume, fallback.volume),
        volume_lower=pick(has_volume, primary.volume_lower, fallback.volume_lower),
        volume_upper=pick(has_volume, primary.volume_upper, fallback.volume_upper),
        confidence=pick(has_speed, primary.confidence, fallback.confidence),
        model_version=primary.model_version,
    )
