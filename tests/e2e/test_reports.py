"""GET /api/reports/performance and `trafficcast report performance` on simulated traffic.

Three local days of simulated readings run through the pipeline into the store; the
report's figures must equal the measures recomputed here, window by window in plain
Python, from the windows the store holds. The CSV must parse back to the JSON, and the
PDF's pages are rendered with poppler (pdftoppm) and read back (pdftotext).
"""

from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import numpy as np
import orjson
import pyarrow as pa
import pytest
from PIL import Image
from typer.testing import CliRunner

from trafficcast.analytics.pdf import TITLE, number, percent, period_label
from trafficcast.api.background import BackgroundServer
from trafficcast.cli import app as cli
from trafficcast.config import Settings
from trafficcast.domain.level_of_service import level_of_service
from trafficcast.domain.schema import SEGMENT_SCHEMA
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store.base import AlertQuery
from trafficcast.store.duckdb_store import DuckDBStore

pytestmark = pytest.mark.slow

TZ = "America/Los_Angeles"
T0 = int(datetime(2026, 1, 5, 8, tzinfo=UTC).timestamp() * 1000)  # Monday 00:00 in Los Angeles
DAY = 86_400_000
DAYS = 3
START, END = "2026-01-05T08:00:00Z", "2026-01-08T08:00:00Z"
HOSTILE = '=HYPERLINK("http://x")'


@dataclass
class Served:
    client: httpx.Client
    runtime: Runtime
    windows: pa.Table
    segments: pa.Table
    links: pa.Table


@pytest.fixture(scope="module")
def poppler() -> None:
    for tool in ("pdftoppm", "pdftotext"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not on PATH: run scripts/install-poppler.sh (poppler-utils)")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    sim = Simulator(
        SimulatorConfig(
            n_segments=10, seed=11, dropout_probability=0.0, incidents_per_segment_day=1
        )
    )
    data = Dataset("sim", sim.events(T0, T0 + DAYS * DAY), sim.segments, sim.links)
    runtime = Runtime(Settings(data_dir=tmp_path_factory.mktemp("reports"), timezone=TZ))
    runtime.register_segments(data.segments, data.links)
    # A segment named like a spreadsheet formula, without data: it must still be ranked.
    runtime.store.upsert_segments(
        pa.Table.from_pylist(
            [{"segment_id": "hostile", "name": HOSTILE, "length_miles": 1.0}], schema=SEGMENT_SCHEMA
        )
    )
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    runtime.start()
    assert feed.finished.wait(120)
    runtime.processor.request_flush()
    assert runtime.processor.wait_idle(120)
    windows = runtime.store.windows_between(5, T0 - DAY, T0 + (DAYS + 1) * DAY)
    assert windows.num_rows > 3000
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url, timeout=120) as c:
        yield Served(c, runtime, windows, runtime.store.segments(), runtime.store.links())
    runtime.stop()


