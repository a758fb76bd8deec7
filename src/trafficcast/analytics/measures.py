"""Traffic-engineering performance measures from 5-minute windows (pure numpy).

Definitions follow Caltrans PeMS, per window of one segment:
- VMT (vehicle-miles travelled) = volume x segment length;
- VHT (vehicle-hours travelled) = VMT / speed;
- delay at a reference speed r (vehicle-hours) = VMT / speed - VMT / r when speed < r, else 0;
- travel-time index = free-flow speed / speed, averaged with VMT as the weight (1 = free flow);
- congestion hours = segment-hours of windows whose speed is below the congestion threshold;
- level of service A-F from speed against free-flow (domain.level_of_service), as hours per grade.
A window counts when its mean speed is finite and positive; one without a volume, or of a
segment without a length, still counts for congestion and level of service but adds no VMT.

Everything is kept as additive sums per (bucket, segment), so a report of any length is
accumulated one day at a time and any bucket or segment total is a plain sum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from trafficcast.domain.level_of_service import DEFAULT_FREE_FLOW_MPH, GRADES, level_of_service

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class MeasureConfig:
    reference_speeds: tuple[float, ...] = (35.0, 60.0)
    congestion_mph: float = 35.0
    window_minutes: int = 5
    # A bottleneck (Chen, Skabardonis & Varaiya, PeMS): the upstream detector is congested
    # (below upstream_below_mph) while the next one downstream runs at least drop_mph faster
    # -- the head of a queue -- for at least min_windows consecutive windows; "recurring"
    # when that happens on at least min_days local days of the report.
    bottleneck_drop_mph: float = 20.0
    bottleneck_upstream_below_mph: float = 40.0
    bottleneck_min_windows: int = 3
    bottleneck_min_days: int = 2

    def __post_init__(self) -> None:
        if not self.reference_speeds or any(
            not (np.isfinite(r) and r > 0) for r in self.reference_speeds
        ):
            raise ValueError("reference speeds must be positive")
        if len(set(self.reference_speeds)) != len(self.reference_speeds):
            raise ValueError("reference speeds must differ")
        if self.bottleneck_min_windows < 1 or self.bottleneck_min_days < 1:
            raise ValueError("bottleneck minimums must be >= 1")


@dataclass(frozen=True)
class WindowMeasures:
    """Per-window measures; `measured` marks the windows that count at all."""

    measured: npt.NDArray[np.bool_]
    vmt: F64
    vht: F64
    delay: F64  # (reference speeds, windows)
    tti_weighted: F64  # VMT x free-flow / speed: summed and divided by VMT gives the TTI
    congested: npt.NDArray[np.bool_]
    grade: I64  # 0 = A ... 5 = F; -1 when not measured


def free_flow_or_default(free_flow: F64) -> F64:
    ff = np.asarray(free_flow, dtype=np.float64)
    return np.where(np.isfinite(ff) & (ff > 0), ff, DEFAULT_FREE_FLOW_MPH)


def window_measures(
    speed: F64, volume: F64, length_miles: F64, free_flow: F64, config: MeasureConfig
) -> WindowMeasures:
    speed = np.asarray(speed, dtype=np.float64)
    measured = np.isfinite(speed) & (speed > 0)
    safe_speed = np.where(measured, speed, 1.0)
    volume = np.asarray(volume, dtype=np.float64)
    length = np.asarray(length_miles, dtype=np.float64)
    has_vmt = measured & np.isfinite(volume) & (volume >= 0) & np.isfinite(length) & (length > 0)
    vmt = np.where(has_vmt, volume * np.where(has_vmt, length, 0.0), 0.0)
    vht = vmt / safe_speed
    refs = np.asarray(config.reference_speeds, dtype=np.float64)[:, None]
    delay = np.where(speed[None, :] < refs, vht[None, :] - vmt[None, :] / refs, 0.0)
    delay = np.where(measured[None, :], delay, 0.0)
    ff = free_flow_or_default(free_flow)
    grade = np.full(speed.shape, -1, dtype=np.int64)
    if measured.any():
        letters = level_of_service(speed[measured], ff[measured])
        grade[measured] = np.searchsorted(GRADES, letters)
    return WindowMeasures(
        measured=measured,
        vmt=vmt,
        vht=vht,
        delay=delay,
        tti_weighted=vmt * ff / safe_speed,
        congested=measured & (speed < config.congestion_mph),
        grade=grade,
    )


@dataclass
class Sums:
    """Additive sums; the leading axes are whatever the caller groups by."""

    windows: I64
    vmt: F64
    vht: F64
    delay: F64  # reference speeds first
    tti_weighted: F64
    congested: I64
    grades: I64  # 6 grades first

    @classmethod
    def zeros(cls, shape: tuple[int, ...], n_refs: int) -> Sums:
        return cls(
            windows=np.zeros(shape, np.int64),
            vmt=np.zeros(shape),
            vht=np.zeros(shape),
            delay=np.zeros((n_refs, *shape)),
            tti_weighted=np.zeros(shape),
            congested=np.zeros(shape, np.int64),
            grades=np.zeros((len(GRADES), *shape), np.int64),
        )

    def add(self, flat_index: I64, m: WindowMeasures) -> None:
        """Adds windows into cells of the flattened grouping (one cell per window)."""
        idx = flat_index[m.measured]

        def into(target: npt.NDArray[np.generic], values: npt.NDArray[np.generic]) -> None:
            np.add.at(target.reshape(-1), idx, values[m.measured])

        into(self.windows, np.ones(len(m.measured), np.int64))
        into(self.vmt, m.vmt)
        into(self.vht, m.vht)
        into(self.tti_weighted, m.tti_weighted)
        into(self.congested, m.congested.astype(np.int64))
        for r in range(self.delay.shape[0]):
            np.add.at(self.delay[r].reshape(-1), idx, m.delay[r][m.measured])
        grades = m.grade[m.measured]
        for g in range(len(GRADES)):
            np.add.at(self.grades[g].reshape(-1), idx[grades == g], 1)

    def total(self, axis: int) -> Sums:
        """Sums over one of the grouping axes."""
        return Sums(
            windows=self.windows.sum(axis=axis),
            vmt=self.vmt.sum(axis=axis),
            vht=self.vht.sum(axis=axis),
            delay=self.delay.sum(axis=axis + 1),
            tti_weighted=self.tti_weighted.sum(axis=axis),
            congested=self.congested.sum(axis=axis),
            grades=self.grades.sum(axis=axis + 1),
        )


@dataclass(frozen=True)
class Measures:
    windows: int
    vmt: float
    vht: float
    delay: dict[float, float]  # vehicle-hours by reference speed
    travel_time_index: float | None
    mean_speed: float | None  # space-mean speed VMT / VHT
    congestion_hours: float
    los_hours: dict[str, float] = field(default_factory=dict)


def measures_at(sums: Sums, index: tuple[int, ...], config: MeasureConfig) -> Measures:
    """The measures of one cell of the sums."""
    hours = config.window_minutes / 60.0
    vmt = float(sums.vmt[index])
    vht = float(sums.vht[index])
    return Measures(
        windows=int(sums.windows[index]),
        vmt=vmt,
        vht=vht,
        delay={
            ref: float(sums.delay[(r, *index)]) for r, ref in enumerate(config.reference_speeds)
        },
        travel_time_index=float(sums.tti_weighted[index]) / vmt if vmt > 0 else None,
        mean_speed=vmt / vht if vht > 0 else None,
        congestion_hours=int(sums.congested[index]) * hours,
        los_hours={
            str(grade): int(sums.grades[(g, *index)]) * hours for g, grade in enumerate(GRADES)
        },
    )


def segment_grade(mean_speed: float | None, free_flow: float) -> str | None:
    if mean_speed is None:
        return None
    return str(level_of_service(np.array([mean_speed]), np.array([free_flow]))[0])


def rank_order(delay: F64, vht: F64, segment_ids: list[str]) -> list[int]:
    """Worst first: most delay (at the first reference speed), then most VHT, then by id."""
    return sorted(range(len(segment_ids)), key=lambda i: (-delay[i], -vht[i], segment_ids[i]))


def bottleneck_windows(
    speed: F64, upstream: I64, downstream: I64, config: MeasureConfig
) -> tuple[I64, F64]:
    """Per link, the windows inside sustained bottleneck runs and their summed speed drop.

    speed is (segments, consecutive windows) of one day, NaN where a window is missing; a
    missing window breaks a run. upstream/downstream index the segments of each link.
    """
    n_links = len(upstream)
    counts = np.zeros(n_links, np.int64)
    drop_sum = np.zeros(n_links)
    if n_links == 0 or speed.shape[1] == 0:
        return counts, drop_sum
    up, down = speed[upstream], speed[downstream]
    with np.errstate(invalid="ignore"):
        drop = down - up
        active = (up < config.bottleneck_upstream_below_mph) & (drop >= config.bottleneck_drop_mph)
    padded = np.zeros((n_links, speed.shape[1] + 2), np.int8)
    padded[:, 1:-1] = active
    edges = np.diff(padded, axis=1)
    # Row-major order pairs each run's start with its end.
    starts = np.argwhere(edges == 1)
    ends = np.argwhere(edges == -1)
    lengths = ends[:, 1] - starts[:, 1]
    keep = lengths >= config.bottleneck_min_windows
    rows = starts[keep, 0]
    np.add.at(counts, rows, lengths[keep])
    # Drop summed over the qualifying runs' windows: cumulative sums over each row.
    cum = np.concatenate([np.zeros((n_links, 1)), np.cumsum(np.where(active, drop, 0.0), 1)], 1)
    np.add.at(drop_sum, rows, cum[rows, ends[keep, 1]] - cum[rows, starts[keep, 1]])
    return counts, drop_sum
