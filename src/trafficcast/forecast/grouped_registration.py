"""Register a grouped forecaster with the metadata a single model carries, network-wide.

The top-level keys are those of registration.build_metadata, so whatever reads a
model's record (the API, the dashboard, `trafficcast models`) reads a grouped one
the same way: validation, candidates and test scores are the network's, summed
over the groups (error_sums.py). `groups` adds each group's own record.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trafficcast.forecast.error_sums import ErrorSums, total
from trafficcast.forecast.features import FEATURES
from trafficcast.forecast.grouped_model import GROUPED_KIND, GroupedModel
from trafficcast.forecast.grouped_training import GroupSummary
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS
from trafficcast.forecast.registration import by_horizon, strict_json
from trafficcast.forecast.registry import ModelRecord, ModelRegistry, RegistryError
from trafficcast.forecast.training import Split, horizons_minutes
from trafficcast.live.messages import iso


def _quantities(summaries: Sequence[GroupSummary]) -> list[str]:
    found = {q for s in summaries for q in s.quantities}
    return [q for q in ("speed", "volume") if q in found]


def _test(summaries: Sequence[GroupSummary], quantity: str) -> dict[str, Any] | None:
    parts = [s.quantities[quantity] for s in summaries if quantity in s.quantities]
    if any(p.test is None or p.baselines is None for p in parts):
        return None
    out: dict[str, Any] = dict(total([p.test for p in parts if p.test is not None]).scores())
    kinds = sorted({k for p in parts for k in (p.baselines or {})})
    out["baselines"] = {
        k: total([(p.baselines or {})[k] for p in parts if k in (p.baselines or {})]).scores()
        for k in kinds
    }
    return out


def grouped_metadata(
    model: GroupedModel,
    summaries: Sequence[GroupSummary],
    *,
    source: str,
    start_ms: int,
    split: Split,
    seed: int,
    train_seconds: float,
    cut_links: int,
) -> dict[str, Any]:
    """Everything register_grouped records except the artifacts manifest."""
    quantities = _quantities(summaries)

    def of(quantity: str) -> list[Any]:
        return [s.quantities[quantity] for s in summaries if quantity in s.quantities]

    candidates: dict[str, dict[str, Any]] = {}
    for q in quantities:
        kinds = sorted({k for p in of(q) for k in p.candidates})
        candidates[q] = {
            k: {
                "mae": by_horizon(
                    total([p.candidates[k] for p in of(q) if k in p.candidates]).mae()
                )
            }
            for k in kinds
        }
    params = next((s.gbm_params for s in summaries if s.gbm_params is not None), None)
    columns = (
        GbmParams(**{**params, "exclude": tuple(params["exclude"])}).columns() if params else []
    )
    metadata: dict[str, Any] = {
        "features": [FEATURES[i] for i in columns],
        "horizons_minutes": horizons_minutes(model.steps),
        "quantities": quantities,
        "training_window": {
            "start": iso(start_ms),
            "end": iso(start_ms + split.valid_end * STEP_MS),
            "steps": split.valid_end,
            "segments": sum(s.segments for s in summaries),
        },
        "source": source,
        "seed": seed,
        "validation": {q: total([p.validation for p in of(q)]).scores() for q in quantities},
        "candidates": candidates,
        "train_seconds": round(float(train_seconds), 3),
        "grouping": {"groups": len(summaries), "cut_links": cut_links},
        "groups": [_group_record(s) for s in summaries],
    }
    if params is not None:
        metadata["params"] = params
    tests = {q: _test(summaries, q) for q in quantities}
    if quantities and all(t is not None for t in tests.values()):
        metadata["test"] = tests
    return metadata


def _group_record(summary: GroupSummary) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": summary.name,
        "segments": summary.segments,
        "train_seconds": summary.train_seconds,
        "chosen": {q: s.chosen for q, s in summary.quantities.items()},
        "validation": {q: s.validation.scores() for q, s in summary.quantities.items()},
    }
    tests: dict[str, ErrorSums] = {
        q: s.test for q, s in summary.quantities.items() if s.test is not None
    }
    if tests:
        record["test"] = {q: t.scores() for q, t in tests.items()}
    return record


def register_grouped(
    registry: ModelRegistry,
    model: GroupedModel,
    summaries: Sequence[GroupSummary],
    *,
    source: str,
    start_ms: int,
    split: Split,
    seed: int,
    train_seconds: float,
    cut_links: int,
    promote: bool,
) -> ModelRecord:
    """Save a grouped model as a new registry version; promote it if asked."""
    if [s.name for s in summaries] != model.names:
        raise RegistryError("the group summaries do not match the model's groups")
    metadata = grouped_metadata(
        model,
        summaries,
        source=source,
        start_ms=start_ms,
        split=split,
        seed=seed,
        train_seconds=train_seconds,
        cut_links=cut_links,
    )

    def write(folder: Path) -> None:
        metadata["artifacts"] = strict_json(model.save(folder))

    return registry.register(GROUPED_KIND, metadata, write, promote=promote)
