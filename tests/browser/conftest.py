"""One running dashboard for the browser checks: a server fed by the simulator.

The server replays five hours of simulated history (enough for the predictions page to
retrain from the store) and then runs live, has a
trained model promoted (so the predictions page has a registry to show) and
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
        deadline = time.monotonic() + 60
        while runtime.store.latest_predictions(None, 1).num_rows == 0:
            assert time.monotonic() < deadline, "no forecasts within a minute of start"
            time.sleep(0.2)
        yield Dashboard(server.url, runtime, sim, node)
