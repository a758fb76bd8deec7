"""Sign-in in a real headless Chromium, against a server that requires it.

Unlike the page checks (which run with the suite's anonymous admin), this server
sets anonymous_role="" explicitly: an anonymous visitor may only sign in. An admin
is created through the store before the server starts (no default passwords).
The browser steps live in web/e2e/pages/auth.e2e.mjs: the login screen, a wrong
password, users and API keys in Settings (a key shown once, then only its prefix;
it works until revoked), sign out, and a viewer who sees no admin sections, cannot
acknowledge alerts, and still gets the live map over the WebSocket with a token
that is renewed before it expires.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from tests.conftest import PROJECT_ROOT
from trafficcast.api.app import WEB_DIR
from trafficcast.api.background import BackgroundServer
from trafficcast.auth import service
from trafficcast.auth.roles import Role
from trafficcast.config import Settings
from trafficcast.domain.schema import ALERT_SCHEMA
from trafficcast.runtime import Runtime
from trafficcast.sources.feeds import SimulatorFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
ADMIN = "admin"
# Random enough for a throwaway server; the check reads it from argv, never a default.
ADMIN_PASSWORD = "e2e-admin-" + str(time.time_ns())[-10:]
# One minute: the check waits for the browser to renew it before it expires.
ACCESS_TOKEN_MINUTES = 1


@dataclass
class LoginServer:
    url: str
    runtime: Runtime
    node: str


def _open_alert(segment_id: str) -> pa.Table:
    """An open congestion alert, so the viewer has an Acknowledge button to be refused."""
    opened = datetime.now(UTC) - timedelta(minutes=10)
    return pa.Table.from_pylist(
        [
            {
                "alert_id": f"congestion:{segment_id}:e2e",
                "alert_type": "congestion",
                "severity": "major",
                "segment_id": segment_id,
                "state": "open",
                "opened_at": opened,
                "resolved_at": None,
                "message": "e2e: crawling traffic",
            }
        ],
        schema=ALERT_SCHEMA,
    )


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoginServer]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: scripts/install-chromium.sh installs it")
    if not (WEB_DIR / "index.html").exists():
        pytest.fail("the web page is not built: scripts/install.sh builds it")
    node = shutil.which("node")
    assert node, "Node.js is needed for the browser checks"
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("login"),
        anonymous_role="",  # explicit: the suite's anonymous admin must not apply here
        access_token_minutes=ACCESS_TOKEN_MINUTES,
    )
    runtime = Runtime(settings)
    sim = Simulator(SimulatorConfig(n_segments=40, seed=11))
    runtime.register_segments(sim.segments, sim.links)
    runtime.add_feed(SimulatorFeed(runtime.bus, sim, speed=1.0, history_hours=0.5))
    service.create_user(runtime.store, ADMIN, ADMIN_PASSWORD, Role.ADMIN)
    runtime.store.upsert_alerts(_open_alert(str(sim.segments.column("segment_id")[0])))
    with BackgroundServer(runtime) as server:
        yield LoginServer(server.url, runtime, node)


def test_login_roles_and_keys_in_chromium(login_server: LoginServer, artifacts: Path) -> None:
    script = PROJECT_ROOT / "web" / "e2e" / "pages" / "auth.e2e.mjs"
    out = artifacts / "browser" / "auth"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*"):
        old.unlink()
    result = subprocess.run(
        [login_server.node, str(script), login_server.url, str(out), ADMIN, ADMIN_PASSWORD],
        cwd=PROJECT_ROOT / "web",
        capture_output=True,
        text=True,
        timeout=300,
    )
    print(result.stdout)
    assert result.returncode == 0, f"auth check failed:\n{result.stdout}\n{result.stderr}"
    shots = list(out.glob("*.png"))
    assert len(shots) >= 5, f"too few screenshots: {sorted(s.name for s in shots)}"
    assert all(s.stat().st_size > 5_000 for s in shots), "a blank screenshot"
    # What the browser did is on the server too: the viewer exists, the key is revoked.
    users = {u.username: u for u in login_server.runtime.store.users()}
    assert users["e2e-viewer"].role is Role.VIEWER
    keys = login_server.runtime.store.api_keys()
    assert keys
    assert all(k.revoked_ms is not None for k in keys)
