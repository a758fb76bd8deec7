"""Forecast settings through the real app: validated, saved in the store, applied live."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.forecast.schedule import ForecastSchedule
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR


@pytest.fixture
def served(tmp_path: Path) -> Iterator[BackgroundServer]:
    runtime = Runtime(Settings(data_dir=tmp_path, horizons_min=(15, 30, 45, 60)))
    with BackgroundServer(runtime) as server:
        yield server


@pytest.fixture
def client(served: BackgroundServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.url, timeout=30) as c:
        yield c


def test_defaults_come_from_the_environment(client: httpx.Client) -> None:
    body = client.get("/api/settings/forecast").json()
    assert body == {
        "horizons_min": [15, 30, 45, 60],
        "refresh_minutes": 5,
        "available_horizons_min": list(range(5, 61, 5)),
        "refresh_choices_minutes": [5, 10, 15, 30, 60],
        "default_horizons_min": [15, 30, 45, 60],
        "default_refresh_minutes": 5,
    }


def test_a_change_applies_live_and_reads_back(
    served: BackgroundServer, client: httpx.Client
) -> None:
    r = client.put(
        "/api/settings/forecast", json={"horizons_min": [60, 5, 5], "refresh_minutes": 15}
    )
    assert r.status_code == 200, r.text
    assert r.json()["horizons_min"] == [5, 60]
    assert r.json()["refresh_minutes"] == 15
    assert client.get("/api/settings/forecast").json() == r.json()
    assert served.runtime.processor.schedule == ForecastSchedule((5, 60), 15)
    # A GET body sent back as it is applies too.
    body = client.get("/api/settings/forecast").json()
    body["horizons_min"] = [30]
    assert client.put("/api/settings/forecast", json=body).json()["horizons_min"] == [30]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"horizons_min": [], "refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [7], "refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [65, 120], "refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [15], "refresh_minutes": 7}, ["refresh_minutes"]),
        ({"horizons_min": [], "refresh_minutes": 0}, ["horizons_min", "refresh_minutes"]),
        ({"horizons_min": ["15"], "refresh_minutes": 5}, ["horizons_min.0"]),
        ({"horizons_min": [True], "refresh_minutes": 5}, ["horizons_min.0"]),
        ({"horizons_min": [15.5], "refresh_minutes": 5}, ["horizons_min.0"]),
        ({"horizons_min": 15, "refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [15], "refresh_minutes": "5"}, ["refresh_minutes"]),
        ({"horizons_min": [15]}, ["refresh_minutes"]),
        ({"refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [15] * 10_000, "refresh_minutes": 5}, ["horizons_min"]),
        ({"horizons_min": [15], "refresh_minutes": 5, "horizon": 1}, ["horizon"]),
        ({"horizons_min": [2**70], "refresh_minutes": 5}, ["horizons_min"]),
    ],
)
def test_bad_settings_are_refused_naming_the_field(
    client: httpx.Client, body: dict[str, Any], fields: list[str]
) -> None:
    before = client.get("/api/settings/forecast").json()
    r = client.put("/api/settings/forecast", json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert [d["field"] for d in error["details"]] == fields
    assert all(d["reason"] for d in error["details"])
    assert client.get("/api/settings/forecast").json() == before


def test_malformed_bodies_are_refused(client: httpx.Client) -> None:
    for content in (b"", b"{", b"[]", b"null", b"\x00"):
        r = client.put(
            "/api/settings/forecast", content=content, headers={"Content-Type": "application/json"}
        )
        assert r.status_code in (400, 422), (content, r.text)
        assert "error" in r.json()


def test_settings_survive_a_restart_and_the_environment_stays_the_default(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    first = Runtime(settings)
    first.set_schedule(ForecastSchedule((10, 45), 30))
    first.stop()
    again = Runtime(settings)
    try:
        assert again.stored_schedule() == ForecastSchedule((10, 45), 30)
        assert again.processor.schedule == ForecastSchedule((10, 45), 30)
        with pytest.raises(ValueError, match="not available"):
            again.set_schedule(ForecastSchedule((7,), 5))
        with pytest.raises(ValueError, match="not among"):
            again.processor.set_schedule(ForecastSchedule((90,), 5))
        assert again.stored_schedule() == ForecastSchedule((10, 45), 30)
    finally:
        again.stop()
    # An environment that no longer offers a saved horizon: the defaults apply again.
    narrow = Runtime(Settings(data_dir=tmp_path, horizons_min=(15, 120)))
    try:
        narrow.set_schedule(ForecastSchedule((120,), 5))
    finally:
        narrow.stop()
    back = Runtime(Settings(data_dir=tmp_path, horizons_min=(15, 30)))
    try:
        assert back.processor.schedule == ForecastSchedule((15, 30), 5)
    finally:
        back.stop()


def test_the_processor_issues_only_the_chosen_horizons_on_the_refresh_clock(
    tmp_path: Path,
) -> None:
    sim = Simulator(SimulatorConfig(n_segments=8, seed=2, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, T0 + 3 * HOUR), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp_path))
    runtime.register_segments(data.segments, data.links)
    written: list[pa.Table] = []
    insert = runtime.store.insert_predictions

    def capture(table: pa.Table) -> None:
        written.append(table)
        insert(table)

    setattr(runtime.store, "insert_predictions", capture)  # noqa: B010
    runtime.set_schedule(ForecastSchedule((10, 60), 15))
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        runtime.processor.request_flush()
        assert runtime.processor.wait_idle(60)
        table = pa.concat_tables(written)
        assert set(table.column("horizon_minutes").to_pylist()) == {10, 60}
        issued = table.column("issued_at").cast(TIMESTAMP).cast(pa.int64()).to_pylist()
        assert {t % (15 * MIN) for t in issued} == {0}
        # Every quarter hour of the three (the first closes at T0 + 5 min) issued once.
        assert len(set(issued)) == 12
        assert table.num_rows == 12 * 8 * 2

        # Accuracy, health and the latest forecasts know only the issued horizons.
        accuracy = client.get("/api/predictions/accuracy").json()
        assert {h["horizon_minutes"] for h in accuracy["by_horizon"]} <= {10, 60}
        assert accuracy["by_horizon"], "nothing scored"
        live_mae = client.get("/health").json()["checks"]["model"]["live_mae_mph"]
        assert {h for h, v in live_mae.items() if v is not None} == {"10", "60"}
        latest = client.get("/api/predictions/latest", params={"limit": 1000}).json()
        assert {p["horizon_minutes"] for p in latest["predictions"]} == {10, 60}

        # Changed live: the next closes issue the new horizons at the new clock.
        written.clear()
        client.put("/api/settings/forecast", json={"horizons_min": [30], "refresh_minutes": 60})
        later = Dataset("sim", sim.events(T0 + 3 * HOUR, T0 + 5 * HOUR), sim.segments, sim.links)
        more = ReplayFeed(runtime.bus, later, speed=0)
        runtime.add_feed(more)
        assert more.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        runtime.processor.request_flush()
        assert runtime.processor.wait_idle(60)
        table = pa.concat_tables(written)
        assert set(table.column("horizon_minutes").to_pylist()) == {30}
        issued = table.column("issued_at").cast(TIMESTAMP).cast(pa.int64()).to_pylist()
        assert sorted(set(issued)) == [T0 + 4 * HOUR, T0 + 5 * HOUR]
        live_mae = client.get("/health").json()["checks"]["model"]["live_mae_mph"]
        assert {h for h, v in live_mae.items() if v is not None} <= {"30"}
