"""Train one forecaster per segment group, and say how each did in sums that add up.

`train_group` is the unit of work: a group's panel in, its trained model and a
JSON-able summary out. `trafficcast train --groups N` runs it for each group in
turn; `trafficcast spark train` runs it on Spark executors, one task per group, on
the same panels, so both register the same model (tests/spark compares them).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from trafficcast.forecast import training
from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.error_sums import ErrorSums
from trafficcast.forecast.grouped_model import GroupedModel
from trafficcast.forecast.models.gbm import GradientBoosting
from trafficcast.forecast.panel import Panel
from trafficcast.forecast.registration import candidate_sums, held_out_sums, validation_sums
from trafficcast.forecast.segment_groups import SegmentGroups

GroupProgress = Callable[[str, str, int, int], None]  # (group, stage, done, total)


def group_name(group: int) -> str:
    return f"group-{group:03d}"


@dataclass
class QuantitySummary:
    chosen: str  # the candidate kind chosen on validation
    validation: ErrorSums  # the chosen model, bands as calibrated
    candidates: dict[str, ErrorSums]  # every candidate on validation
    test: ErrorSums | None  # the chosen model on the held-out rows, bands adapting
    baselines: dict[str, ErrorSums] | None  # persistence and profile on the held-out rows

    def to_json(self) -> dict[str, Any]:
        return {
            "chosen": self.chosen,
            "validation": self.validation.to_json(),
            "candidates": {k: s.to_json() for k, s in self.candidates.items()},
            "test": None if self.test is None else self.test.to_json(),
            "baselines": None
            if self.baselines is None
            else {k: s.to_json() for k, s in self.baselines.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QuantitySummary:
        baselines = data.get("baselines")
        return cls(
            str(data["chosen"]),
            ErrorSums.from_json(data["validation"]),
            {k: ErrorSums.from_json(v) for k, v in data["candidates"].items()},
            None if data.get("test") is None else ErrorSums.from_json(data["test"]),
            None
            if baselines is None
            else {k: ErrorSums.from_json(v) for k, v in baselines.items()},
        )


@dataclass
class GroupSummary:
    """What one group's training tells the registry, without its arrays."""

    name: str
    segments: int
    quantities: dict[str, QuantitySummary]
    train_seconds: float
    gbm_params: dict[str, Any] | None  # the chosen GBM's parameters, when one was chosen

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "segments": self.segments,
            "quantities": {q: s.to_json() for q, s in self.quantities.items()},
            "train_seconds": self.train_seconds,
            "gbm_params": self.gbm_params,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GroupSummary:
        return cls(
            str(data["name"]),
            int(data["segments"]),
            {q: QuantitySummary.from_json(s) for q, s in data["quantities"].items()},
            float(data["train_seconds"]),
            data.get("gbm_params"),
        )


def train_group(
    panel: Panel,
    name: str,
    config: training.TrainConfig,
    split: training.Split,
    progress: training.StageProgress | None = None,
) -> tuple[TrainedModel, GroupSummary]:
    """Train every candidate on one group's panel, choose, and score on validation and,
    when the panel runs past `split.valid_end`, on the held-out rows."""
    began = time.perf_counter()
    model, results = training.train(panel, config, split, progress)
    seconds = time.perf_counter() - began
    held_out = (
        held_out_sums(results, split, config.steps, panel.steps, config)
        if split.valid_end < panel.steps
        else None
    )
    quantities = {
        q: QuantitySummary(
            r.chosen.model.kind,
            validation_sums(r, split, config.steps),
            candidate_sums(r, split, config.steps),
            None if held_out is None else held_out[q].chosen,
            None if held_out is None else held_out[q].baselines,
        )
        for q, r in results.items()
    }
    gbm = next(
        (q.model for q in model.quantities.values() if isinstance(q.model, GradientBoosting)),
        None,
    )
    params = None if gbm is None else asdict(gbm.params)
    return model, GroupSummary(name, panel.size, quantities, round(seconds, 3), params)


def train_grouped(
    panel: Panel,
    groups: SegmentGroups,
    config: training.TrainConfig,
    split: training.Split,
    progress: GroupProgress | None = None,
) -> tuple[GroupedModel, list[GroupSummary]]:
    """Train each group of `panel` in turn (what a Spark job does in parallel)."""
    names: list[str] = []
    members: list[TrainedModel] = []
    summaries: list[GroupSummary] = []
    for g in range(groups.count):
        name = group_name(g)

        def report(stage: str, done: int, total: int, name: str = name) -> None:
            if progress is not None:
                progress(name, stage, done, total)

        model, summary = train_group(panel.columns(groups.columns(g)), name, config, split, report)
        names.append(name)
        members.append(model)
        summaries.append(summary)
    return GroupedModel(config.steps, names, members), summaries
