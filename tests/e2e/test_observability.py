"""Observability on a running server (docs/observability.md).

One pipeline run is driven through the public API with event times chosen so the
effects can be counted by hand: 3 segments x 20 one-minute readings at a tenth of
free flow, 2 invalid rows, then 3 late and 3 duplicate readings, an operator's
acknowledgement and an on-demand forecast, and finally 15 minutes of recovery.
/metrics must move by exactly those counts, the JSON logs must hold one structured
record for each thing that happened (with the request's X-Request-ID), and /health
must report each status it can reach, with the right HTTP code.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
import pyarrow as pa
import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from websockets.sync.client import connect

from trafficcast.api.background import BackgroundServer, free_port
from trafficcast.api.health_models import HealthReport
from trafficcast.api.metrics import ApiMetrics
from trafficcast.config import Settings
from trafficcast.domain.schema import SEGMENT_SCHEMA
from trafficcast.logging_setup import (
    UVICORN_LOGGERS,
    JsonFormatter,
    configure_logging,
    request_id_var,
)
from trafficcast.runtime import Runtime
from trafficcast.sources.feeds import Feed
from trafficcast.store.duckdb_store import DuckDBStore

MIN = 60_000
SEGMENTS = ["obs-a", "obs-b", "obs-c"]
FREE_FLOW = 60.0
HORIZONS = (5, 10, 15)
# Event time starts on an hour two hours ago: in the past (not rejected as future),
# and aligned with every window.
BASE = (int(time.time() * 1000) - 2 * 3600_000) // 3600_000 * 3600_000

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


# helpers ------------------------------------------------------------------------------------


class LogCapture(logging.Handler):
    """Every record as the JSON line the production handler writes, parsed back.

    Records from threads that were already running when the capture began are left
    out: they belong to servers other tests left running (the browser checks' dashboard
    server lives for the whole session and closes windows of its own)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(JsonFormatter())
        self.records: list[dict[str, Any]] = []
        self._guard = threading.Lock()
        here = threading.get_ident()
        self._foreign = {t.ident: t for t in threading.enumerate() if t.ident != here}

    def emit(self, record: logging.LogRecord) -> None:
        foreign = self._foreign.get(record.thread)
        if foreign is not None and foreign.is_alive():  # a dead one's id may be reused
            return
        line = self.format(record)
        with self._guard:
            self.records.append(json.loads(line))

    def events(self, event: str, **match: Any) -> list[dict[str, Any]]:
        with self._guard:
            found = [r for r in self.records if r.get("event") == event]
        return [r for r in found if all(r.get(k) == v for k, v in match.items())]


@pytest.fixture
def logs() -> Iterator[LogCapture]:
    capture = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def scrape(client: httpx.Client) -> Samples:
    r = client.get("/metrics")
    assert r.status_code == 200, r.text
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    key = (name, frozenset(labels.items()))
    assert key in samples, f"{name}{labels} is not exported"
    return samples[key]


