"""A detector goes silent: its 5-minute windows go on, filled and flagged, through the app.

Simulated readings run through the whole pipeline with one segment's readings dropped
for the last hour; the simulator's dropped readings are the truth the filled values are
compared with. Late readings for a filled window then replace it with an observed one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

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
SILENT_FROM = T0 + 90 * MIN
END_OF_DATA = T0 + 155 * MIN
LAST_CLOSED = T0 + 145 * MIN  # start of the newest window the data closes
W = 5 * MIN


@dataclass
class Served:
    server: BackgroundServer
    runtime: Runtime
    silent: str
    truth: dict[int, float]  # window start -> mean of the dropped readings
    neighbours: set[str]


def _pick_silent(links: pa.Table) -> tuple[str, set[str]]:
    """A segment with both an upstream and a downstream neighbour."""
    frm = links.column("from_segment").to_pylist()
    to = links.column("to_segment").to_pylist()
    for s in sorted(set(frm) & set(to)):
        return s, {t for f, t in zip(frm, to, strict=True) if f == s} | {
            f for f, t in zip(frm, to, strict=True) if t == s
        }
    raise AssertionError("no segment with neighbours on both sides")


def _late_readings(segment_id: str, start: int, n: int) -> pa.Table:
    times = [start + W - MIN - i * 1000 for i in range(n)]
    return pa.Table.from_arrays(
        [
            pa.array([f"late-{i}" for i in range(n)]),
            pa.array([segment_id] * n),
            pa.array(times, pa.int64()).cast(TIMESTAMP),
            pa.array([7.0] * n),
            pa.array([3.0] * n),
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
    tmp: Path = tmp_path_factory.mktemp("fill")
    sim = Simulator(SimulatorConfig(n_segments=12, seed=5, dropout_probability=0.0))
    events = sim.events(T0, END_OF_DATA)
    silent, neighbours = _pick_silent(sim.links)
    ts = events.column("timestamp").cast(pa.int64())
    dropped = pc.and_(
        pc.equal(events.column("segment_id"), silent), pc.greater_equal(ts, SILENT_FROM)
    )
    gone = events.filter(dropped)
    starts = np.asarray(gone.column("timestamp").cast(pa.int64()).to_numpy()) // W * W
    speeds = np.asarray(gone.column("speed").to_numpy())
    truth = {int(s): float(speeds[starts == s].mean()) for s in np.unique(starts)}
    data = Dataset("sim", events.filter(pc.invert(dropped)), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp))
    runtime.register_segments(data.segments, data.links)
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    with BackgroundServer(runtime) as server:
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        yield Served(server, runtime, silent, truth, neighbours)


@pytest.fixture
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.server.url, timeout=30) as c:
        yield c


def _history(client: httpx.Client, segment: str) -> list[dict[str, object]]:
    r = client.get(f"/api/segments/{segment}/history", params={"limit": 1000})
    assert r.status_code == 200, r.text
    windows: list[dict[str, object]] = r.json()["windows"]
    return windows


def test_the_silent_segment_gets_flagged_windows_filled_from_its_neighbours(
    served: Served, client: httpx.Client
) -> None:
    windows = _history(client, served.silent)
    before = [w for w in windows if str(w["window_start"]) < iso(SILENT_FROM)]
    after = [w for w in windows if str(w["window_start"]) >= iso(SILENT_FROM)]
    assert before
    assert {w["fill"] for w in before} == {"observed"}
    assert all(int(str(w["count"])) > 0 for w in before)
    # Every window from the silence to the newest close is there, filled, never silently.
    assert [w["window_start"] for w in after] == [
        iso(s) for s in range(SILENT_FROM, LAST_CLOSED + 1, W)
    ]
    assert {w["fill"] for w in after} == {"imputed_neighbours"}
    assert all(w["count"] == 0 and w["quality"] is None for w in after)
    # Plausible: close to what the detector would have read (the simulator's truth).
    errors = []
    for w in after:
        start = SILENT_FROM + W * after.index(w)
        errors.append(abs(float(str(w["mean_speed"])) - served.truth[start]) / served.truth[start])
    assert float(np.median(errors)) < 0.25, errors


def test_the_neighbours_stay_observed_and_the_map_layer_flags_the_gap(
    served: Served, client: httpx.Client
) -> None:
    for n in served.neighbours:
        assert {w["fill"] for w in _history(client, n)} == {"observed"}
    r = client.get("/api/traffic/history", params={"at": iso(SILENT_FROM + 10 * MIN)})
    assert r.status_code == 200, r.text
    fills = {s["segment_id"]: s["fill"] for s in r.json()["segments"]}
    assert fills[served.silent] == "imputed_neighbours"
    assert {f for s, f in fills.items() if s != served.silent} == {"observed"}


def test_forecasts_go_on_flagged_and_metrics_count_the_filled_windows(
    served: Served, client: httpx.Client
) -> None:
    r = client.get("/api/predictions/latest", params={"segment_id": served.silent})
    assert r.status_code == 200, r.text
    latest = r.json()["predictions"]
    assert latest
    assert {p["issued_at"] for p in latest} == {iso(LAST_CLOSED + W)}
    assert {p["input_fill"] for p in latest} == {"imputed_neighbours"}
    r = client.get("/api/traffic/forecast", params={"horizon_minutes": 15})
    fills = {s["segment_id"]: s["input_fill"] for s in r.json()["segments"]}
    assert fills.pop(served.silent) == "imputed_neighbours"
    assert set(fills.values()) == {"observed"}
    r = client.get(
        f"/api/segments/{served.silent}/forecasts",
        params={
            "horizon_minutes": 15,
            "start_time": iso(SILENT_FROM - 30 * MIN),
            "end_time": iso(END_OF_DATA + HOUR),
        },
    )
    assert r.status_code == 200, r.text
    past = r.json()["forecasts"]
    before = [f["input_fill"] for f in past if f["issued_at"] <= iso(SILENT_FROM)]
    after = [f["input_fill"] for f in past if f["issued_at"] > iso(SILENT_FROM)]
    assert before
    assert set(before) == {"observed"}
    assert after
    assert set(after) == {"imputed_neighbours"}
    text = client.get("/metrics").text
    filled = [
        line for line in text.splitlines() if line.startswith("trafficcast_windows_filled_total")
    ]
    counts = {line.split('"')[1]: float(line.split()[-1]) for line in filled}
    expected = (LAST_CLOSED - SILENT_FROM) // W + 1
    assert counts["imputed_neighbours"] == expected
    assert counts["imputed_profile"] == 0
    assert counts["missing"] == 0
    assert counts["observed"] > 12 * 20


def test_late_readings_replace_a_filled_window_with_an_observed_one(
    served: Served, client: httpx.Client
) -> None:
    served.runtime.bus.publish(_late_readings(served.silent, LAST_CLOSED, 20))
    assert served.runtime.processor.wait_idle(60)
    windows = _history(client, served.silent)
    at = [w for w in windows if w["window_start"] == iso(LAST_CLOSED)]
    assert len(at) == 1  # replaced, not stored twice
    assert at[0]["fill"] == "observed"
    assert at[0]["count"] == 20
    assert at[0]["mean_speed"] == 7.0


def test_filling_carries_on_across_a_restart_without_storing_a_window_twice(
    tmp_path: Path,
) -> None:
    sim = Simulator(SimulatorConfig(n_segments=12, seed=5, dropout_probability=0.0))
    events = sim.events(T0, END_OF_DATA)
    silent, _ = _pick_silent(sim.links)
    ts = events.column("timestamp").cast(pa.int64())
    events = events.filter(
        pc.invert(
            pc.and_(
                pc.equal(events.column("segment_id"), silent), pc.greater_equal(ts, SILENT_FROM)
            )
        )
    )
    ts = events.column("timestamp").cast(pa.int64())
    cut = SILENT_FROM + 30 * MIN
    settings = Settings(data_dir=tmp_path)
    for part in (pc.less(ts, cut), pc.greater_equal(ts, cut)):
        runtime = Runtime(settings)
        runtime.register_segments(sim.segments, sim.links)
        feed = ReplayFeed(
            runtime.bus, Dataset("part", events.filter(part), sim.segments, sim.links), speed=0
        )
        runtime.add_feed(feed)
        runtime.start()
        assert feed.finished.wait(60)
        assert runtime.processor.wait_idle(60)
        runtime.stop()
    runtime = Runtime(settings)
    table = runtime.store.window_history(silent, 5, SILENT_FROM, None, 1000)
    starts = table.column("window_start").cast(TIMESTAMP).cast(pa.int64()).to_pylist()
    assert starts == list(range(SILENT_FROM, LAST_CLOSED + 1, W))  # each once, none skipped
    assert set(table.column("fill").to_pylist()) == {"imputed_neighbours"}
    runtime.stop()


def _readings(segment: str, start: int, minutes: int, speed: float, tag: str) -> pa.Table:
    n = minutes
    return pa.Table.from_arrays(
        [
            pa.array([f"{tag}-{segment}-{i}" for i in range(n)]),
            pa.array([segment] * n),
            pa.array([start + i * MIN + 30_000 for i in range(n)], pa.int64()).cast(TIMESTAMP),
            pa.array([speed] * n),
            pa.array([10.0] * n),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array([None] * n, pa.float64()),
            pa.array(["t"] * n),
            pa.array([1.0] * n),
        ],
        schema=EVENT_SCHEMA,
    )


def test_without_neighbours_the_profile_fills_and_without_a_profile_the_gap_shows(
    tmp_path: Path,
) -> None:
    """A and B have no road link. A Monday both read for 40 minutes; the next Monday B
    stops after 20 while A goes on for an hour: B's usual fills minutes 20-40, and after
    that there is nothing to fill from."""
    week = 7 * 24 * HOUR
    runtime = Runtime(Settings(data_dir=tmp_path))
    p = runtime.processor
    sent: list[tuple[str, list[tuple[str, str]]]] = []
    p.publish = lambda kind, messages: sent.append((kind, messages))
    p.live_interest = lambda: (True, frozenset())
    first, second = T0 - week, T0
    for batch in (
        [_readings("A", first, 40, 60, "w1"), _readings("B", first, 40, 44, "w1")],
        [_readings("A", second, 60, 30, "w2"), _readings("B", second, 20, 50, "w2")],
    ):
        p.process(pa.concat_tables(batch).sort_by("timestamp"))
    p.flush()
    table = runtime.store.window_history("B", 5, second, None, 100)
    predicted = runtime.store.latest_predictions("B", 100)
    runtime.stop()
    rows = table.to_pylist()
    assert [r["fill"] for r in rows] == ["observed"] * 4 + ["imputed_profile"] * 4 + ["missing"] * 4
    assert [r["mean_speed"] for r in rows[4:8]] == [44.0] * 4  # its usual, not A's 30
    assert [r["volume"] for r in rows[4:8]] == [50.0] * 4
    assert all(r["count"] == 0 and r["quality"] is None for r in rows[4:])
    assert all(r["mean_speed"] is None and r["level_of_service"] is None for r in rows[8:])
    # Forecasts went on over the profile-filled windows and stopped at the missing ones.
    issued = predicted.column("issued_at").cast(TIMESTAMP).cast(pa.int64()).to_pylist()
    assert set(issued) == {second + 40 * MIN}
    assert set(predicted.column("input_fill").to_pylist()) == {"imputed_profile"}
    # The live `window` messages say it too, and come before the forecasts they lead to.
    pushed = [
        (kind, json.loads(text)) for kind, messages in sent for sid, text in messages if sid == "B"
    ]
    windows = [
        m["data"] for kind, m in pushed if kind == "window" and m["data"]["window_minutes"] == 5
    ]
    late = [w["fill"] for w in windows if w["window_start"] >= iso(second)]
    assert late == ["observed"] * 4 + ["imputed_profile"] * 4 + ["missing"] * 4
    kinds = [kind for kind, _ in pushed]
    assert kinds.index("window") < kinds.index("prediction")
