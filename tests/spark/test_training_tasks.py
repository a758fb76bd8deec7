"""Spark training runs one task per segment group, so the groups train side by side.

The rows reach the training function through a shuffle by group; adaptive query
execution would coalesce small post-shuffle partitions (16 -> 1 here), and hashing the
group numbers into 16 partitions puts groups 1 and 3 together, so without a partition
per group (spark/windows.py) the groups would train one after another in one task.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.archive import open_archive
from trafficcast.archive.location import split_by_day
from trafficcast.domain.schema import STORED_WINDOW_SCHEMA
from trafficcast.forecast.panel import STEP_MS
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.forecast.sources import panel_from_dataset
from trafficcast.forecast.training import TrainConfig
from trafficcast.sources.dataset import load_dataset

pytestmark = pytest.mark.slow

GROUPS = 4
# Baselines only: the point is where the groups run, not what they learn.
CONFIG = TrainConfig(candidates=("persistence", "profile"))


def archive_of(data: Path, folder: Path) -> tuple[date, date, pa.Table]:
    """A day and a half of pems08-partial as observed 5-minute windows in an archive."""
    panel = panel_from_dataset(data, "UTC").rows(0, 432)
    rows, cols = np.nonzero(np.isfinite(panel.speed))
    n = len(rows)
    start = panel.start_ms + rows.astype(np.int64) * STEP_MS
    assert panel.volume is not None

    def ts(ms: np.ndarray) -> pa.Array:
        return pa.array(ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))

    windows = pa.Table.from_arrays(
        [
            panel.segment_ids.take(pa.array(cols)),
            pa.array(np.full(n, 5), pa.int32()),
            ts(start),
            ts(start + STEP_MS),
            pa.array(panel.speed[rows, cols], pa.float64()),
            pa.array(panel.speed[rows, cols], pa.float64()),
            pa.array(panel.volume[rows, cols], pa.float64(), from_pandas=True),
            pa.nulls(n, pa.float64()),
            pa.array(np.ones(n, dtype=np.int64)),
            pa.array(np.ones(n)),
            pa.array(["A"] * n),
            ts(np.full(n, int(start.max()) + STEP_MS)),
            pa.array(["observed"] * n),
        ],
        schema=STORED_WINDOW_SCHEMA,
    )
    location = open_archive(str(folder))
    for day, part in split_by_day(windows, "window_start"):
        location.write_table(location.partition_dir("windows", day), part)

    def day(ms: int) -> date:
        return datetime.fromtimestamp(ms / 1000, UTC).date()

    return day(int(start.min())), day(int(start.max())), load_dataset(data, timezone="UTC").links


def test_each_group_trains_in_its_own_task(
    spark: object, shared_data: Path, tmp_path: Path
) -> None:
    from trafficcast.spark.training import train_on_spark

    first, last, links = archive_of(shared_data / "pems08-partial", tmp_path / "archive")
    context = spark.sparkContext  # type: ignore[attr-defined]
    context.setJobGroup("one-task-per-group", "training")
    try:
        done = train_on_spark(
            spark,  # type: ignore[arg-type]
            str(tmp_path / "archive"),
            first,
            last,
            links=links,
            groups=GROUPS,
            config=CONFIG,
            test_fraction=0.1,
            validation_fraction=0.1,
            timezone="UTC",
            registry=ModelRegistry(tmp_path / "registry"),
            seed=0,
            promote=False,
        )
    finally:
        context.setJobGroup(None, None)
    assert [g["segments"] for g in done.record.metadata["groups"]] == done.plan.groups.sizes()
    tracker = context.statusTracker()
    jobs = sorted(tracker.getJobIdsForGroup("one-task-per-group"))
    info = tracker.getJobInfo(jobs[-1])  # the job that trains and collects the models
    assert info is not None
    training_stage = tracker.getStageInfo(max(info.stageIds))
    assert training_stage.numCompletedTasks == GROUPS
