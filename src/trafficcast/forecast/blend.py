"""The interim forecaster: last value blended into the usual profile.

For horizon h, the forecast is the segment's usual value for the target time
of day plus today's departure from the usual, decaying with h:

    forecast(t + h) = profile(t + h) + (last - profile(t)) * exp(-h / tau)

With no profile yet (short history) it is the last value. Profiles are online
means per segment, day type (weekday/weekend) and 5-minute slot, learned from
every closed 5-minute window, so no training step is needed. Bands come from
the live error per horizon (see live_scoring.py), with a prior until scored.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from trafficcast.domain.time_of_day import SLOTS_PER_DAY
from trafficcast.forecast.forecasts import Forecasts

MODEL_VERSION = "blend-v1"
Z80 = 1.2815515655446004  # two-sided 80 % normal interval
_PROFILE_ALPHA_FLOOR = 0.2  # running mean for the first 5 days, then a 5-day EWMA


class _Profile:
    def __init__(self) -> None:
        self.mean = np.zeros((0, 2, SLOTS_PER_DAY), dtype=np.float32)
        self.n = np.zeros((0, 2, SLOTS_PER_DAY), dtype=np.float32)

    def grow(self, size: int) -> None:
        extra = size - self.mean.shape[0]
        if extra > 0:
            pad = np.zeros((extra, 2, SLOTS_PER_DAY), dtype=np.float32)
            self.mean = np.concatenate([self.mean, pad])
            self.n = np.concatenate([self.n, pad.copy()])

    def update(
        self,
        seg: npt.NDArray[np.int64],
        day: npt.NDArray[np.int64],
        slot: npt.NDArray[np.int64],
        value: npt.NDArray[np.float64],
    ) -> None:
        ok = np.isfinite(value)
        seg, day, slot, value = seg[ok], day[ok], slot[ok], value[ok]
        n = self.n[seg, day, slot] + 1
        alpha = np.maximum(1.0 / n, _PROFILE_ALPHA_FLOOR)
        self.mean[seg, day, slot] += (alpha * (value - self.mean[seg, day, slot])).astype(
            np.float32
        )
        self.n[seg, day, slot] = n

    def at(
        self, seg: npt.NDArray[np.int64], day: npt.NDArray[np.int64], slot: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        return (
            self.mean[seg, day, slot].astype(np.float64),
            self.n[seg, day, slot].astype(np.float64),
        )


class BlendForecaster:
    def __init__(self, horizons_min: tuple[int, ...] = (15, 30, 45, 60), tau_min: float = 25.0):
        self.horizons_min = np.array(sorted(horizons_min), dtype=np.int64)
        self.tau_min = tau_min
        self.speed_profile = _Profile()
        self.volume_profile = _Profile()
        self.last_speed = np.zeros(0)
        self.last_volume = np.zeros(0)
        self.last_end_ms = np.zeros(0, dtype=np.int64)
        # Error scale per horizon (mph / vehicles); replaced by live scoring.
        self.speed_mae = 2.0 + 0.05 * self.horizons_min.astype(np.float64)
        self.volume_rel_mae = 0.10 + 0.002 * self.horizons_min.astype(np.float64)

    @property
    def size(self) -> int:
        return len(self.last_speed)

    def _grow(self, size: int) -> None:
        extra = size - len(self.last_speed)
        if extra > 0:
            self.last_speed = np.concatenate([self.last_speed, np.full(extra, np.nan)])
            self.last_volume = np.concatenate([self.last_volume, np.full(extra, np.nan)])
            self.last_end_ms = np.concatenate([self.last_end_ms, np.zeros(extra, np.int64)])
            self.speed_profile.grow(size)
            self.volume_profile.grow(size)

    def observe(
        self,
        seg: npt.NDArray[np.int64],
        window_end_ms: npt.NDArray[np.int64],
        slot: npt.NDArray[np.int64],
        day: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
    ) -> None:
        """Learn from closed 5-minute windows; `slot`/`day` are those of the window start."""
        if len(seg) == 0:
            return
        self._grow(int(seg.max()) + 1)
        self.speed_profile.update(seg, day, slot, speed)
        self.volume_profile.update(seg, day, slot, volume)
        self.observe_last(seg, window_end_ms, speed, volume)

    def observe_last(
        self,
        seg: npt.NDArray[np.int64],
        window_end_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
    ) -> None:
        """The newest value only, profiles untouched: a filled (imputed) window carries the
        forecast on, but an imputed value must not teach the usual it was made from."""
        if len(seg) == 0:
            return
        self._grow(int(seg.max()) + 1)
        # A late re-emission of an older window must not replace a newer value.
        newer = window_end_ms >= self.last_end_ms[seg]
        s = seg[newer]
        self.last_speed[s] = speed[newer]
        self.last_volume[s] = volume[newer]
        self.last_end_ms[s] = window_end_ms[newer]

    def forecast(
        self,
        seg: npt.NDArray[np.int64],
        issued_ms: int,
        now_slot: npt.NDArray[np.int64],
        now_day: npt.NDArray[np.int64],
        target_slot: npt.NDArray[np.int64],
        target_day: npt.NDArray[np.int64],
        horizons_min: npt.NDArray[np.int64] | None = None,
    ) -> Forecasts:
        """Forecast each segment in `seg` for every horizon (default: the configured ones).

        `now_slot`/`now_day` (n,) locate the window just closed; `target_slot`/
        `target_day` (n, H) the windows forecast.
        """
        self._grow(int(seg.max()) + 1 if len(seg) else 0)
        horizons = self.horizons_min if horizons_min is None else np.asarray(horizons_min)
        speed_mae = np.interp(horizons, self.horizons_min, self.speed_mae)
        volume_rel_mae = np.interp(horizons, self.horizons_min, self.volume_rel_mae)
        h = horizons[None, :].astype(np.float64)
        decay = np.exp(-h / self.tau_min)
        seg2 = seg[:, None]

        last_s = self.last_speed[seg][:, None]
        p_now, n_now = self.speed_profile.at(seg, now_day, now_slot)
        p_tgt, n_tgt = self.speed_profile.at(seg2, target_day, target_slot)
        known = (n_now[:, None] > 0) & (n_tgt > 0)
        speed = np.where(known, p_tgt + (last_s - p_now[:, None]) * decay, last_s)
        speed = np.clip(speed, 0.0, None)
        half = Z80 * speed_mae[None, :] / 0.7979  # MAE -> sigma for a normal error
        lower = np.clip(speed - half, 0.0, None)
        upper = speed + half

        last_v = self.last_volume[seg][:, None]
        pv_now, nv_now = self.volume_profile.at(seg, now_day, now_slot)
        pv_tgt, nv_tgt = self.volume_profile.at(seg2, target_day, target_slot)
        vknown = (nv_now[:, None] > 0) & (nv_tgt > 0)
        volume = np.clip(
            np.where(vknown, pv_tgt + (last_v - pv_now[:, None]) * decay, last_v), 0, None
        )
        vhalf = Z80 * volume_rel_mae[None, :] * volume / 0.7979
        # Confidence: narrower relative band and more profile history -> higher.
        history = np.minimum(n_tgt, 5.0) / 5.0
        rel_width = half / np.maximum(speed, 5.0)
        confidence = np.clip((1.0 - rel_width) * (0.6 + 0.4 * history), 0.0, 1.0)

        target_ms = issued_ms + horizons[None, :] * 60_000
        return Forecasts(
            segment=seg,
            issued_ms=issued_ms,
            horizons_min=horizons,
            target_ms=np.broadcast_to(target_ms, speed.shape).copy(),
            speed=speed,
            speed_lower=lower,
            speed_upper=upper,
            volume=volume,
            volume_lower=np.clip(volume - vhalf, 0.0, None),
            volume_upper=volume + vhalf,
            confidence=np.where(np.isfinite(speed), confidence, 0.0),
            model_version=MODEL_VERSION,
        )

    def calibrate(
        self, speed_mae: npt.NDArray[np.float64], volume_rel_mae: npt.NDArray[np.float64]
    ) -> None:
        """Adopt live error figures (NaN where a horizon has none yet)."""
        self.speed_mae = np.where(np.isfinite(speed_mae), speed_mae, self.speed_mae)
        self.volume_rel_mae = np.where(
            np.isfinite(volume_rel_mae), volume_rel_mae, self.volume_rel_mae
        )
