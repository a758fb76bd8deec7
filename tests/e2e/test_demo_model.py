"""The demo trains a forecaster on simulated history in the background, then serves it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from trafficcast.config import Settings
from trafficcast.demo_model import train_in_background
from trafficcast.forecast.blend import MODEL_VERSION as BLEND
from trafficcast.runtime import Runtime
from trafficcast.sources.feeds import SimulatorFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow


def test_demo_model_is_trained_promoted_and_serves(tmp_path: Path) -> None:
    runtime = Runtime(Settings(data_dir=tmp_path))
    sim = Simulator(SimulatorConfig(n_segments=40, seed=3))
    runtime.register_segments(sim.segments, sim.links)
    feed = SimulatorFeed(runtime.bus, sim, speed=1.0, history_hours=2.0)
    runtime.add_feed(feed)
    assert runtime.processor.model is None
    runtime.start()
    try:
        thread = train_in_background(
            runtime, Simulator(sim.config), feed.history_start_ms, days=2.0
        )
        thread.join(120)
        assert not thread.is_alive(), "training did not finish within two minutes"
        live = runtime.processor.model
        assert live is not None, "the trained model was not promoted"
        record = runtime.registry.active()
        assert record is not None
        assert record.version == live.version
        assert record.metadata["source"] == "simulator:seed=3"
        window = record.metadata["training_window"]
        assert window["segments"] == 40
        assert window["steps"] == 2 * 288
        # The winner was chosen on validation against the baselines, all of them recorded.
        assert set(record.metadata["candidates"]["speed"]) == {"gbm", "persistence", "profile"}

        # Forecasts on demand now come from it, for every segment that has closed a window.
        deadline = time.monotonic() + 60
        seg = 0
        while runtime.processor.forecast_on_demand(seg, np.array([15]), live) is None:
            assert time.monotonic() < deadline, "no 5-minute window closed"
            time.sleep(0.2)
        forecast = runtime.processor.forecast_on_demand(seg, np.arange(5, 61, 5), live)
        assert forecast is not None
        assert forecast.model_version == live.version != BLEND
        assert np.isfinite(forecast.speed).all()
        assert (forecast.speed_lower <= forecast.speed).all()
        assert (forecast.speed <= forecast.speed_upper).all()
    finally:
        runtime.stop()


def test_a_promotion_from_another_process_is_served(tmp_path: Path) -> None:
    """`trafficcast models promote` writes only the registry; a running server follows it."""
    import shutil

    from trafficcast.forecast.registry import ModelRegistry

    settings = Settings(data_dir=tmp_path, registry_poll_s=0.1)
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=10, seed=5))
    runtime.register_segments(sim.segments, sim.links)
    runtime.start()
    try:
        thread = train_in_background(runtime, Simulator(sim.config), 1_700_000_000_000, days=1.0)
        thread.join(120)
        first = runtime.registry.active()
        assert first is not None
        # Another process (its own registry object on the same folder) registers a second
        # version and promotes it.
        other = ModelRegistry(settings.registry_path)
        meta = {k: v for k, v in first.metadata.items() if k not in ("version", "created_at")}

        def copy_artifacts(folder: Path) -> None:
            for f in first.path.iterdir():
                if f.name != "model.json":
                    shutil.copy(f, folder / f.name)

        second = other.register(first.kind, meta, copy_artifacts)
        other.promote(second.version)
        deadline = time.monotonic() + 10
        while (live := runtime.processor.model) is None or live.version != second.version:
            assert time.monotonic() < deadline, "the server did not follow the promotion"
            time.sleep(0.05)
    finally:
        runtime.stop()
