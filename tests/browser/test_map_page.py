"""The map page in a real headless Chromium (Debian's), against a live server.

The page must load with no console errors, draw segments in their speed-band
colours (checked on a screenshot's pixels) and open the chart on a click. The
browser steps live in web/e2e/map.e2e.mjs (playwright-core); screenshots are
kept in test-artifacts/browser/.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from trafficcast.api.app import WEB_DIR
from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.feeds import SimulatorFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow
CHROMIUM = Path("/usr/bin/chromium")


def test_map_page_in_chromium(tmp_path: Path, artifacts: Path) -> None:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: scripts/install-chromium.sh installs it")
    if not (WEB_DIR / "index.html").exists():
        pytest.fail("the web page is not built: scripts/install.sh builds it")
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser test"
    runtime = Runtime(Settings(data_dir=tmp_path))
    sim = Simulator(SimulatorConfig(n_segments=300, seed=7))
    runtime.register_segments(sim.segments, sim.links)
    runtime.add_feed(SimulatorFeed(runtime.bus, sim, speed=1.0, history_hours=3.0))
    out = artifacts / "browser"
    out.mkdir(parents=True, exist_ok=True)
    with BackgroundServer(runtime) as server:
        deadline = time.monotonic() + 60
        while runtime.store.latest_predictions(None, 1).num_rows == 0:
            assert time.monotonic() < deadline, "no forecasts within a minute of start"
            time.sleep(0.2)
        result = subprocess.run(
            [node, "e2e/map.e2e.mjs", server.url, str(out)],
            cwd=PROJECT_ROOT / "web",
            capture_output=True,
            text=True,
            timeout=180,
        )
    print(result.stdout)
    assert result.returncode == 0, f"browser check failed:\n{result.stdout}\n{result.stderr}"
    assert (out / "map.png").stat().st_size > 10_000
    assert (out / "detail.png").exists()
