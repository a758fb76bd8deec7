"""Prometheus metrics: request counters here; pipeline figures read at scrape time.

Pipeline counters live as plain integers on the runtime's components and are
exported by a collector when /metrics is scraped, so the hot path never
touches a metrics lock.

Every label has a bounded set of values whatever clients send (route templates,
not paths; a fixed vocabulary of auth failure reasons and rate-limit classes):
an unbounded label would grow the registry, and each scrape, without limit.
docs/observability.md lists every family.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from trafficcast.domain.fill import FILL_KINDS
from trafficcast.forecast.blend import MODEL_VERSION as BLEND_VERSION

if TYPE_CHECKING:
    from trafficcast.archive.writer import ArchiveStats
    from trafficcast.runtime import Runtime

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Why a credential was refused, as a label. Callers may pass one of these or the
# human reason the authenticator gives ("token revoked", "invalid API key", ...),
# which is mapped by keyword; anything else counts as "other".
AUTH_FAILURE_REASONS = (
    "missing",
    "malformed",
    "invalid_token",
    "expired",
    "revoked",
    "invalid_key",
    "invalid_credentials",
    "disabled",
    "other",
)
_REASON_KEYWORDS = (
    ("expired", "expired"),
    ("revoked", "revoked"),
    ("disabled", "disabled"),
    ("api key", "invalid_key"),
    ("credentials", "invalid_credentials"),
    ("password", "invalid_credentials"),
    ("bearer", "malformed"),
    ("too long", "malformed"),
    ("malformed", "malformed"),
    ("missing", "missing"),
    ("token", "invalid_token"),
    ("signature", "invalid_token"),
)
RATE_CLASSES = ("anonymous", "authenticated", "premium", "other")
_NOT_WORD = re.compile(r"[^a-z0-9]+")


def auth_failure_reason(reason: str) -> str:
    """The bounded label for a refusal reason (see AUTH_FAILURE_REASONS)."""
    text = reason.strip().lower()
    slug = _NOT_WORD.sub("_", text).strip("_")
    if slug in AUTH_FAILURE_REASONS:
        return slug
    for keyword, label in _REASON_KEYWORDS:
        if keyword in text:
            return label
    return "other"


class ApiMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.requests = Counter(
            "trafficcast_http_requests",
            "HTTP requests by method, route template and status",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "trafficcast_http_request_duration_seconds",
            "HTTP request latency by method and route template",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=registry,
        )
        auth_failures = Counter(
            "trafficcast_auth_failures",
            "Requests and logins refused for bad credentials, by reason",
            ["reason"],
            registry=registry,
        )
        rate_limited = Counter(
            "trafficcast_rate_limited",
            "Requests refused with 429 by the rate limiter, by identity class",
            ["class"],
            registry=registry,
        )
        # Every series exists from the start (at 0), so rate() and alert rules see the
        # first refusal as an increase rather than a new series.
        self._auth_failures = {r: auth_failures.labels(r) for r in AUTH_FAILURE_REASONS}
        self._rate_limited = {c: rate_limited.labels(c) for c in RATE_CLASSES}
        # Forecast values answered by POST /api/predictions/generate (the stream
        # processor's own count is read from its stats at scrape time).
        self.on_demand_predictions = 0

        # Labelled children looked up once: labels() costs more than inc() itself.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.latency.labels(method, route),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def auth_failed(self, reason: str) -> None:
        """Count one refused credential (bad token or key, failed login)."""
        self._auth_failures[auth_failure_reason(reason)].inc()

    def rate_limited(self, cls: str) -> None:
        """Count one 429 for an identity class (anonymous, authenticated, premium)."""
        self._rate_limited[cls if cls in self._rate_limited else "other"].inc()

    def predictions_made(self, values: int) -> None:
        """Count forecast values answered on demand (one per horizon)."""
        self.on_demand_predictions += values


class PipelineCollector(Collector):
    def __init__(self, runtime: Runtime, api: ApiMetrics | None = None) -> None:
        self.runtime = runtime
        self.api = api

    def collect(self) -> Iterator[Metric]:
        rt = self.runtime
        stats = rt.processor.stats
        ingest = rt.ingest_stats

        def counter(name: str, doc: str, value: float) -> CounterMetricFamily:
            return CounterMetricFamily(f"trafficcast_{name}", doc, value=value)

        def gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"trafficcast_{name}", doc, value=value)

        yield counter(
            "events_ingested",
            "Events accepted onto the bus from any source",
            rt.bus.published_events,
        )
        yield counter("events_rejected", "Events rejected by validation", ingest.rejected)
        yield counter("events_refused", "Events refused because the bus was full", ingest.refused)
        yield counter("events_processed", "Events windowed and stored", stats.events_processed)
        yield counter("events_duplicate", "Events dropped as duplicate ids", stats.duplicates)
        late = CounterMetricFamily(
            "trafficcast_events_late", "Events too late for a window", labels=["window_minutes"]
        )
        # Every configured window size from the start, at 0 until an event is late for it.
        late_by_window = {m: 0 for m in rt.processor.windows} | stats.late_by_window
        for minutes, count in sorted(late_by_window.items()):
            late.add_metric([str(minutes)], count)
        yield late
        yield counter(
            "events_late_dropped",
            "Events too late for every window: kept in the late-events table, in no window",
            stats.late,
        )
        yield counter("windows_emitted", "Window results written", stats.windows_emitted)
        by_fill = CounterMetricFamily(
            "trafficcast_windows_filled",
            "5-minute windows closed, by how their values came about: observed (readings), "
            "imputed_neighbours, imputed_profile, missing (a silent detector)",
            labels=["fill"],
        )
        for kind, count in zip(FILL_KINDS, stats.windows_by_fill, strict=True):
            by_fill.add_metric([kind], count)
        yield by_fill
        predictions = CounterMetricFamily(
            "trafficcast_predictions",
            "Forecast values made (one per segment and horizon): by the stream processor at "
            "each refresh, or on demand by POST /api/predictions/generate",
            labels=["source"],
        )
        predictions.add_metric(["stream"], stats.predictions)
        if self.api is not None:
            predictions.add_metric(["on_demand"], self.api.on_demand_predictions)
        yield predictions
        yield counter("processor_errors", "Batches that failed in the processor", stats.errors)
        yield gauge("bus_depth_events", "Events waiting on the bus", rt.bus.depth)
        yield gauge("bus_capacity_events", "Capacity of the bus", rt.bus.capacity)
        yield gauge("websocket_connections", "Open WebSocket connections", rt.hub.connections)
        yield counter(
            "websocket_messages", "Messages queued to WebSocket clients", rt.hub.sent_messages
        )
        yield counter(
            "websocket_dropped_clients",
            "Clients dropped for being too slow",
            rt.hub.dropped_clients,
        )
        n = rt.notifier.stats
        yield counter(
            "notifications_dropped",
            "Alert changes not queued for webhook/e-mail delivery: the queue was full",
            n.dropped,
        )
        yield counter("notification_attempts", "Webhook and e-mail delivery attempts", n.attempts)
        outcomes = CounterMetricFamily(
            "trafficcast_notifications",
            "Notifications (one alert change to one target) by final outcome",
            labels=["outcome"],
        )
        outcomes.add_metric(["delivered"], n.delivered)
        outcomes.add_metric(["failed"], n.failed)
        yield outcomes
        archive = getattr(rt, "archive", None)
        if archive is not None:
            yield from _archive_metrics(archive.stats)
        wm = rt.processor.watermark_ms
        if wm > 0:
            yield gauge("watermark_seconds", "Event-time watermark (epoch seconds)", wm / 1000)
        mae = GaugeMetricFamily(
            "trafficcast_live_forecast_mae_mph",
            "Live mean absolute error of speed forecasts by horizon",
            labels=["horizon_minutes"],
        )
        scorer = rt.processor.scorer
        for h, value in zip(scorer.horizons_min.tolist(), scorer.speed_mae.tolist(), strict=True):
            if value == value:
                mae.add_metric([str(h)], value)
        yield mae
        trend = GaugeMetricFamily(
            "trafficcast_live_forecast_mae_trend_ratio",
            "Recent live speed MAE over its long-run level (above 1: error rising)",
            labels=["horizon_minutes"],
        )
        for h, ratio in scorer.trend().items():
            if ratio is not None:
                trend.add_metric([str(h)], ratio)
        yield trend
        lag = GaugeMetricFamily(
            "trafficcast_consumer_lag_records",
            "Events the stream processors have not yet processed, by partition: the Kafka "
            "group's uncommitted records, or the in-process bus's depth (partition 0)",
            labels=["partition"],
        )
        if rt.lag_probe is None:
            if rt.role == "all":  # the processor in this process reads the in-process bus
                lag.add_metric(["0"], rt.bus.depth)
                yield lag
        else:
            try:
                for partition, records in sorted(rt.lag_probe.lag(timeout=1.0).items()):
                    lag.add_metric([str(partition)], records)
            except Exception:  # Kafka away: /health says so; the scrape still answers
                pass
            yield lag
        dead = getattr(rt.bus, "dead_letters", None)
        if dead is not None:
            yield counter("dead_letters", "Records sent to traffic-events-dlq", dead)
        live = rt.processor.model
        info = GaugeMetricFamily(
            "trafficcast_forecast_model_info",
            "The model serving live forecasts (value 1)",
            labels=["model_version", "kind"],
        )
        info.add_metric(
            [live.version, live.model.kind] if live is not None else [BLEND_VERSION, "blend"], 1.0
        )
        yield info


def _archive_metrics(stats: ArchiveStats) -> Iterator[Metric]:
    """The Parquet archive writer's counters (archive/writer.py), by dataset."""
    families = (
        ("files_written", "Parquet files written to the archive", stats.files),
        ("bytes_written", "Bytes of Parquet written to the archive (on disk)", stats.bytes),
        ("rows_written", "Rows written to the archive", stats.rows),
        (
            "dropped_rows",
            "Rows not archived because the archive writer's queue was full",
            stats.dropped_rows,
        ),
    )
    for name, doc, values in families:
        family = CounterMetricFamily(f"trafficcast_archive_{name}", doc, labels=["dataset"])
        for dataset, value in sorted(values.items()):
            family.add_metric([dataset], value)
        yield family
    yield CounterMetricFamily(
        "trafficcast_archive_errors",
        "Archive writes that failed (each is retried)",
        value=stats.errors,
    )