def _report(served: Served, **params: Any) -> dict[str, Any]:
    r = served.client.get("/api/reports/performance", params={"start": START, "end": END} | params)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _expected(served: Served, refs: tuple[float, ...] = (35.0, 60.0)) -> dict[str, Any]:
    """Every measure recomputed window by window, by the PeMS definitions."""
    seg = {r["segment_id"]: r for r in served.segments.to_pylist()}
    zone = ZoneInfo(TZ)
    per_day: dict[Any, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    per_seg: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for w in served.windows.to_pylist():
        speed, volume = w["mean_speed"], w["volume"]
        if speed is None or not math.isfinite(speed) or speed <= 0:
            continue
        s = seg[w["segment_id"]]
        length, ff = s["length_miles"], s["free_flow_speed"] or 65.0
        vmt = volume * length if volume is not None and math.isfinite(volume) else 0.0
        day = w["window_start"].astimezone(zone).date()
        for acc in (per_day[day], per_seg[w["segment_id"]]):
            acc["windows"] += 1
            acc["vmt"] += vmt
            acc["vht"] += vmt / speed
            acc["tti"] += vmt * ff / speed
            acc["congested"] += speed < 35
            for r in refs:
                acc[f"delay{r:g}"] += vmt / speed - vmt / r if speed < r else 0.0
    return {"days": per_day, "segments": per_seg}


def _same(got: dict[str, Any], want: dict[str, float], refs: tuple[float, ...]) -> None:
    assert got["windows"] == want["windows"]
    assert got["vmt"] == pytest.approx(want["vmt"], rel=1e-9)
    assert got["vht"] == pytest.approx(want["vht"], rel=1e-9)
    for r in refs:
        assert got["delay_vehicle_hours"][f"{r:g}"] == pytest.approx(want[f"delay{r:g}"], rel=1e-9)
    assert got["travel_time_index"] == pytest.approx(want["tti"] / want["vmt"], rel=1e-9)
    assert got["congestion_hours"] == pytest.approx(want["congested"] * 5 / 60)
    assert sum(got["los_hours"].values()) == pytest.approx(want["windows"] * 5 / 60)


def test_json_equals_the_measures_recomputed_from_the_windows(served: Served) -> None:
    body = _report(served, period="day")
    want = _expected(served)
    assert [p["start"] for p in body["periods"]] == [
        "2026-01-05T08:00:00Z",
        "2026-01-06T08:00:00Z",
        "2026-01-07T08:00:00Z",
    ]
    refs = (35.0, 60.0)
    for p in body["periods"]:
        day = datetime.fromisoformat(p["start"]).astimezone(ZoneInfo(TZ)).date()
        _same(p, want["days"][day], refs)
    assert body["totals"]["vmt"] == pytest.approx(sum(d["vmt"] for d in want["days"].values()))
    assert body["totals"]["vmt"] > 0
    assert body["totals"]["delay_vehicle_hours"]["60"] > 0  # rush hours are simulated
    by_id = {s["segment_id"]: s for s in body["segments"]}
    for sid, w in want["segments"].items():
        _same(by_id[sid], w, refs)
    # Ranked worst first by delay at 35 mph, then VHT; the empty segment last.
    delays = [s["delay_vehicle_hours"]["35"] for s in body["segments"]]
    assert delays == sorted(delays, reverse=True)
    assert [s["rank"] for s in body["segments"]] == list(range(1, len(body["segments"]) + 1))
    assert body["segments"][-1]["segment_id"] == "hostile"
    assert body["segments"][-1]["level_of_service"] is None
    top = body["segments"][0]
    ff = next(r for r in served.segments.to_pylist() if r["segment_id"] == top["segment_id"])
    grade = level_of_service(np.array([top["mean_speed"]]), np.array([ff["free_flow_speed"]]))
    assert top["level_of_service"] == grade[0]


def test_week_and_custom_references_sum_the_same_windows(served: Served) -> None:
    days = _report(served, period="day")
    week = _report(served, period="week", reference_speeds=["45", "55"])
    (bucket,) = week["periods"]
    assert bucket["start"] == "2026-01-05T08:00:00Z"  # Monday, local midnight
    assert bucket["vmt"] == pytest.approx(days["totals"]["vmt"], rel=1e-12)
    want = _expected(served, (45.0, 55.0))
    assert set(bucket["delay_vehicle_hours"]) == {"45", "55"}
    assert bucket["delay_vehicle_hours"]["45"] == pytest.approx(
        sum(d["delay45"] for d in want["days"].values()), rel=1e-9
    )
    only = _report(served, segment_ids=days["segments"][0]["segment_id"])
    assert len(only["segments"]) == 1
    assert only["totals"]["vmt"] == pytest.approx(days["segments"][0]["vmt"], rel=1e-12)


def _bottlenecks(served: Served) -> set[tuple[str, str, int, float]]:
    speed: dict[tuple[str, int], float] = {}
    for w in served.windows.to_pylist():
        if w["mean_speed"] is not None and w["mean_speed"] > 0:
            ms = int(w["window_start"].timestamp() * 1000)
            speed[(w["segment_id"], ms)] = w["mean_speed"]
    found = set()
    for link in served.links.to_pylist():
        up, down = link["from_segment"], link["to_segment"]
        days, windows = 0, 0
        for d in range(DAYS):
            run, total = 0, 0
            for k in range(DAY // 300_000 + 1):
                t = T0 + d * DAY + k * 300_000
                u, v = speed.get((up, t)), speed.get((down, t))
                on = k < DAY // 300_000 and u is not None and v is not None
                if on and u < 40 and v - u >= 20:
                    run += 1
                    continue
                total += run if run >= 3 else 0
                run = 0
            days += total > 0
            windows += total
        if days >= 2:
            found.add((up, down, days, windows * 5 / 60))
    return found


def test_recurring_bottlenecks_match_a_plain_recount(served: Served) -> None:
    body = _report(served)
    got = {
        (b["upstream_segment_id"], b["segment_id"], b["active_days"], b["active_hours"])
        for b in body["bottlenecks"]
    }
    assert got == _bottlenecks(served)


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _as(value: str) -> Any:
    return None if value == "" else float(value)


def test_csv_streams_and_equals_the_json(served: Served) -> None:
    body = _report(served)
    with served.client.stream(
        "GET", "/api/reports/performance", params={"start": START, "end": END, "format": "csv"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert r.headers.get("transfer-encoding") == "chunked"
        assert "attachment" in r.headers["content-disposition"]
        text = r.read().decode()
    rows = _csv(text)
    scopes = [row["scope"] for row in rows]
    assert scopes.count("total") == 1
    assert scopes.count("period") == len(body["periods"])
    assert scopes.count("segment") == len(body["segments"])
    assert scopes.count("bottleneck") == len(body["bottlenecks"])
    pairs = [("period", p) for p in body["periods"]] + [("segment", s) for s in body["segments"]]
    got = [row for row in rows if row["scope"] in ("period", "segment")]
    for row, (scope, want) in zip(got, pairs, strict=True):
        assert row["scope"] == scope
        for name in ("vmt", "vht", "travel_time_index", "mean_speed", "congestion_hours"):
            assert _as(row[name]) == want[name]  # exact: numbers round-trip
        for ref in ("35", "60"):
            assert _as(row[f"delay_{ref}_vehicle_hours"]) == want["delay_vehicle_hours"][ref]
        if scope == "segment":
            assert row["segment_id"] == want["segment_id"]
            assert int(row["rank"]) == want["rank"]
        else:
            assert row["start"] == want["start"]
    hostile = next(row for row in rows if row["segment_id"] == "hostile")
    assert hostile["name"] == "'" + HOSTILE  # defused for spreadsheets


@pytest.mark.usefixtures("poppler")
def test_pdf_pages_render_and_carry_the_figures(served: Served, tmp_path: Path) -> None:
    body = _report(served)
    r = served.client.get(
        "/api/reports/performance", params={"start": START, "end": END, "format": "pdf"}
    )
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(r.content)
    _check_pdf(pdf, body, tmp_path)


def _check_pdf(pdf: Path, body: dict[str, Any], tmp: Path) -> None:
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp / "page")], check=True)
    pages = sorted(tmp.glob("page*.png"))
    assert len(pages) >= 3
    for page in pages:
        pixels = np.asarray(Image.open(page).convert("L"), dtype=np.float64)
        assert pixels.std() > 10, f"{page.name} looks blank"
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True
    ).stdout
    assert TITLE in text
    assert period_label(body) in text
    assert number(body["totals"]["vmt"]) in text
    assert number(body["periods"][0]["vmt"]) in text
    assert number(body["totals"]["delay_vehicle_hours"]["35"]) in text
    # The operations pages: accuracy by horizon (chart and table), alerts and system tables.
    assert "forecast accuracy" in text
    for h in body["accuracy"]["by_horizon"]:
        assert number(h["speed_mae"], 2) in text
        assert number(h["speed_rmse"], 2) in text
    assert number(body["accuracy"]["totals"]["speed_mae"], 2) in text
    assert "incidents and system performance" in text
    incidents, system = body["incidents"]["totals"], body["system"]["totals"]
    assert f"{incidents['opened']:,}" in text
    assert number(incidents["median_minutes_to_resolve"], 1) in text
    assert f"{system['windows_closed']:,}" in text
    assert f"{system['samples_received']:,}" in text
    assert percent(system["sample_share"]) in text
    assert percent(system["healthy_share"]) in text


