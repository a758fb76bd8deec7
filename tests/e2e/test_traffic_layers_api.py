"""The traffic map's layers through the real app: forecast at a horizon, history at a time.

Two hours of simulated readings run through the whole pipeline; one closed
window is then corrected by late readings (a re-emission). Every forecast and
window the pipeline writes is captured on its way into the store, and the
endpoints must serve exactly the newest of those writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from pydantic import ValidationError

from trafficcast.api.background import BackgroundServer
from trafficcast.config import Settings
from trafficcast.domain.schema import EVENT_SCHEMA, TIMESTAMP
from trafficcast.live.messages import iso
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR  # a whole hour in January 2026
END_OF_DATA = T0 + 2 * HOUR + 5 * MIN
CORRECTED_END = T0 + 2 * HOUR  # the window [01:55, 02:00) after T0 gets late readings
SEGMENTS = 12


@dataclass
class Captured:
    predictions: list[pa.Table] = field(default_factory=list)
    windows: list[pa.Table] = field(default_factory=list)


@dataclass
class Served:
    server: BackgroundServer
    captured: Captured
    corrected_segment: str


def _late_readings(segment_id: str, n: int) -> pa.Table:
    times = [CORRECTED_END - MIN - i * 1000 for i in range(n)]
    return pa.Table.from_arrays(
        [
            pa.array([f"late-{i}" for i in range(n)]),
            pa.array([segment_id] * n),
            pa.array(times, pa.int64()).cast(TIMESTAMP),
            pa.array([3.0] * n),
            pa.array([2.0] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array(["late"] * n),
            pa.array([1.0] * n),
        ],
        schema=EVENT_SCHEMA,
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("traffic_layers")
    sim = Simulator(SimulatorConfig(n_segments=SEGMENTS, seed=5, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, END_OF_DATA), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp))
    runtime.register_segments(data.segments, data.links)
    captured = Captured()
    store = runtime.store
    insert_predictions, insert_windows = store.insert_predictions, store.insert_windows

    def capture_predictions(table: pa.Table) -> None:
        captured.predictions.append(table)
        insert_predictions(table)

    def capture_windows(table: pa.Table) -> None:
        # Re-emissions (upsert_windows) also land here, after their delete.
        captured.windows.append(table)
        insert_windows(table)

    setattr(store, "insert_predictions", capture_predictions)  # noqa: B010
    setattr(store, "insert_windows", capture_windows)  # noqa: B010
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    corrected = str(data.segments.column("segment_id")[0].as_py())
    with BackgroundServer(runtime) as server:
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        runtime.bus.publish(_late_readings(corrected, 30))
        assert runtime.processor.wait_idle(60)
        runtime.processor.request_flush()
        assert runtime.processor.wait_idle(60)
        yield Served(server, captured, corrected)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.server.url, timeout=30) as c:
        yield c


def _ms(column: pa.ChunkedArray) -> list[int]:
    return [int(v) for v in column.cast(TIMESTAMP).cast(pa.int64()).to_pylist()]


def newest_forecasts(captured: Captured, horizon: int) -> dict[str, dict[str, Any]]:
    """Per segment, the newest captured forecast at `horizon` (first model_version on ties)."""
    best: dict[str, dict[str, Any]] = {}
    for table in captured.predictions:
        rows = table.filter(pc.equal(table.column("horizon_minutes"), horizon))
        issued = _ms(rows.column("issued_at"))
        targets = _ms(rows.column("target_time"))
        for row, issued_ms, target_ms in zip(rows.to_pylist(), issued, targets, strict=True):
            row["issued_ms"], row["target_ms"] = issued_ms, target_ms
            old = best.get(row["segment_id"])
            key = (-issued_ms, row["model_version"])
            if old is None or key < (-old["issued_ms"], old["model_version"]):
                best[row["segment_id"]] = row
    return best


def newest_windows(captured: Captured, start_ms: int) -> dict[str, dict[str, Any]]:
    """Per segment, the last-written 5-minute window starting at start_ms."""
    out: dict[str, dict[str, Any]] = {}
    for table in captured.windows:
        five = table.filter(pc.equal(table.column("window_minutes"), 5))
        for row, start in zip(five.to_pylist(), _ms(five.column("window_start")), strict=True):
            if start == start_ms:
                out[row["segment_id"]] = row
    return out


def window_end_bounds(captured: Captured) -> tuple[int, int]:
    ends = [
        end
        for table in captured.windows
        for minutes, end in zip(
            table.column("window_minutes").to_pylist(), _ms(table.column("window_end")), strict=True
        )
        if minutes == 5
    ]
    return min(ends), max(ends)


def assert_envelope(response: httpx.Response, status: int, field_name: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error", "request_id"}
    assert body["error"]["code"] == "validation_error"
    assert any(d["field"] == field_name for d in body["error"]["details"]), body
    return body


# forecast layer -----------------------------------------------------------------------


@pytest.mark.parametrize("horizon", [15, 35, 60])
def test_forecast_layer_is_each_segments_newest_forecast(
    served: Served, client: httpx.Client, horizon: int
) -> None:
    expected = newest_forecasts(served.captured, horizon)
    assert len(expected) == SEGMENTS
    body = client.get("/api/traffic/forecast", params={"horizon_minutes": horizon}).json()
    assert body["horizon_minutes"] == horizon
    rows = body["segments"]
    assert [r["segment_id"] for r in rows] == sorted(expected)
    for row in rows:
        want = expected[row["segment_id"]]
        assert set(row) == {
            "segment_id",
            "issued_at",
            "target_time",
            "predicted_speed",
            "speed_lower",
            "speed_upper",
            "confidence",
            "model_version",
            "input_fill",
        }
        assert row["input_fill"] == "observed"  # no detector fell silent here
        assert row["issued_at"] == iso(want["issued_ms"])
        assert row["target_time"] == iso(want["target_ms"])
        assert row["target_time"] == iso(want["issued_ms"] + horizon * MIN)
        assert row["predicted_speed"] == pytest.approx(want["predicted_speed"])
        assert row["speed_lower"] == pytest.approx(want["speed_lower"])
        assert row["speed_upper"] == pytest.approx(want["speed_upper"])
        assert row["model_version"] == want["model_version"]


def test_forecast_layer_agrees_with_latest_predictions(client: httpx.Client) -> None:
    layer = client.get("/api/traffic/forecast", params={"horizon_minutes": 30}).json()
    latest = client.get("/api/predictions/latest", params={"limit": 100_000}).json()
    at30 = {
        p["segment_id"]: p["predicted_speed"]
        for p in latest["predictions"]
        if p["horizon_minutes"] == 30
    }
    assert {r["segment_id"]: r["predicted_speed"] for r in layer["segments"]} == at30


def test_forecast_layer_defaults_to_15_minutes_and_is_cached(client: httpx.Client) -> None:
    first = client.get("/api/traffic/forecast")
    assert first.status_code == 200
    assert first.json()["horizon_minutes"] == 15
    assert client.get("/api/traffic/forecast?horizon_minutes=15").content == first.content


@pytest.mark.parametrize("value", ["7", "0", "65", "-5", "abc", "15.5", "1" * 40, "", "1e3"])
def test_forecast_layer_refuses_bad_horizons(client: httpx.Client, value: str) -> None:
    response = client.get("/api/traffic/forecast", params={"horizon_minutes": value})
    assert_envelope(response, 422, "horizon_minutes")


def test_forecast_layer_documents_its_horizons(client: httpx.Client) -> None:
    # Found by the OpenAPI fuzzer: the schema let 7 through, the server refused it.
    params = client.get("/openapi.json").json()["paths"]["/api/traffic/forecast"]["get"]
    (horizon,) = (p for p in params["parameters"] if p["name"] == "horizon_minutes")
    assert horizon["schema"]["multipleOf"] == 5


# history layer ------------------------------------------------------------------------


def test_history_layer_serves_every_segments_window_holding_at(
    served: Served, client: httpx.Client
) -> None:
    start = T0 + HOUR
    body = client.get("/api/traffic/history", params={"at": iso(start + 150_000)}).json()
    assert body["at"] == iso(start + 150_000)
    assert body["window_start"] == iso(start)
    assert body["window_end"] == iso(start + 5 * MIN)
    earliest, latest = window_end_bounds(served.captured)
    assert (body["earliest"], body["latest"]) == (iso(earliest), iso(latest))
    expected = newest_windows(served.captured, start)
    assert len(expected) == SEGMENTS
    assert sorted(r["segment_id"] for r in body["segments"]) == sorted(expected)
    for row in body["segments"]:
        want = expected[row["segment_id"]]
        assert set(row) == {
            "segment_id",
            "mean_speed",
            "volume",
            "occupancy",
            "level_of_service",
            "fill",
        }
        assert row["fill"] == want["fill"] == "observed"
        assert row["mean_speed"] == pytest.approx(want["mean_speed"])
        assert row["volume"] == pytest.approx(want["volume"])
        assert row["level_of_service"] == want["level_of_service"]


def test_history_layer_shows_the_corrected_version_of_a_window(
    served: Served, client: httpx.Client
) -> None:
    start = CORRECTED_END - 5 * MIN
    versions = [
        table.filter(
            pc.and_(
                pc.equal(table.column("segment_id"), served.corrected_segment),
                pc.equal(table.column("window_minutes"), 5),
            )
        )
        for table in served.captured.windows
    ]
    speeds = [
        row["mean_speed"]
        for t in versions
        for row, s in zip(t.to_pylist(), _ms(t.column("window_start")), strict=True)
        if s == start
    ]
    assert len(speeds) >= 2, "the late readings did not re-emit the window"
    body = client.get("/api/traffic/history", params={"at": iso(start)}).json()
    row = next(r for r in body["segments"] if r["segment_id"] == served.corrected_segment)
    assert row["mean_speed"] == pytest.approx(speeds[-1])
    assert row["mean_speed"] != pytest.approx(speeds[0])
    assert sum(r["segment_id"] == served.corrected_segment for r in body["segments"]) == 1


def test_history_layer_reads_zones_and_takes_a_time_without_one_as_utc(
    client: httpx.Client,
) -> None:
    utc = client.get("/api/traffic/history", params={"at": iso(T0 + HOUR)}).json()
    # 10:00+02:00 is 08:00Z; T0 + 1 h written in the +02:00 zone and without a zone.
    t = iso(T0 + HOUR)[:-1]
    hour = int(t[11:13])
    shifted = f"{t[:11]}{hour + 2:02d}{t[13:]}+02:00"
    assert client.get("/api/traffic/history", params={"at": shifted}).json() == utc
    assert client.get("/api/traffic/history", params={"at": t}).json() == utc


def test_history_layer_without_at_is_the_newest_window(
    served: Served, client: httpx.Client
) -> None:
    body = client.get("/api/traffic/history").json()
    _, latest = window_end_bounds(served.captured)
    assert body["window_end"] == body["latest"] == iso(latest)
    assert body["at"] == body["window_start"] == iso(latest - 5 * MIN)
    assert len(body["segments"]) == SEGMENTS


@pytest.mark.parametrize("offset", [-HOUR, 3 * HOUR])
def test_history_layer_outside_the_stored_range_is_empty_with_bounds(
    served: Served, client: httpx.Client, offset: int
) -> None:
    at = T0 + offset
    body = client.get("/api/traffic/history", params={"at": iso(at)}).json()
    assert body["segments"] == []
    assert body["window_start"] == iso(at)
    earliest, latest = window_end_bounds(served.captured)
    assert (body["earliest"], body["latest"]) == (iso(earliest), iso(latest))


@pytest.mark.parametrize(
    "value",
    [
        "garbage",
        "9999-12-31T23:59:59Z",
        "10000-01-01T00:00:00Z",
        "1969-12-31T23:59:59Z",
        "2026-13-01T00:00:00Z",
        "2026-01-05T08:00:00+25:00",
        "2026-01-05T08:00:00\x00",
        "<script>alert(1)</script>",
        "9" * 5000,
        "",
    ],
)
def test_history_layer_refuses_bad_times(client: httpx.Client, value: str) -> None:
    response = client.get("/api/traffic/history", params={"at": value})
    assert_envelope(response, 422, "at")
    assert response.headers["content-type"] == "application/json"


def test_history_layer_with_at_twice_uses_one_of_them(client: httpx.Client) -> None:
    response = client.get(
        "/api/traffic/history", params=[("at", iso(T0 + HOUR)), ("at", iso(T0 + 2 * HOUR))]
    )
    assert response.status_code == 200
    assert response.json()["at"] in (iso(T0 + HOUR), iso(T0 + 2 * HOUR))


# dashboard config ---------------------------------------------------------------------


def test_dashboard_config_without_tiles_is_a_blank_map(client: httpx.Client) -> None:
    assert client.get("/api/dashboard/config").json() == {
        "map": {"tiles_url": None, "attribution": None}
    }


def test_dashboard_config_serves_the_configured_base_map(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        map_tiles_url="https://tiles.example.org/{z}/{x}/{y}.png",
        map_attribution="© Example contributors",
    )
    with BackgroundServer(Runtime(settings)) as server:
        assert httpx.get(f"{server.url}/api/dashboard/config").json() == {
            "map": {
                "tiles_url": "https://tiles.example.org/{z}/{x}/{y}.png",
                "attribution": "© Example contributors",
            }
        }


@pytest.mark.parametrize(
    "url",
    [
        "https://tiles.example.org/{z}/{x}/{y}.png",
        "http://127.0.0.1:8080/tiles/{z}/{x}/{y}.webp?key=abc",
        "https://example.org/styles/dark.json",
        "pmtiles://https://example.org/city.pmtiles",
        "",
    ],
)
def test_map_tiles_url_setting_accepts_base_maps(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAFFICCAST_MAP_TILES_URL", url)
    assert Settings().map_tiles_url == url


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)//{z}{x}{y}",
        "data:text/html,{z}{x}{y}",
        "file:///etc/{z}/{x}/{y}",
        "ftp://example.org/{z}/{x}/{y}.png",
        "https://example.org/tile.png",
        "https://{z}/{x}/{y}",
        "pmtiles://file.pmtiles",
        "pmtiles://https://example.org/{z}/{x}/{y}.pmtiles",
        'https://example.org/{z}/{x}/{y}.png" onerror="x',
        "https://example.org/{z}/{x}/{y} .png",
        "https://example.org/" + "a" * 3000 + "/{z}/{x}/{y}",
    ],
)
def test_map_tiles_url_setting_refuses_other_urls(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRAFFICCAST_MAP_TILES_URL", url)
    with pytest.raises(ValidationError, match="map_tiles_url"):
        Settings()


def test_map_attribution_refuses_control_characters() -> None:
    with pytest.raises(ValidationError, match="map_attribution"):
        Settings(map_attribution="a\nb")


def test_new_routes_are_documented(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/traffic/forecast", "/api/traffic/history", "/api/dashboard/config"):
        assert paths[path]["get"]["summary"], path
