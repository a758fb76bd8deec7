"""One running dashboard for the browser checks: a server fed by the simulator.

The server replays five hours of simulated history (enough for the predictions page to
retrain from the store) and then runs live, has a
trained model promoted (so the predictions page has a registry to show), a
grouped model registered but not promoted (its segment groups in the detail) and
forecasts stored. Page checks share it, in the order of PAGES, so a check that
changes state (an acknowledged alert, a promoted model) must not rely on the
state another check left, only on what it sets itself.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trafficcast.api.app import WEB_DIR
from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.demo_model import train_in_background
from trafficcast.runtime import Runtime
from trafficcast.sources.feeds import SimulatorFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

CHROMIUM = Path("/usr/bin/chromium")
SEGMENTS = 300


@dataclass
class Dashboard:
    url: str
    runtime: Runtime
    simulator: Simulator
    node: str


def register_grouped_model(runtime: Runtime, sim: Simulator) -> None:
    """A second, never promoted version of kind "grouped" (one model per segment group),
    so the predictions page shows a grouped model's detail. Registered after the demo
    model is promoted, so "latest" and the live model stay the ordinary one. Cheap (about
    6 s): three horizons, 20 boosting rounds, small samples."""
    from trafficcast.forecast import training
    from trafficcast.forecast.grouped_registration import register_grouped
    from trafficcast.forecast.grouped_training import train_grouped
    from trafficcast.forecast.models.gbm import GbmParams
    from trafficcast.forecast.panel import STEP_MS
    from trafficcast.forecast.segment_groups import plan_groups
    from trafficcast.forecast.sources import panel_from_events

    end = int(time.time() * 1000) // STEP_MS * STEP_MS
    panel = panel_from_events(
        sim.events(end - 86_400_000, end),
        sim.segments.column("segment_id").combine_chunks(),
        sim.links,
        runtime.settings.timezone,
        "simulated history",
    )
    gbm = GbmParams(seed=0, workers=1, max_rounds=20, max_train_rows=20_000)
    config = training.TrainConfig(steps=(3, 6, 12), gbm=gbm)
    split = training.Split.fractions(panel.steps, 0.125, 0.125)
    plan = plan_groups(panel.graph, 3)
    began = time.perf_counter()
    model, summaries = train_grouped(panel, plan, config, split)
    register_grouped(
        runtime.registry,
        model,
        summaries,
        source=f"simulator:seed={sim.config.seed}",
        start_ms=panel.start_ms,
        split=split,
        seed=0,
        train_seconds=time.perf_counter() - began,
        cut_links=plan.cut_links,
        promote=False,
    )


@pytest.fixture(scope="session")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: scripts/install-chromium.sh installs it")
    if not (WEB_DIR / "index.html").exists():
        pytest.fail("the web page is not built: scripts/install.sh builds it")
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser checks"
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("dashboard")))
    sim = Simulator(SimulatorConfig(n_segments=SEGMENTS, seed=7))
    runtime.register_segments(sim.segments, sim.links)
    runtime.add_feed(SimulatorFeed(runtime.bus, sim, speed=1.0, history_hours=5.0))
    training = train_in_background(runtime, sim, int(time.time() * 1000), days=1.0)
    with BackgroundServer(runtime) as server:
        training.join(timeout=300)
        assert runtime.registry.list(), "the dashboard's model did not train"
        register_grouped_model(runtime, sim)
        deadline = time.monotonic() + 60
        while runtime.store.latest_predictions(None, 1).num_rows == 0:
            assert time.monotonic() < deadline, "no forecasts within a minute of start"
            time.sleep(0.2)
        yield Dashboard(server.url, runtime, sim, node)