def _approx_tree(value: Any) -> Any:
    """`value` with every float compared approximately, inside dicts and lists."""
    if isinstance(value, dict):
        return {k: _approx_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_approx_tree(v) for v in value]
    if isinstance(value, float):
        return pytest.approx(value, rel=1e-9)
    return value


def _segment_horizons(served: Served) -> list[tuple[str, int]]:
    horizons = [h["horizon_minutes"] for h in _report(served)["accuracy"]["by_horizon"]]
    return [(s, h) for s in served.segments.column("segment_id").to_pylist() for h in horizons]


def _local_day(ms: int) -> Any:
    return datetime.fromtimestamp(ms / 1000, ZoneInfo(TZ)).date()


def _ms(value: datetime) -> int:
    return int(value.timestamp() * 1000)


def test_incidents_are_a_plain_recount_of_the_stored_alerts(served: Served) -> None:
    body = _report(served)
    alerts = served.runtime.store.query_alerts(AlertQuery(limit=100_000)).to_pylist()
    inc = body["incidents"]
    assert inc["totals"]["by_type"]["incident"] > 0  # the simulator injects incidents
    assert inc["totals"]["opened"] == sum(a["alert_type"] == "incident" for a in alerts) + sum(
        a["alert_type"] != "incident" for a in alerts
    )
    for p in inc["periods"]:
        day = _local_day(_ms(datetime.fromisoformat(p["start"])))
        mine = [a for a in alerts if _local_day(_ms(a["opened_at"])) == day]
        assert p["opened"] == len(mine) > 0
        for kind, n in p["by_type"].items():
            assert n == sum(a["alert_type"] == kind for a in mine)
        for severity, n in p["by_severity"].items():
            assert n == sum(a["severity"] == severity for a in mine)
        resolve = [
            (_ms(a["resolved_at"]) - _ms(a["opened_at"])) / 60_000
            for a in mine
            if a["resolved_at"] is not None
        ]
        assert p["resolved"] == len(resolve)
        assert p["median_minutes_to_resolve"] == (float(np.median(resolve)) if resolve else None)
        assert p["acknowledged"] == sum(a["acknowledged_at"] is not None for a in mine)


