"""The API serves the dashboard's page shell on each client-side route (a reload or
a shared link works), and nothing else: unknown paths stay 404 with the envelope."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from trafficcast.api.app import DASHBOARD_PAGES, WEB_DIR
from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    if not (WEB_DIR / "index.html").exists():
        pytest.fail("the web page is not built: scripts/install.sh builds it")
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("pages")))
    sim = Simulator(SimulatorConfig(n_segments=5))
    runtime.register_segments(sim.segments, sim.links)
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        yield c


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/map",
        "/analytics",
        "/predictions",
        "/alerts",
        "/quality",
        "/reports",
        "/settings",
        "/segments/S-1%20x%C3%A9",
    ],
)
def test_every_page_route_gets_the_shell(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.text == (WEB_DIR / "index.html").read_text()


def test_the_route_table_matches_the_front_end() -> None:
    routes = (Path(__file__).parents[2] / "web" / "src" / "routes.tsx").read_text()
    for page in DASHBOARD_PAGES:
        client_path = page.lstrip("/").replace("{segment_id}", ":segmentId")
        assert f'path="{client_path}"' in routes, f"{page} is not a dashboard route"


@pytest.mark.parametrize("path", ["/nope", "/map/extra", "/segments", "/segments/a/b", "/api/nope"])
def test_other_paths_stay_404_with_the_envelope(client: httpx.Client, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert set(response.json()) == {"error", "request_id"}


def test_assets_are_still_files(client: httpx.Client) -> None:
    script = next((WEB_DIR / "assets").glob("index-*.js"))
    response = client.get(f"/assets/{script.name}")
    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
