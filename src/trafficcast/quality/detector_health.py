"""Per detector per day: a health status with its reason, as a PeMS-style system reports it.

Input is one row of counts per detector (store.detector_day_stats); the rules
are vectorised over all detectors at once. Reasons, checked in this order (the
first that applies is the one given):

- no_data: not one reading in the day;
- insufficient_data: fewer than `min_share` of the expected readings;
- stuck: the same speed in every reading (a frozen controller or loop);
- implausible: more than `max_implausible_share` of readings that cannot be
  true (a speed above `max_plausible_mph`, or 0 mph with vehicles counted);
- intermittent: enough readings, but a gap of `max_gap_minutes` or more;
- otherwise the detector is good.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

GOOD = "good"
BAD = "bad"
REASONS = ("ok", "no_data", "insufficient_data", "stuck", "implausible", "intermittent")

# The counts store.detector_day_stats returns for one day, one row per detector that reported.
DETECTOR_DAY_STATS_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("samples", pa.int64(), nullable=False),
        pa.field("distinct_speeds", pa.int64(), nullable=False),
        pa.field("implausible", pa.int64(), nullable=False),
        pa.field("max_gap_ms", pa.int64(), nullable=False),  # between readings, inside the day
        pa.field("first_ms", pa.int64(), nullable=False),
        pa.field("last_ms", pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True)
class HealthRules:
    expected_interval_s: float = 30.0  # PeMS loop detectors report every 30 s
    min_share: float = 0.6
    max_implausible_share: float = 0.1
    max_plausible_mph: float = 100.0
    max_gap_minutes: float = 30.0
    min_samples_for_stuck: int = 20


@dataclass(frozen=True)
class DetectorHealth:
    segment_id: npt.NDArray[np.object_]
    status: npt.NDArray[np.str_]
    reason: npt.NDArray[np.str_]
    samples: npt.NDArray[np.int64]
    expected: int
    share: npt.NDArray[np.float64]


def assess(
    segment_ids: list[str],
    stats: pa.Table,
    day_start_ms: int,
    day_end_ms: int,
    rules: HealthRules = HealthRules(),
) -> DetectorHealth:
    """Health of every detector in `segment_ids` over [day_start_ms, day_end_ms).

    `day_end_ms` may be "now" for the current day: readings are then expected
    only for the part of the day that has passed.
    """
    n = len(segment_ids)
    index = {s: i for i, s in enumerate(segment_ids)}
    rows = np.array([index.get(s, -1) for s in stats.column("segment_id").to_pylist()], np.int64)
    known = rows >= 0
    rows = rows[known]

    def column(name: str, fill: int = 0) -> npt.NDArray[np.int64]:
        out = np.full(n, fill, np.int64)
        out[rows] = stats.column(name).to_numpy(zero_copy_only=False)[known]
        return out

    samples = column("samples")
    distinct = column("distinct_speeds")
    implausible = column("implausible")
    span_ms = max(0, day_end_ms - day_start_ms)
    # The gaps at the day's edges count too: a detector that stops at noon has a long gap.
    first = column("first_ms", day_end_ms)
    last = column("last_ms", day_start_ms)
    gap_ms = np.maximum.reduce([column("max_gap_ms"), first - day_start_ms, day_end_ms - last])
    expected = int(span_ms / 1000 / rules.expected_interval_s)
    share = samples / expected if expected else np.zeros(n)

    reason = np.full(n, "ok", dtype=object)
    checks = [  # the last assignment wins, so these run from the least to the most severe
        (gap_ms >= rules.max_gap_minutes * 60_000, "intermittent"),
        (implausible > rules.max_implausible_share * np.maximum(samples, 1), "implausible"),
        ((distinct <= 1) & (samples >= rules.min_samples_for_stuck), "stuck"),
        (share < rules.min_share, "insufficient_data"),
        (samples == 0, "no_data"),
    ]
    for mask, name in checks:
        reason[mask] = name
    status = np.where(reason == "ok", GOOD, BAD)
    return DetectorHealth(
        segment_id=np.array(segment_ids, dtype=object),
        status=status.astype(str),
        reason=reason.astype(str),
        samples=samples,
        expected=expected,
        share=np.minimum(share, 1.0).astype(np.float64),
    )