def test_accuracy_is_a_plain_rescoring_of_the_stored_forecasts(served: Served) -> None:
    body = _report(served)
    actual: dict[tuple[str, int], float] = {}
    for w in served.windows.to_pylist():
        speed = w["mean_speed"]
        if speed is not None and math.isfinite(speed):
            actual[(w["segment_id"], _ms(w["window_end"]))] = speed
    errors: dict[tuple[Any, int], list[tuple[float, float]]] = defaultdict(list)
    for seg, h in _segment_horizons(served):
        rows = served.runtime.store.forecast_history(seg, h, T0, T0 + DAYS * DAY).to_pylist()
        for r in rows:
            a = actual.get((seg, _ms(r["target_time"])))
            if a is not None and math.isfinite(r["predicted_speed"]):
                errors[(_local_day(_ms(r["target_time"])), h)].append((r["predicted_speed"], a))
    assert errors, "nothing was forecast"

    def check(got: dict[str, Any], pairs: list[tuple[float, float]]) -> None:
        assert got["n"] == len(pairs)
        e = [p - a for p, a in pairs]
        assert got["speed_mae"] == pytest.approx(sum(map(abs, e)) / len(e), rel=1e-9)
        assert got["speed_rmse"] == pytest.approx(math.sqrt(sum(x * x for x in e) / len(e)))
        if all(a > 0 for _, a in pairs):
            mape = sum(100 * abs(p - a) / a for p, a in pairs) / len(pairs)
            assert got["speed_mape"] == pytest.approx(mape, rel=1e-9)

    for p in body["accuracy"]["periods"]:
        day = _local_day(_ms(datetime.fromisoformat(p["start"])))
        check(p, [x for (d, _), pairs in errors.items() if d == day for x in pairs])
        for h in p["by_horizon"]:
            check(h, errors[(day, h["horizon_minutes"])])
    for h in body["accuracy"]["by_horizon"]:
        check(
            h, [x for (_, hh), pairs in errors.items() if hh == h["horizon_minutes"] for x in pairs]
        )
    maes = [h["speed_mae"] for h in body["accuracy"]["by_horizon"]]
    assert maes[-1] > maes[0]  # further ahead, larger errors


