"""SQL filter fragments the SQL adapters build alike, in their own placeholder style."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trafficcast.store.base import AccuracyQuery


@dataclass
class AccuracyFilters:
    """Extra WHERE conditions (each starting with AND) for the windows and the forecasts."""

    windows: str = ""
    window_params: list[Any] = field(default_factory=list)
    predictions: str = ""
    prediction_params: list[Any] = field(default_factory=list)


def accuracy_filters(query: AccuracyQuery, placeholder: str) -> AccuracyFilters:
    f = AccuracyFilters()
    if query.segment_id is not None:
        f.windows += f" AND segment_id = {placeholder}"
        f.window_params.append(query.segment_id)
        f.predictions += f" AND segment_id = {placeholder}"
        f.prediction_params.append(query.segment_id)
    if query.model_version is not None:
        f.predictions += f" AND model_version = {placeholder}"
        f.prediction_params.append(query.model_version)
    return f