def delta(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How far a series moved; it may first appear in `after` (a route's first request)."""
    return value(after, name, **labels) - before.get((name, frozenset(labels.items())), 0.0)


def event(segment: str, minute: int, speed: float, event_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "segment_id": segment,
        "timestamp": time.strftime(
            "%Y-%m-%dT%H:%M:%SZ", time.gmtime((BASE + minute * MIN) // 1000)
        ),
        "speed": speed,
        "volume": 10.0,
    }
    if event_id is not None:
        body["event_id"] = event_id
    return body


def readings(minutes: range, speed: float) -> list[dict[str, Any]]:
    return [event(s, m, speed, f"{s}-{m}") for m in minutes for s in SEGMENTS]


def segments_table() -> pa.Table:
    n = len(SEGMENTS)
    return pa.table(
        {
            "segment_id": SEGMENTS,
            "name": SEGMENTS,
            "road": ["I-5"] * n,
            "direction": ["N"] * n,
            "latitude": [34.0 + i / 100 for i in range(n)],
            "longitude": [-118.0] * n,
            "free_flow_speed": [FREE_FLOW] * n,
            "length_miles": [0.5] * n,
            "lanes": [3] * n,
            "geometry": [None] * n,
        },
        schema=SEGMENT_SCHEMA,
    )


def post_batch(
    client: httpx.Client, events: list[dict[str, Any]], request_id: str | None = None
) -> httpx.Response:
    headers = {"X-Request-ID": request_id} if request_id else {}
    r = client.post("/api/traffic/events/batch", json={"events": events}, headers=headers)
    assert r.status_code == 201, r.text
    return r


def wait_for(check: Callable[[], Any], what: str, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def idle(runtime: Runtime) -> None:
    assert runtime.processor.wait_idle(30), "the processor did not drain the bus"


def obs_settings(data_dir: Path, **extra: Any) -> Settings:
    return Settings(data_dir=data_dir, horizons_min=HORIZONS, allowed_lateness_s=60, **extra)


# the pipeline run ---------------------------------------------------------------------------


@dataclass
class Run:
    runtime: Runtime
    client: httpx.Client
    api: ApiMetrics
    logs: LogCapture
    before: Samples
    during: Samples  # with one WebSocket client connected, after phases A and B
    after_ws: Samples  # the client gone
    health: dict[str, Any]
    ingest_a: httpx.Response
    acked: str


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    capture = LogCapture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    runtime = Runtime(obs_settings(tmp_path_factory.mktemp("observability")))
    runtime.register_segments(segments_table())
    try:
        with (
            BackgroundServer(runtime) as server,
            httpx.Client(base_url=server.url, timeout=30) as client,
        ):
            app = cast(FastAPI, server._server.config.app)
            api: ApiMetrics = app.state.metrics  # the running app's own metrics
            with connect(server.ws_url) as ws:
                ws.send(json.dumps({"action": "subscribe", "segment_ids": SEGMENTS}))
                ws.recv(timeout=10)
                before = scrape(client)
                # A: 20 minutes at a tenth of free flow, and two rows the validator refuses.
                bad = [event("obs-a", 3, -1.0), event("obs-b", 3, 200.0)]
                ingest_a = post_batch(client, readings(range(20), 6.0) + bad, "obs-ingest-a")
                idle(runtime)
                opened = client.get("/api/alerts", params={"state": "open"}).json()["alerts"]
                acked = opened[0]["alert_id"]
                r = client.post(
                    f"/api/alerts/{acked}/acknowledge", headers={"X-Request-ID": "obs-ack"}
                )
                assert r.status_code == 200, r.text
                # B: three readings 17 minutes behind the watermark, three resent ones.
                late = [event(s, 2, 30.0, f"{s}-late") for s in SEGMENTS]
                post_batch(client, late + readings(range(19, 20), 6.0), "obs-ingest-b")
                idle(runtime)
                r = client.post(
                    "/api/predictions/generate",
                    json={"segment_id": "obs-a", "horizon_minutes": 15},
                )
                assert r.status_code == 200, r.text
                during = scrape(client)
                health = client.get("/health").json()
            wait_for(
                lambda: value(scrape(client), "trafficcast_websocket_connections") == 0,
                "the WebSocket to be counted as closed",
            )
            after_ws = scrape(client)
            # C: traffic recovers for 15 minutes; the stream resolves the alerts.
            post_batch(client, readings(range(20, 35), FREE_FLOW), "obs-ingest-c")
            idle(runtime)
            yield Run(
                runtime, client, api, capture, before, during, after_ws, health, ingest_a, acked
            )
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


# /metrics -------------------------------------------------------------------------------------


def test_event_counters_move_by_what_was_sent(run: Run) -> None:
    b, d = run.before, run.during
    assert run.ingest_a.json()["accepted"] == 60
    # Onto the bus: 60 in A, 6 in B (late and duplicate events are ingested, then sorted out).
    assert delta(b, d, "trafficcast_events_ingested_total") == 66
    assert delta(b, d, "trafficcast_events_rejected_total") == 2
    assert delta(b, d, "trafficcast_events_processed_total") == 60
    assert delta(b, d, "trafficcast_events_duplicate_total") == 3
    for minutes in ("1", "5"):
        assert delta(b, d, "trafficcast_events_late_total", window_minutes=minutes) == 3
    assert delta(b, d, "trafficcast_events_late_dropped_total") == 3
    assert delta(b, d, "trafficcast_events_refused_total") == 0


def test_windows_and_predictions_are_counted(run: Run) -> None:
    b, d = run.before, run.during
    # Watermark at minute 19: per segment the 1-minute windows [0,1)..[18,19) and the
    # 5-minute windows ending at 5, 10 and 15 have closed.
    assert delta(b, d, "trafficcast_windows_emitted_total") == 3 * (19 + 3)
    # A forecast issue at each 5-minute close: 3 issues x 3 segments x 3 horizons.
    assert delta(b, d, "trafficcast_predictions_total", source="stream") == 27
    # The on-demand forecast: one value per 5 minutes up to 15.
    assert delta(b, d, "trafficcast_predictions_total", source="on_demand") == 3


def test_live_forecast_error_per_horizon(run: Run) -> None:
    d = run.during
    exported = {
        dict(labels)["horizon_minutes"]: v
        for (name, labels), v in d.items()
        if name == "trafficcast_live_forecast_mae_mph"
    }
    # By minute 19 the window [10,15) has closed: it scores the 5-minute forecast issued
    # at 10 and the 10-minute one issued at 5. No 15-minute forecast has come due.
    assert set(exported) == {"5", "10"}
    reported = run.health["checks"]["model"]["live_mae_mph"]
    assert reported["15"] is None
    for h, mae in exported.items():
        assert mae >= 0
        assert mae == pytest.approx(reported[h], abs=1e-3)


def test_requests_and_websockets_are_counted(run: Run) -> None:
    b, d = run.before, run.during
    route = "/api/traffic/events/batch"
    assert (
        delta(b, d, "trafficcast_http_requests_total", method="POST", route=route, status="201")
        == 2
    )
    assert (
        delta(b, d, "trafficcast_http_request_duration_seconds_count", method="POST", route=route)
        == 2
    )
    assert value(d, "trafficcast_websocket_connections") == 1
    assert value(run.after_ws, "trafficcast_websocket_connections") == 0
    (ws,) = run.logs.events("websocket")
    assert (ws["route"], ws["outcome"], ws["level"]) == ("/ws/traffic", "accepted", "info")
    assert ws["duration_ms"] > 0
    assert ws["request_id"]
    # The processor has drained the in-process bus.
    assert value(d, "trafficcast_consumer_lag_records", partition="0") == 0


def test_auth_failures_and_rate_limits_have_bounded_labels(run: Run) -> None:
    before = scrape(run.client)
    for reason in (
        "token expired",
        "token revoked",
        "API key revoked",
        "invalid API key",
        "Authorization must be 'Bearer <token>'",
        "invalid_credentials",
        "something nobody foresaw: 1234",
        "and another one",
    ):
        run.api.auth_failed(reason)
    for cls in ("anonymous", "anonymous", "premium", "a-client-made-up-class"):
        run.api.rate_limited(cls)
    after = scrape(run.client)
    assert {
        r: delta(before, after, "trafficcast_auth_failures_total", reason=r)
        for r in ("expired", "revoked", "invalid_key", "malformed", "invalid_credentials", "other")
    } == {
        "expired": 1,
        "revoked": 2,
        "invalid_key": 1,
        "malformed": 1,
        "invalid_credentials": 1,
        "other": 2,
    }
    assert {
        c: delta(before, after, "trafficcast_rate_limited_total", **{"class": c})
        for c in ("anonymous", "authenticated", "premium", "other")
    } == {"anonymous": 2, "authenticated": 0, "premium": 1, "other": 1}
    reasons = {dict(k)["reason"] for n, k in after if n == "trafficcast_auth_failures_total"}
    assert len(reasons) <= 9  # the fixed vocabulary, whatever reasons were passed


# logs -------------------------------------------------------------------------------------


def test_request_log_carries_the_response_request_id(run: Run) -> None:
    (record,) = run.logs.events("request", request_id="obs-ingest-a")
    assert record["request_id"] == run.ingest_a.headers["x-request-id"] == "obs-ingest-a"
    assert record["method"] == "POST"
    assert record["route"] == "/api/traffic/events/batch"
    assert record["status"] == 201
    assert record["level"] == "debug"  # successes at DEBUG: see api/middleware.py
    assert record["duration_ms"] > 0
    assert record["client"] == "127.0.0.1"
    assert record["principal"]["kind"] == "anonymous"

    # A generated id is the one sent back, and a client error is logged at INFO.
    r = run.client.get("/api/segments/no-such-segment")
    assert r.status_code == 404
    rid = r.headers["x-request-id"]
    assert r.json()["request_id"] == rid
    (record,) = wait_for(lambda: run.logs.events("request", request_id=rid), "the request log")
    assert (record["status"], record["level"], record["route"]) == (
        404,
        "info",
        "/api/segments/{segment_id}",
    )


def test_a_500_logs_the_traceback_and_tells_the_client_nothing(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("secret internals of the store")

    monkeypatch.setattr(run.runtime.store, "segment", broken)
    r = run.client.get("/api/segments/obs-a", headers={"X-Request-ID": "obs-boom"})
    assert r.status_code == 500
    assert r.headers["x-request-id"] == "obs-boom"
    assert r.json() == {
        "error": {"code": "internal_error", "message": "internal server error", "details": None},
        "request_id": "obs-boom",
    }
    assert "secret" not in r.text
    assert "Traceback" not in r.text
    (record,) = run.logs.events("request", request_id="obs-boom")
    assert record["level"] == "error"
    assert record["status"] == 500
    assert "Traceback" in record["exception"]
    assert "RuntimeError: secret internals of the store" in record["exception"]
    # Logged once: no second copy of the traceback from the server.
    with_traceback = [
        x for x in run.logs.records if "secret internals" in str(x.get("exception", ""))
    ]
    assert len(with_traceback) == 1


def test_ingest_records_count_each_request(run: Run) -> None:
    (a,) = run.logs.events("ingest", request_id="obs-ingest-a")
    assert (a["accepted"], a["rejected"], a["refused"], a["level"]) == (60, 2, 0, "info")
    assert a["rejected_fields"] == ["speed"]
    (b,) = run.logs.events("ingest", request_id="obs-ingest-b")
    assert (b["accepted"], b["rejected"], b["level"]) == (6, 0, "debug")


def test_window_forecast_and_alert_records(run: Run) -> None:
    closed = run.logs.events("windows_closed")
    assert closed
    assert all(r["level"] == "info" for r in closed)
    # Written by the processor's own threads: no request's id leaks onto them.
    assert all("request_id" not in r for r in closed)
    # Phases A to C end with the watermark at minute 34.
    assert sum(r["windows_new"] for r in closed) == 3 * (34 + 6)

    issued = run.logs.events("forecast_issued")
    # Closes at 5, 10, ... 30 (minute 35's window is still open): six issues.
    assert [r["issued_at"] for r in issued] == [
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime((BASE + m * MIN) // 1000))
        for m in range(5, 35, 5)
    ]
    for r in issued:
        assert (r["segments"], r["horizons_min"], r["values"]) == (3, list(HORIZONS), 9)
        assert r["duration_ms"] >= 0
        assert r["model_version"]

    opened = run.logs.events("alert", action="open")
    assert sorted(r["segment_id"] for r in opened) == SEGMENTS
    assert all(r["by"] == "stream" and r["severity"] == "major" for r in opened)
    (ack,) = run.logs.events("alert", action="acknowledge")
    # `by` is the operator: the suite's anonymous caller here (a user's name when signed in).
    assert (ack["alert_id"], ack["by"], ack["request_id"]) == (run.acked, "anonymous", "obs-ack")
    # The crawl's predicted_congestion alerts opened and resolved (the congestion came)
    # within batch A's cycle: logged as resolved only.
    resolved = run.logs.events("alert", action="resolve")
    predicted = [r for r in resolved if r["alert_type"] == "predicted_congestion"]
    assert sorted(r["segment_id"] for r in predicted) == SEGMENTS
    resolved = [r for r in resolved if r["alert_type"] == "congestion"]
    assert sorted(r["segment_id"] for r in resolved) == SEGMENTS
    assert {r["alert_id"] for r in resolved} == {r["alert_id"] for r in opened}


def test_configure_logging_applies_the_level_to_ours_and_uvicorns(
    capsys: pytest.CaptureFixture[str],
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    named = {n: logging.getLogger(n) for n in UVICORN_LOGGERS}
    saved_named = {n: (lg.level, lg.handlers[:], lg.propagate) for n, lg in named.items()}
    try:
        configure_logging("warning")
        assert root.level == logging.WARNING
        assert all(lg.level == logging.WARNING for lg in named.values())
        ours = logging.getLogger("trafficcast.stream.processor")
        assert not ours.isEnabledFor(logging.INFO)
        assert ours.isEnabledFor(logging.WARNING)
        token = request_id_var.set("obs-context")
        try:
            ours.warning("store slow", extra={"event": "probe"})
            logging.getLogger("uvicorn.error").info("dropped at WARNING")
        finally:
            request_id_var.reset(token)
        lines = [json.loads(x) for x in capsys.readouterr().err.splitlines()]
        assert [(x["level"], x["event"], x["request_id"]) for x in lines] == [
            ("warning", "probe", "obs-context")
        ]
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for n, (level, handlers, propagate) in saved_named.items():
            named[n].setLevel(level)
            named[n].handlers[:] = handlers
            named[n].propagate = propagate


def test_log_level_setting_is_validated() -> None:
    assert Settings(log_level="debug").log_level == "DEBUG"
    with pytest.raises(ValueError, match="log_level"):
        Settings(log_level="verbose")


# /health --------------------------------------------------------------------------------


def health(client: httpx.Client, status: int) -> dict[str, Any]:
    r = client.get("/health")
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    HealthReport.model_validate(body)
    return body


def test_health_is_healthy_then_unhealthy_without_its_database(tmp_path: Path) -> None:
    runtime = Runtime(obs_settings(tmp_path))
    closed = DuckDBStore(str(tmp_path / "closed.duckdb"))
    closed.close()
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        body = health(client, 200)
        assert body["status"] == "healthy"
        assert {n: c["status"] for n, c in body["checks"].items()} == {
            "database": "healthy",
            "bus": "healthy",
            "stream_processor": "healthy",
            "model": "healthy",
        }
        assert {n: c["critical"] for n, c in body["checks"].items()} == {
            "database": True,
            "bus": False,
            "stream_processor": True,
            "model": False,
        }
        # No model promoted yet: the interim blend serves, which is healthy by design.
        assert body["checks"]["model"]["model_kind"] == "blend"

        store, runtime.store = runtime.store, closed
        try:
            body = health(client, 503)
        finally:
            runtime.store = store
        assert body["status"] == "unhealthy"
        assert body["checks"]["database"]["status"] == "unhealthy"
        assert body["checks"]["database"]["error"]
        assert health(client, 200)["status"] == "healthy"


def test_a_stopped_processor_is_unhealthy_and_its_lag_shows(tmp_path: Path) -> None:
    runtime = Runtime(obs_settings(tmp_path))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        runtime.processor.stop()
        post_batch(client, [event(s, m, 50.0) for m in range(2) for s in SEGMENTS])
        post_batch(client, [event("obs-a", 5, 50.0)])
        samples = scrape(client)
        assert value(samples, "trafficcast_consumer_lag_records", partition="0") == 7
        assert value(samples, "trafficcast_bus_depth_events") == 7
        body = health(client, 503)
        assert body["status"] == "unhealthy"
        check = body["checks"]["stream_processor"]
        assert (check["status"], check["running"], check["lag_events"]) == ("unhealthy", False, 7)


def test_a_model_that_cannot_load_degrades(tmp_path: Path) -> None:
    models = tmp_path / "models"
    broken = models / "gbm-20260101-000000"
    broken.mkdir(parents=True)
    (broken / "model.json").write_text('{"kind": "gbm", "created_at": "2026-01-01T00:00:00Z"}')
    (models / "active.json").write_text('{"version": "gbm-20260101-000000"}')
    runtime = Runtime(obs_settings(tmp_path))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        body = health(client, 200)
        assert body["status"] == "degraded"
        model = body["checks"]["model"]
        assert (model["status"], model["model_kind"]) == ("degraded", "blend")
        assert "gbm-20260101-000000" in model["error"]


def test_unreachable_redis_degrades(tmp_path: Path) -> None:
    runtime = Runtime(obs_settings(tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        body = health(client, 200)
        assert body["status"] == "degraded"
        redis = body["checks"]["redis"]
        assert (redis["status"], redis["critical"]) == ("degraded", False)
        assert redis["error"]


class FailingFeed(Feed):
    name = "failing"

    def run(self) -> None:
        raise OSError("the source file vanished")


def test_a_failed_feed_degrades_but_does_not_take_the_process_down(tmp_path: Path) -> None:
    runtime = Runtime(obs_settings(tmp_path))
    feed = FailingFeed(runtime.bus)
    runtime.add_feed(feed)
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as client:
        wait_for(feed.finished.is_set, "the feed to fail")
        body = health(client, 200)
        assert body["status"] == "degraded"
        check = body["checks"]["feed:failing"]
        assert (check["status"], check["critical"], check["running"]) == (
            "unhealthy",
            False,
            False,
        )
        assert "vanished" in check["error"]


# the deploy files name real series ------------------------------------------------------------

# Series this server does not export, and where the suite sees them instead.
EXPORTED_ELSEWHERE = {
    "trafficcast_dead_letters_total": "tests/integration/test_scaled_out_cli.py (Kafka)",
    "trafficcast_archive_errors_total": "tests/e2e/test_archive_pipeline.py (archive on)",
    "trafficcast_archive_dropped_rows_total": "tests/e2e/test_archive_pipeline.py (archive on)",
}


def test_every_series_the_alert_rules_and_dashboards_use_is_exported(run: Run) -> None:
    """A renamed metric would silently empty a Grafana panel and mute an alert."""
    import re

    import yaml

    deploy = Path(__file__).resolve().parents[2] / "deploy"
    rules = yaml.safe_load((deploy / "prometheus" / "alerts.yml").read_text())
    queries = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    for path in (deploy / "grafana" / "dashboards").glob("*.json"):
        panels = json.loads(path.read_text())["panels"]
        queries += [t["expr"] for p in panels for t in p.get("targets", [])]
    named = {n for q in queries for n in re.findall(r"\btrafficcast_[a-z_]+", q)}
    assert len(named) >= 15

    exported: set[str] = set()
    for family in text_string_to_metric_families(run.client.get("/metrics").text):
        exported |= {s.name for s in family.samples}
        # A family with no sample yet still counts (its TYPE line is there).
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count")}
        exported |= {family.name + s for s in suffixes.get(family.type, ("",))}
    missing = named - exported - set(EXPORTED_ELSEWHERE)
    assert not missing, f"named by deploy/ but not on /metrics: {sorted(missing)}"