def test_system_is_a_plain_recount_of_windows_readings_and_forecasts(served: Served) -> None:
    body = _report(served)
    ids = set(served.segments.column("segment_id").to_pylist())
    interval_ms = int(served.runtime.settings.detector_interval_s * 1000)
    events = served.runtime.store.events_since(T0 - DAY).to_pylist()
    issues = {
        (r["segment_id"], _ms(r["issued_at"]), r["model_version"])
        for seg, h in _segment_horizons(served)
        for r in served.runtime.store.forecast_history(
            seg, h, T0 - DAY, T0 + (DAYS + 1) * DAY
        ).to_pylist()
    }
    for p in body["system"]["periods"]:
        start = _ms(datetime.fromisoformat(p["start"]))
        end = _ms(datetime.fromisoformat(p["end"]))
        day = _local_day(start)
        assert p["windows_closed"] == sum(
            start <= _ms(w["window_start"]) < end for w in served.windows.to_pylist()
        )
        counts = defaultdict(int)
        for e in events:
            if e["segment_id"] in ids and start <= _ms(e["timestamp"]) < end:
                counts[e["segment_id"]] += 1
        expected = (end - start) // interval_ms
        assert p["detector_days"] == len(ids)
        assert p["samples_received"] == sum(counts.values()) > 0
        assert p["samples_expected"] == expected * len(ids)
        counted = sum(min(n, expected) for n in counts.values())
        assert p["sample_share"] == pytest.approx(counted / (expected * len(ids)), rel=1e-12)
        assert p["forecast_issues"] == sum(start <= t < end for _, t, _ in issues) > 0
        health = served.client.get("/api/quality/detectors", params={"date": day.isoformat()})
        assert health.status_code == 200, health.text
        assert p["healthy_detector_days"] == health.json()["good"]
        assert p["healthy_share"] == health.json()["good"] / len(ids)


def test_csv_rows_of_the_new_parts_equal_the_json(served: Served) -> None:
    body = _report(served)
    r = served.client.get(
        "/api/reports/performance", params={"start": START, "end": END, "format": "csv"}
    )
    rows = _csv(r.text)
    by_scope: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_scope[row["scope"]].append(row)
    inc = body["incidents"]
    assert len(by_scope["incidents_period"]) == len(inc["periods"])
    for row, p in zip(by_scope["incidents_period"], inc["periods"], strict=True):
        assert row["start"] == p["start"]
        assert int(row["alerts_opened"]) == p["opened"]
        assert int(row["alerts_type_incident"]) == p["by_type"]["incident"]
        assert int(row["alerts_severity_major"]) == p["by_severity"]["major"]
        assert _as(row["median_minutes_to_resolve"]) == p["median_minutes_to_resolve"]
    horizons = body["accuracy"]["by_horizon"]
    assert [int(x["horizon_minutes"]) for x in by_scope["accuracy_horizon"]] == [
        h["horizon_minutes"] for h in horizons
    ]
    for row, h in zip(by_scope["accuracy_horizon"], horizons, strict=True):
        assert int(row["forecasts_scored"]) == h["n"]
        assert _as(row["speed_mae"]) == h["speed_mae"]
        assert _as(row["speed_rmse"]) == h["speed_rmse"]
    assert len(by_scope["accuracy_period_horizon"]) == sum(
        len(p["by_horizon"]) for p in body["accuracy"]["periods"]
    )
    for row, p in zip(by_scope["system_period"], body["system"]["periods"], strict=True):
        assert int(row["samples_received"]) == p["samples_received"]
        assert _as(row["sample_share"]) == p["sample_share"]
        assert int(row["forecast_issues"]) == p["forecast_issues"]
    assert len(by_scope["system_total"]) == len(by_scope["incidents_total"]) == 1


