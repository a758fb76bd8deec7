"""Spark training: one global model, in-process grouped training and Spark grouped training.

On the full pems08-partial dataset (170 detectors of PeMS district 8, ~4.45 days of
5-minute speed and volume, 295 road links), in one run and the same machine state:

- (a) the single global model `trafficcast train --dataset` makes: forecast.training.train,
  held_out_scores and register_trained on the dataset's panel;
- (b) in-process grouped training (`trafficcast train --groups G`): plan_groups,
  grouped_training.train_grouped and register_grouped, the groups one after another;
- (c) Spark grouped training (`trafficcast spark train`): spark.training.train_on_spark on
  `local[2]`, meant as one task per group, reading the same readings written as the archive's
  5-minute windows (Parquet, one partition a day) in a temporary folder. Timed from the
  job's start to the registered model (the JVM's start-up shown apart). The number of
  tasks of the stage that trained the groups is printed (one per group).

(b) reads its panel from the same windows the way Spark's plan does (segments sorted by
id), so (b) and (c) train the same groups and must register the same scores; the run
checks that, and that the windows hold the same data as (a)'s panel. All three score the
last 10 % of the steps (held out), after 10 % of validation, with the CLI's default models.

    .venv/bin/python bench/spark_training.py                 # G = 4
    .venv/bin/python bench/spark_training.py --groups 2 --days 2
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from _common import ROOT, console, header, table
from trafficcast.archive import open_archive
from trafficcast.archive.location import split_by_day
from trafficcast.domain.schema import STORED_WINDOW_SCHEMA
from trafficcast.forecast import training
from trafficcast.forecast.grouped_registration import register_grouped
from trafficcast.forecast.grouped_training import train_grouped
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MINUTES, STEP_MS, Panel
from trafficcast.forecast.registration import held_out_scores, register_trained
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.forecast.segment_groups import plan_groups
from trafficcast.forecast.sources import panel_from_dataset
from trafficcast.sources.dataset import load_dataset

DATA = ROOT / ".." / "shared" / "data" / "pems08-partial"
TZ = "UTC"
TEST_FRACTION = 0.1
VALIDATION_FRACTION = 0.1
HORIZONS = ("15", "30", "60")  # minutes


def windows_of(panel: Panel) -> pa.Table:
    """Every cell with a speed or a volume as an observed, current 5-minute window."""
    volume = panel.volume if panel.volume is not None else np.full(panel.speed.shape, np.nan)
    rows, cols = np.nonzero(np.isfinite(panel.speed) | np.isfinite(volume))
    n = len(rows)
    start = panel.start_ms + rows.astype(np.int64) * STEP_MS
    updated = panel.start_ms + panel.steps * STEP_MS

    def ts(ms: np.ndarray) -> pa.Array:
        return pa.array(ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))

    speed = pa.array(panel.speed[rows, cols].astype(np.float64), pa.float64(), from_pandas=True)
    return pa.Table.from_arrays(
        [
            panel.segment_ids.take(pa.array(cols)),
            pa.array(np.full(n, 5), pa.int32()),
            ts(start),
            ts(start + STEP_MS),
            speed,
            speed,
            pa.array(volume[rows, cols].astype(np.float64), pa.float64(), from_pandas=True),
            pa.nulls(n, pa.float64()),
            pa.array(np.ones(n, dtype=np.int64)),
            pa.array(np.ones(n)),
            pa.array(["A"] * n),
            ts(np.full(n, updated)),
            pa.array(["observed"] * n),
        ],
        schema=STORED_WINDOW_SCHEMA,
    )


def write_archive(folder: Path, windows: pa.Table) -> int:
    location = open_archive(str(folder))
    files = 0
    for day, part in split_by_day(windows, "window_start"):
        location.write_table(location.partition_dir("windows", day), part)
        files += 1
    return files


def panel_of_windows(windows: pa.Table, links: pa.Table) -> Panel:
    """The panel Spark's plan sees: the windows' segments sorted by id, their span of rows."""
    return Panel.from_readings(
        windows.column("segment_id"),
        np.asarray(windows.column("window_start").cast(pa.int64()).to_numpy(), dtype=np.int64),
        np.asarray(windows.column("mean_speed").to_numpy(zero_copy_only=False), dtype=float),
        np.asarray(windows.column("volume").to_numpy(zero_copy_only=False), dtype=float),
        links,
        TZ,
    )


def same_data(a: Panel, b: Panel) -> bool:
    """The same cells (NaN where missing) up to the order of the columns."""
    if (a.start_ms, a.steps, a.size) != (b.start_ms, b.steps, b.size):
        return False
    where = {s: i for i, s in enumerate(a.segment_ids.to_pylist())}
    order = np.array([where[s] for s in b.segment_ids.to_pylist()])
    pairs = [(a.speed, b.speed)]
    if a.volume is not None and b.volume is not None:
        pairs.append((a.volume, b.volume))
    return all(np.array_equal(x[:, order], y, equal_nan=True) for x, y in pairs)


def test_mae(metadata: dict[str, Any], quantity: str) -> list[float]:
    mae = metadata["test"][quantity]["mae"]
    return [float(mae[h]) for h in HORIZONS]


def fmt_mae(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in values)


def day_of(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, UTC).date()


def load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def training_tasks(spark: Any, group: str) -> int:
    """Tasks of the stage that trained the groups: the last of the job group's last job."""
    tracker = spark.sparkContext.statusTracker()
    info = tracker.getJobInfo(max(tracker.getJobIdsForGroup(group)))
    return int(tracker.getStageInfo(max(info.stageIds)).numCompletedTasks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", type=int, default=4)
    parser.add_argument("--days", type=float, default=None, help="only the last N days")
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=16)  # the settings' default
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark configuration, e.g. spark.sql.adaptive.coalescePartitions.enabled=false",
    )
    args = parser.parse_args()
    header("spark_training: one global model, grouped in process, grouped on Spark")
    console.print(f"load average at start: {load()} (1, 5, 15 min; 2 cores)")

    full = panel_from_dataset(DATA, TZ)
    if args.days is not None:  # the last N days, as `trafficcast train --days`
        keep = max(int(args.days * 24 * 60 / STEP_MINUTES), 1)
        full = full.rows(max(full.steps - keep, 0), full.steps)
    links = load_dataset(DATA, timezone=TZ).links
    config = training.TrainConfig(gbm=GbmParams(seed=args.seed))
    split = training.Split.fractions(full.steps, TEST_FRACTION, VALIDATION_FRACTION)
    training.check_test_slice(split, full.steps, config)
    console.print(
        f"data: pems08-partial, {full.steps:,} steps of 5 minutes ({full.steps / 288:.2f} days) "
        f"x {full.size} segments, speed and volume, {len(full.graph.src)} links; train "
        f"{split.train_end:,}, validation {split.valid_end - split.train_end:,}, test "
        f"{full.steps - split.valid_end:,} steps; {args.groups} groups"
    )

    tmp = Path(tempfile.mkdtemp(prefix="spark-training-bench-"))
    try:
        # (a) one model for the network, as `trafficcast train --dataset` does.
        began = time.perf_counter()
        model, results = training.train(full, config, split)
        trained_s = time.perf_counter() - began
        test = held_out_scores(results, split, config.steps, full.steps, config)
        global_record = register_trained(
            ModelRegistry(tmp / "registry-global"),
            model,
            results,
            source="bench",
            panel=full,
            split=split,
            config=config,
            seed=args.seed,
            train_seconds=trained_s,
            test=test,
            promote=False,
        )
        global_s = time.perf_counter() - began
        console.print(f"(a) global model: {global_s:.1f} s (training alone {trained_s:.1f} s)")

        # The same readings as the archive's windows, and the panel Spark's plan makes of them.
        windows = windows_of(full)
        files = write_archive(tmp / "archive", windows)
        panel = panel_of_windows(windows, links)
        same_as_a = same_data(full, panel)
        console.print(
            f"archive: {windows.num_rows:,} windows in {files} daily files; "
            f"same cells as (a)'s panel: {'yes' if same_as_a else 'NO'}"
        )

        # (b) grouped, in process, one group after another.
        began = time.perf_counter()
        plan = plan_groups(panel.graph, args.groups)
        grouped, summaries = train_grouped(panel, plan, config, split)
        local_record = register_grouped(
            ModelRegistry(tmp / "registry-local"),
            grouped,
            summaries,
            source="bench",
            start_ms=panel.start_ms,
            split=split,
            seed=args.seed,
            train_seconds=time.perf_counter() - began,
            cut_links=plan.cut_links,
            promote=False,
        )
        local_s = time.perf_counter() - began
        local_tasks = [s.train_seconds for s in summaries]
        console.print(
            f"(b) in-process grouped: {local_s:.1f} s; groups of "
            f"{', '.join(map(str, plan.sizes()))} segments, {plan.cut_links} of "
            f"{len(panel.graph.src)} links cut; per group "
            f"{', '.join(f'{s:.1f}' for s in local_tasks)} s"
        )

        # (c) grouped on Spark, one task per group.
        from trafficcast.spark.session import spark_session
        from trafficcast.spark.training import SparkTraining, train_on_spark

        began = time.perf_counter()
        spark = spark_session(
            args.master,
            "trafficcast-bench",
            shuffle_partitions=args.shuffle_partitions,
            extra={
                "spark.ui.showConsoleProgress": "false",
                **dict(c.split("=", 1) for c in args.conf),
            },
        )
        startup_s = time.perf_counter() - began
        console.print(f"Spark session start-up: {startup_s:.1f} s (not counted below)")

        def on_spark(name: str) -> tuple[SparkTraining, float]:
            spark.sparkContext.setJobGroup(name, "grouped training")
            began = time.perf_counter()
            done = train_on_spark(
                spark,
                str(tmp / "archive"),
                day_of(panel.start_ms),
                day_of(panel.start_ms + (panel.steps - 1) * STEP_MS),
                links=links,
                groups=args.groups,
                config=config,
                test_fraction=TEST_FRACTION,
                validation_fraction=VALIDATION_FRACTION,
                timezone=TZ,
                registry=ModelRegistry(tmp / "registry-spark"),
                seed=args.seed,
                promote=False,
                progress=console.print,
            )
            seconds = time.perf_counter() - began
            console.print(
                f"{name}: {seconds:.1f} s; per group "
                f"{', '.join(f'{s.train_seconds:.1f}' for s in done.summaries)} s; "
                f"tasks of the training stage: {training_tasks(spark, name)}"
            )
            return done, seconds

        runs: list[tuple[str, SparkTraining, float]] = []
        try:
            done, spark_s = on_spark(f"(c) Spark {args.master}")
            runs.append((f"(c) {args.groups} groups, Spark {args.master}", done, spark_s))
        finally:
            spark.stop()

        g_meta = global_record.metadata
        l_meta = local_record.metadata

        def same_as_b(run: SparkTraining) -> bool:
            same_groups = run.plan.groups.labels.tolist() == plan.labels.tolist()
            return same_groups and bool(run.record.metadata["test"] == l_meta["test"])

        rows: list[list[object]] = []
        for name, seconds, meta, tasks, cut in [
            ("(a) one global model", global_s, g_meta, [trained_s], 0),
            (f"(b) {args.groups} groups, in process", local_s, l_meta, local_tasks, plan.cut_links),
            *[
                (
                    label,
                    secs,
                    run.record.metadata,
                    [s.train_seconds for s in run.summaries],
                    run.plan.groups.cut_links,
                )
                for label, run, secs in runs
            ],
        ]:
            rows.append(
                [
                    name,
                    f"{seconds:.1f}",
                    f"{sum(tasks):.1f} / {max(tasks):.1f}",
                    cut,
                    fmt_mae(test_mae(meta, "speed")),
                    fmt_mae(test_mae(meta, "volume")),
                ]
            )
        console.print(
            table(
                f"pems08-partial, {full.size} segments x {full.steps:,} steps; "
                "network test MAE at 15 / 30 / 60 min",
                [
                    "run",
                    "wall s",
                    "training s: sum / longest",
                    "links cut",
                    "speed MAE, mph",
                    "volume MAE, veh/5 min",
                ],
                rows,
            )
        )
        console.print(
            f"Spark / in-process grouped wall time: {spark_s / local_s:.2f}"
            f"; grouped / global in process: {local_s / global_s:.2f}; Spark registered the "
            f"in-process groups and test scores: "
            + ", ".join(
                f"{label[:4]} {'yes' if same_as_b(run) else 'NO'}" for label, run, _ in runs
            )
        )
        console.print(f"load average at the end: {load()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
