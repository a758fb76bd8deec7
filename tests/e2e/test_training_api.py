"""Training jobs through the real app: retrain from the store's history while it serves.

Five hours of simulated readings go through the whole pipeline into the store;
a job then trains on them in the background and registers (not promotes) a model.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.forecast.panel import Panel, PanelError
from trafficcast.forecast.training_jobs import TrainingRequest
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR


def replayed(tmp: Path, hours: float) -> Runtime:
    """A runtime whose store holds `hours` of simulated readings, windows and forecasts."""
    sim = Simulator(SimulatorConfig(n_segments=12, seed=11, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, T0 + int(hours * HOUR)), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp))
    runtime.register_segments(data.segments, data.links)
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    runtime.start()
    assert feed.finished.wait(60)
    assert runtime.processor.wait_idle(60)
    runtime.processor.request_flush()
    assert runtime.processor.wait_idle(60)
    return runtime


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackgroundServer]:
    runtime = replayed(tmp_path_factory.mktemp("training"), 5.0)
    with BackgroundServer(runtime) as served:
        yield served


@pytest.fixture
def client(server: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as c:
        yield c


def wait_for_job(client: httpx.Client, job_id: str, timeout: float = 120) -> list[dict[str, Any]]:
    """Every state the job was seen in, until it finished."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/api/models/jobs/{job_id}")
        assert r.status_code == 200, r.text
        seen.append(r.json())
        if seen[-1]["state"] in ("succeeded", "failed"):
            return seen
        assert time.monotonic() < deadline, f"job still {seen[-1]}"
        time.sleep(0.02)


def assert_envelope(r: httpx.Response, status: int, code: str, field: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"]["code"] == code
    assert field in [d["field"] for d in body["error"]["details"]], body
    assert body["request_id"]
    return body


def test_a_retrain_runs_in_the_background_and_registers_a_model(client: httpx.Client) -> None:
    before = {m["version"] for m in client.get("/api/models").json()["models"]}
    r = client.post("/api/models/train", json={"days": 1})
    assert r.status_code == 202, r.text
    job = r.json()["job"]
    assert job["state"] in ("queued", "running")
    assert job["days"] == 1
    assert job["version"] is None
    assert job["finished_at"] is None

    seen = wait_for_job(client, job["job_id"])
    done = seen[-1]
    assert done["state"] == "succeeded", done["error"]
    assert (done["stage"], done["progress"], done["error"]) == ("done", 1.0, None)
    progress = [s["progress"] for s in seen]
    assert progress == sorted(progress), "progress went back"
    assert all(0.0 <= p <= 1.0 for p in progress)
    assert done["started_at"] <= done["finished_at"]

    models = client.get("/api/models").json()
    versions = {m["version"] for m in models["models"]}
    assert versions - before == {done["version"]}
    new = next(m for m in models["models"] if m["version"] == done["version"])
    # Registered, not promoted: the page offers promotion.
    assert not new["promoted"]
    assert not new["live"]
    assert models["live_model_version"] != done["version"]
    assert set(new["validation"]["speed"]["mae"]) == {str(5 * h) for h in range(1, 13)}
    detail = client.get(f"/api/models/{done['version']}").json()
    assert detail["metadata"]["source"] == "store:last 1 day"
    # The five stored hours are the whole day asked for: 60 steps of 12 segments, the last
    # tenth held out as a test slice.
    window = detail["training_window"]
    assert window["segments"] == 12
    assert window["steps"] + 13 in range(58, 62)
    assert "test" in detail

    jobs = client.get("/api/models/jobs").json()["jobs"]
    assert jobs[0]["job_id"] == job["job_id"]
    assert jobs[0] == done


def test_one_job_at_a_time(server: BackgroundServer, client: httpx.Client) -> None:
    release = threading.Event()
    runtime = server.runtime

    def held() -> Panel:
        release.wait(30)
        raise PanelError("released")

    job, thread = runtime.training.start(TrainingRequest(1.0, "held", held))
    try:
        body = assert_envelope(
            client.post("/api/models/train", json={"days": 1}),
            409,
            "training_in_progress",
            "job_id",
        )
        assert job.job_id in body["error"]["message"]
        listed = client.get("/api/models/jobs").json()["jobs"]
        assert listed[0]["job_id"] == job.job_id
        assert listed[0]["state"] == "running"
    finally:
        release.set()
        thread.join(30)
    failed = client.get(f"/api/models/jobs/{job.job_id}").json()
    assert failed["state"] == "failed"
    assert failed["error"] == "released"
    assert failed["finished_at"] is not None


@pytest.mark.parametrize(
    "body",
    [
        {"days": 0},
        {"days": 57},
        {"days": -1},
        {"days": "7"},
        {"days": 7.5},
        {"days": True},
        {"days": None},
        {"days": 10**30},
        {"days": 7, "promote": True},
    ],
)
def test_bad_train_requests_name_the_field(client: httpx.Client, body: dict[str, Any]) -> None:
    field = "promote" if "promote" in body else "days"
    assert_envelope(client.post("/api/models/train", json=body), 422, "validation_error", field)


def test_malformed_bodies_are_refused(client: httpx.Client) -> None:
    for content in (b"", b"{", b"[1, 2]", b'"days"', b"\xff\xfe"):
        r = client.post(
            "/api/models/train", content=content, headers={"Content-Type": "application/json"}
        )
        assert r.status_code in (400, 422), (content, r.text)
        assert "error" in r.json()


def test_unknown_and_hostile_job_ids(client: httpx.Client) -> None:
    assert_envelope(client.get("/api/models/jobs/nope"), 404, "not_found", "job_id")
    assert client.get("/api/models/jobs/" + "a" * 65).status_code == 422
    assert client.get("/api/models/jobs/..%2F..%2Fetc").status_code == 404


def test_too_little_history_is_refused_before_any_job(tmp_path: Path) -> None:
    short = replayed(tmp_path / "short", 2.0)
    try:
        with BackgroundServer(short) as served, httpx.Client(base_url=served.url) as c:
            body = assert_envelope(
                c.post("/api/models/train", json={"days": 7}), 409, "insufficient_data", "days"
            )
            assert "at least 3 h 05 min" in body["error"]["message"]
            assert c.get("/api/models/jobs").json() == {"jobs": []}
    finally:
        short.stop()
    empty = Runtime(Settings(data_dir=tmp_path / "empty"))
    try:
        with BackgroundServer(empty) as served, httpx.Client(base_url=served.url) as c:
            body = assert_envelope(
                c.post("/api/models/train", json={"days": 1}), 409, "insufficient_data", "days"
            )
            assert "no 5-minute windows" in body["error"]["message"]
    finally:
        empty.stop()