def test_bad_input_is_refused_naming_the_field(served: Served) -> None:
    cases = [
        ({"start": END, "end": START}, "end"),
        ({"start": START, "end": START}, "end"),
        ({"start": "2025-01-01", "end": "2026-02-01"}, "end"),
        ({"start": START, "end": END, "period": "year"}, "period"),
        ({"start": START, "end": END, "format": "xls"}, "format"),
        ({"start": START, "end": END, "reference_speeds": "-5"}, "reference_speeds"),
        ({"start": START, "end": END, "reference_speeds": ["35", "35"]}, "reference_speeds"),
        ({"start": "1700000000", "end": END}, "start"),
        ({"end": END}, "start"),
    ]
    for params, field in cases:
        r = served.client.get("/api/reports/performance", params=params)
        assert r.status_code == 422, (params, r.text)
        fields = [d["field"] for d in r.json()["error"]["details"]]
        assert field in fields, (params, fields)


@pytest.mark.usefixtures("poppler")
def test_cli_writes_all_three_formats(served: Served, tmp_path: Path) -> None:
    # The embedded store admits one process: the CLI reads a copy of the served windows.
    data_dir = tmp_path / "store"
    copy = DuckDBStore(Settings(data_dir=data_dir).database_path)
    copy.init_schema()
    copy.upsert_segments(served.segments)
    copy.upsert_links(served.links)
    copy.insert_windows(served.windows)
    store = served.runtime.store
    copy.write_events(store.events_since(T0 - DAY))
    copy.upsert_alerts(store.query_alerts(AlertQuery(limit=100_000)))
    for seg, h in _segment_horizons(served):
        copy.insert_predictions(store.forecast_history(seg, h, T0 - DAY, T0 + (DAYS + 1) * DAY))
    copy.close()
    api = _report(served)
    runner = CliRunner()
    outputs = {}
    for fmt in ("json", "csv", "pdf"):
        out = tmp_path / f"report.{fmt}"
        result = runner.invoke(
            cli,
            [
                *("report", "performance", "--start", START, "--end", END),
                *("--format", fmt, "--out", str(out), "--data-dir", str(data_dir)),
            ],
            env={"TRAFFICCAST_TIMEZONE": TZ},
        )
        assert result.exit_code == 0, result.output
        outputs[fmt] = out
    cli_body = orjson.loads(outputs["json"].read_bytes())
    # Forecast error averages are summed in the database's (parallel, unordered) way: equal
    # to the last bits only.
    assert cli_body["accuracy"] == _approx_tree(api["accuracy"])
    assert {**cli_body, "accuracy": None} == {**api, "accuracy": None}
    rows = _csv(outputs["csv"].read_text())
    assert [_as(r["vmt"]) for r in rows if r["scope"] == "period"] == [
        p["vmt"] for p in api["periods"]
    ]
    _check_pdf(outputs["pdf"], api, tmp_path)
    bad = runner.invoke(
        cli, ["report", "performance", "--start", END, "--end", START, "--data-dir", str(data_dir)]
    )
    assert bad.exit_code == 1
    assert "--end" in bad.output
