"""Train a grouped forecaster on Spark: one task per segment group, registered as one model.

Each task builds its group's panel from the archived windows and runs
grouped_training.train_group, as `trafficcast train --groups N` does in process;
it sends back the model's files (a tar) and its error sums. The driver loads the
members, sums the scores and registers the model through the same code as the
local run (grouped_registration.py), so the registry cannot tell them apart.

Executors run trafficcast's training code, so on a cluster trafficcast and its
dependencies (LightGBM, SciPy) must be installed where the executors run.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.grouped_model import GroupedModel
from trafficcast.forecast.grouped_registration import register_grouped
from trafficcast.forecast.grouped_training import GroupSummary, group_name, train_group
from trafficcast.forecast.panel import PanelError
from trafficcast.forecast.registry import ModelRecord, ModelRegistry
from trafficcast.forecast.training import Split, TrainConfig, check_test_slice
from trafficcast.spark.windows import NetworkPlan, planned_windows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Progress = Callable[[str], None]
RESULT_SCHEMA = "group int, kind string, artifacts string, summary string, files binary"


@dataclass
class SparkTraining:
    record: ModelRecord
    plan: NetworkPlan
    summaries: list[GroupSummary]
    seconds: float


def _tar(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path in sorted(folder.iterdir()):
            tar.add(path, arcname=path.name)
    return buffer.getvalue()


def _untar(data: bytes, folder: Path) -> None:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
        tar.extractall(folder, filter="data")  # refuses absolute paths and `..`


def group_task(
    plan: NetworkPlan, config: TrainConfig, split: Split
) -> Callable[[tuple[pa.Scalar, ...], pa.Table], pa.Table]:
    """The function each group's task runs (applyInArrow: group key, its rows)."""

    def train(key: tuple[pa.Scalar, ...], rows: pa.Table) -> pa.Table:
        group = int(key[0].as_py())
        model, summary = train_group(plan.panel(group, rows), group_name(group), config, split)
        with tempfile.TemporaryDirectory(prefix="trafficcast-group-") as tmp:
            artifacts = model.save(Path(tmp))
            files = _tar(Path(tmp))
        return pa.table(
            {
                "group": pa.array([group], pa.int32()),
                "kind": [model.kind],
                "artifacts": [json.dumps(artifacts)],
                "summary": [json.dumps(summary.to_json())],
                "files": pa.array([files], pa.binary()),
            }
        )

    return train


def train_on_spark(
    spark: SparkSession,
    url: str,
    start: date,
    end: date,
    *,
    links: pa.Table,
    groups: int,
    config: TrainConfig,
    test_fraction: float,
    validation_fraction: float,
    timezone: str,
    registry: ModelRegistry,
    seed: int,
    promote: bool,
    progress: Progress | None = None,
) -> SparkTraining:
    """Train one model per group of the archived windows of [start, end] and register them."""
    say = progress or (lambda _msg: None)
    began = time.perf_counter()
    with planned_windows(spark, url, start, end, links, groups, timezone) as (grouped, plan):
        steps = plan.grid[1]
        split = Split.fractions(steps, test_fraction, validation_fraction)
        check_test_slice(split, steps, config)
        say(
            f"{steps:,} steps of 5 minutes x {len(plan.segment_ids)} segments in "
            f"{groups} groups of {', '.join(map(str, plan.groups.sizes()))} "
            f"({plan.groups.cut_links} links cut); training one task per group"
        )
        result = (
            grouped.groupBy("group")
            .applyInArrow(group_task(plan, config, split), RESULT_SCHEMA)
            .toArrow()
        )
    rows = result.sort_by("group").to_pylist()
    if [r["group"] for r in rows] != list(range(groups)):
        raise PanelError("a segment group came back without a model")  # every group has rows
    say(f"trained {len(rows)} groups; registering")
    with tempfile.TemporaryDirectory(prefix="trafficcast-groups-") as tmp:
        members = []
        for r in rows:
            folder = Path(tmp) / group_name(r["group"])
            folder.mkdir()
            _untar(r["files"], folder)
            members.append(TrainedModel.load(folder, r["kind"], json.loads(r["artifacts"])))
        summaries = [GroupSummary.from_json(json.loads(r["summary"])) for r in rows]
        model = GroupedModel(config.steps, [s.name for s in summaries], members)
        seconds = time.perf_counter() - began
        record = register_grouped(
            registry,
            model,
            summaries,
            source=f"archive:{url} {start}..{end}",
            start_ms=plan.grid[0],
            split=split,
            seed=seed,
            train_seconds=seconds,
            cut_links=plan.groups.cut_links,
            promote=promote,
        )
    return SparkTraining(record, plan, summaries, seconds)
