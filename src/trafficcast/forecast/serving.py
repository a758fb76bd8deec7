"""The model the pipeline serves from a registry version: single or grouped."""

from __future__ import annotations

from pathlib import Path

from trafficcast.forecast.grouped_live import GroupedLiveModel
from trafficcast.forecast.grouped_model import GroupedModel, load_registered
from trafficcast.forecast.live import LiveModel

ServingModel = LiveModel | GroupedLiveModel


def serving_model(folder: Path, version: str, timezone: str) -> ServingModel:
    """Load a registry version folder and make it ready to forecast."""
    trained = load_registered(folder)
    if isinstance(trained, GroupedModel):
        return GroupedLiveModel(trained, version, timezone)
    return LiveModel(trained, version, timezone)
