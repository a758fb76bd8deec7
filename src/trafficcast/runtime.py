"""Wires the ports and the pipeline together from Settings.

One Runtime is one trafficcast process: store, bus, stream processor, live hub
and any feeds (simulator or replay). The API and the CLI both build on it.

Its role follows from the settings: with the in-process bus everything runs
here ("all"); with Kafka an API process ("api") produces to the log and fans
updates out to its WebSocket clients, and `trafficcast process` runs the
stream processors ("processor") as a consumer group.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import orjson
import pyarrow as pa

from trafficcast import __version__
from trafficcast.alerts.notify.dispatcher import Dispatcher, NotifyConfig
from trafficcast.alerts.notify.email import SmtpConfig
from trafficcast.alerts.notify.retry import RetryPolicy
from trafficcast.archive.setup import archive_writer
from trafficcast.archive.writer import ArchiveWriter
from trafficcast.bus.base import BusFull
from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig, LagProbe
from trafficcast.bus.memory import MemoryBus
from trafficcast.config import Settings
from trafficcast.domain.events import Limits, ValidatedBatch
from trafficcast.forecast import schedule as forecast_schedule
from trafficcast.forecast.registry import ModelRegistry, RegistryError, UnknownModel
from trafficcast.forecast.schedule import ForecastSchedule
from trafficcast.forecast.serving import ServingModel
from trafficcast.forecast.training_jobs import TrainingJobs
from trafficcast.live.hub import LiveHub
from trafficcast.live.kafka_fanout import KafkaFanout
from trafficcast.sources.feeds import Feed
from trafficcast.store.base import Store
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.processor import (
    FORECAST_WINDOW_MINUTES,
    ProcessorConfig,
    StreamProcessor,
)

log = logging.getLogger(__name__)


class ModelLoadError(RegistryError):
    """A registered model whose files cannot be loaded (missing, corrupt, unknown kind)."""


class IngestStats:
    def __init__(self) -> None:
        self.accepted = 0
        self.rejected = 0
        self.refused = 0  # whole batches turned away by backpressure


Role = Literal["all", "api", "processor"]


def open_store(settings: Settings) -> Store:
    if settings.uses_postgres:
        from trafficcast.store.postgres_store import PostgresStore

        return PostgresStore(settings.database_url)
    return DuckDBStore(settings.database_path)


def open_bus(settings: Settings, limits: Limits) -> MemoryBus | KafkaBus:
    if settings.uses_kafka:
        config = KafkaBusConfig.from_url(settings.bus, group=settings.consumer_group)
        return KafkaBus(config, limits=limits)
    return MemoryBus(settings.bus_capacity_events)


def notify_config(s: Settings) -> NotifyConfig:
    return NotifyConfig(
        webhook_secret=s.webhook_secret,
        timeout_s=s.notify_timeout_s,
        policy=RetryPolicy(max_attempts=s.notify_max_attempts, backoff_s=s.notify_backoff_s),
        smtp=SmtpConfig(
            host=s.smtp_host,
            port=s.smtp_port,
            user=s.smtp_user,
            password=s.smtp_password,
            sender=s.smtp_from,
            starttls=s.smtp_starttls,
            timeout_s=s.notify_timeout_s,
        ),
        queue_size=s.notify_queue_size,
        escalation_check_s=s.escalation_check_s,
    )


class Runtime:
    version = __version__

    def __init__(self, settings: Settings | None = None, *, role: Role | None = None) -> None:
        self.settings = settings or Settings()
        s = self.settings
        self.role: Role = role or ("api" if s.uses_kafka else "all")
        if s.uses_kafka == (self.role == "all"):
            raise ValueError(
                f"bus {s.bus!r}: the {self.role!r} role needs "
                + ("the in-process bus (memory://)" if self.role == "all" else "a kafka:// bus")
            )
        self.limits = Limits(
            max_speed=s.max_speed_mph, max_future_skew_ms=s.max_future_skew_s * 1000
        )
        self.store = open_store(s)
        self.store.init_schema()
        self.bus = open_bus(s, self.limits)
        self.catalog = SegmentCatalog()
        self.catalog.load(self.store.segments())
        self.hub = LiveHub(s.ws_queue_size)
        # The forecaster can issue any horizon offered; which ones it does is a setting
        # kept in the store (the environment's horizons are the default).
        self.available_horizons_min = forecast_schedule.available_horizons(s.horizons_min)
        self.default_schedule = ForecastSchedule(s.horizons_min, 5)
        schedule = self.stored_schedule()
        self.processor = StreamProcessor(
            self.bus,
            self.store,
            self.catalog,
            ProcessorConfig(
                window_minutes=s.window_minutes,
                allowed_lateness_ms=s.allowed_lateness_s * 1000,
                watermark_delay_ms=s.watermark_delay_s * 1000,
                horizons_min=self.available_horizons_min,
                issue_horizons_min=schedule.horizons_min,
                refresh_minutes=schedule.refresh_minutes,
                timezone=s.timezone,
                live_interval_ms=s.live_interval_ms,
            ),
            publish=self._publisher(),
            # A processor of a group publishes everything: any API process may want it.
            live_interest=self.hub.interest if self.role == "all" else lambda: (True, frozenset()),
        )
        self.processor.set_links(self.store.links())
        # Webhook and e-mail alerts go out off the hot path from the process that raised
        # them: the processor's alerts where it runs, system alerts from the API process
        # holding the system monitor's lease. Escalation runs where processors do.
        config = notify_config(s)
        self.notifier = Dispatcher(
            self.store, self.store.get_state, replace(config, escalate=self.role != "api")
        )
        if self.role != "api":
            self.processor.on_alerts = self.notifier.submit
        # The Parquet archive is written where the processor commits, on its own thread.
        self.archive: ArchiveWriter | None = None
        if s.archive_url and self.role != "api":
            self.archive = archive_writer(s)
            self.processor.on_commit = self.archive.on_commit
        if self.role != "processor":  # a group member rebuilds its own share when assigned
            self.processor.restore()
        self.fanout: KafkaFanout | None = None
        if self.role == "api":
            assert isinstance(self.bus, KafkaBus)
            self.fanout = KafkaFanout(self.bus.config.bootstrap, self._deliver)
            self.lag_probe: LagProbe | None = LagProbe(
                self.bus.config.bootstrap, self.bus.config.group
            )
        else:
            self.lag_probe = None
        self.registry = ModelRegistry(s.registry_path)
        self.training = TrainingJobs(self.registry, self.promote)
        self._models: dict[str, ServingModel] = {}
        self._models_lock = threading.Lock()
        self._stop_following = threading.Event()
        self.model_error: str | None = None
        self._activate_promoted()
        self.ingest_stats = IngestStats()
        self.feeds: list[Feed] = []
        self.started_at = time.time()
        self._running = False

    def _publisher(self) -> Callable[[str, list[tuple[str, str]]], None]:
        if self.role == "processor":
            bus = self.bus
            assert isinstance(bus, KafkaBus)
            return bus.publish_messages
        return lambda _kind, messages: self.hub.publish_threadsafe(messages)

    def _deliver(self, kind: str, messages: list[tuple[str, str]]) -> None:
        """Updates from the processors (API role): to this process's subscribers, and the
        read caches learn that the data under them moved."""
        v = self.processor.versions
        v.events += 1
        if kind == "window":
            v.windows += 1
            v.segments += 1  # processors register segments first seen in events
            self._learn_from(messages)
        elif kind == "prediction":
            v.predictions += 1
        self.hub.publish_threadsafe(messages)

    def _learn_from(self, messages: list[tuple[str, str]]) -> None:
        """Keep on-demand forecasts current with the 5-minute windows the processors close."""
        rows = [m["data"] for m in map(orjson.loads, (text for _, text in messages))]
        rows = [r for r in rows if r.get("window_minutes") == FORECAST_WINDOW_MINUTES]
        if rows:
            self.processor.learn_windows(
                pa.table(
                    {
                        "segment_id": pa.array([r["segment_id"] for r in rows], pa.string()),
                        "window_start": pa.array([r["window_start"] for r in rows]),
                        "mean_speed": pa.array([r["mean_speed"] for r in rows], pa.float64()),
                        "volume": pa.array([r["volume"] for r in rows], pa.float64()),
                    }
                )
            )

    def register_segments(self, segments: pa.Table, links: pa.Table | None = None) -> None:
        self.store.upsert_segments(segments)
        if links is not None and links.num_rows:
            self.store.upsert_links(links)
            self.processor.set_links(self.store.links())
        self.catalog.load(segments)
        self.processor.versions.segments += 1

    # models -----------------------------------------------------------------
    def _activate_promoted(self) -> None:
        """Serve the promoted model live; without one the interim blend runs alone."""
        try:
            self.processor.model = self.model("latest")
            self.model_error = None
        except UnknownModel:
            self.processor.model = None
            self.model_error = None
        except (RegistryError, OSError, ValueError) as exc:
            # A broken registry must not stop ingest: say so in /health and carry on.
            log.error("could not load the promoted model: %s", exc)
            self.model_error = str(exc)

    def model(self, name: str) -> ServingModel:
        """A registered model ready to forecast ("latest" = promoted, else newest); cached."""
        from trafficcast.forecast.serving import serving_model

        record = self.registry.resolve(name)
        with self._models_lock:
            cached = self._models.get(record.version)
            if cached is None:
                try:
                    cached = serving_model(record.path, record.version, self.settings.timezone)
                except Exception as exc:  # missing files, a bad manifest, a corrupt booster
                    raise ModelLoadError(
                        f"model {record.version} cannot be loaded: {type(exc).__name__}: {exc}"
                    ) from exc
                self._models[record.version] = cached
            return cached

    def promote(self, version: str) -> None:
        # Loaded first: a model that cannot serve is refused before the registry points at it.
        self.model(version)
        self.registry.promote(version)
        self._activate_promoted()

    def rollback(self) -> None:
        self.model(self.registry.rollback_target().version)  # refused if it cannot serve
        self.registry.rollback()
        self._activate_promoted()

    # forecast schedule ------------------------------------------------------
    def stored_schedule(self) -> ForecastSchedule:
        """The schedule saved in the store, or the default when none (valid) is saved."""
        saved = forecast_schedule.parse_stored(
            self.store.get_state(forecast_schedule.STATE_KEY), self.available_horizons_min
        )
        return saved or self.default_schedule

    def set_schedule(self, schedule: ForecastSchedule) -> None:
        """Save the schedule (a restart and every process on this store keep it) and
        issue forecasts by it from the next window close on."""
        unknown = set(schedule.horizons_min) - set(self.available_horizons_min)
        if not schedule.horizons_min or unknown:
            raise ValueError(f"horizons {sorted(unknown)} are not available")
        self.store.set_state(forecast_schedule.STATE_KEY, schedule.to_json())
        self.processor.set_schedule(schedule)

    def _follow_schedule(self) -> None:
        """Adopt a schedule another process saved (e.g. an API process, for the stream
        processors of a group)."""
        schedule = self.stored_schedule()
        if schedule != self.processor.schedule:
            log.info("forecast schedule changed to %s", schedule)
            self.processor.set_schedule(schedule)

    def add_feed(self, feed: Feed) -> None:
        self.feeds.append(feed)
        if self._running:
            feed.start()

    def follow_registry(self, interval_s: float = 10.0) -> None:
        """Serve whatever the registry promotes, also from another process (`models promote`)."""
        stop = self._stop_following

        def watch() -> None:
            tried: str | None = None  # a version that failed to load is not retried every poll
            while not stop.wait(interval_s):
                try:
                    self._follow_schedule()
                except Exception as exc:  # the store may be down for a while; retried next poll
                    log.warning("could not read the forecast schedule: %s", exc)
                try:
                    active = self.registry.active()
                except (RegistryError, OSError):
                    continue
                live = self.processor.model
                if active is None or active.version == tried:
                    continue
                if live is None or live.version != active.version:
                    log.info("the registry promoted %s; serving it", active.version)
                    tried = active.version
                    self._activate_promoted()

        threading.Thread(target=watch, name="registry-watch", daemon=True).start()

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        if self.fanout is not None:
            self.fanout.start()
        if self.archive is not None:
            self.archive.start()
        if self.role != "api":
            self.processor.start()
        self.notifier.start()
        for feed in self.feeds:
            feed.start()
        self.follow_registry(self.settings.registry_poll_s)

    def stop(self) -> None:
        self._stop_following.set()
        for feed in self.feeds:
            feed.stop()
        self.processor.stop()  # also when started on its own (benchmarks, tests)
        if self.archive is not None:
            self.archive.stop()  # writes what is still buffered
        self.notifier.stop()
        if self.fanout is not None:
            self.fanout.stop()
        if self.lag_probe is not None:
            self.lag_probe.close()
        self._running = False
        self.bus.close()
        self.store.close()

    def ingest(self, batch: ValidatedBatch, timeout: float = 2.0) -> None:
        """Hand validated events to the bus; raises BusFull when it stays full."""
        if batch.events.num_rows:
            try:
                self.bus.publish(batch.events, timeout=timeout)
            except BusFull:
                self.ingest_stats.refused += batch.events.num_rows
                raise
        self.ingest_stats.accepted += batch.events.num_rows
        self.ingest_stats.rejected += batch.rejected_rows
