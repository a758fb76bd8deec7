"""Wires the ports and the pipeline together from Settings.

One Runtime is one trafficcast process: store, bus, stream processor, live hub
and any feeds (simulator or replay). The API and the CLI both build on it.
"""

from __future__ import annotations

import logging
import threading
import time

import pyarrow as pa

from trafficcast import __version__
from trafficcast.bus.base import BusFull
from trafficcast.bus.memory import MemoryBus
from trafficcast.config import Settings
from trafficcast.domain.events import Limits, ValidatedBatch
from trafficcast.forecast.live import LiveModel
from trafficcast.forecast.registry import ModelRegistry, RegistryError, UnknownModel
from trafficcast.live.hub import LiveHub
from trafficcast.sources.feeds import Feed
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.processor import ProcessorConfig, StreamProcessor

log = logging.getLogger(__name__)


class ModelLoadError(RegistryError):
    """A registered model whose files cannot be loaded (missing, corrupt, unknown kind)."""


class IngestStats:
    def __init__(self) -> None:
        self.accepted = 0
        self.rejected = 0
        self.refused = 0  # whole batches turned away by backpressure


class Runtime:
    version = __version__

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        s = self.settings
        if not s.bus.startswith("memory://"):
            raise ValueError(f"bus {s.bus!r}: only memory:// is available in this version")
        self.store = DuckDBStore(s.database_path)
        self.store.init_schema()
        self.bus = MemoryBus(s.bus_capacity_events)
        self.catalog = SegmentCatalog()
        self.catalog.load(self.store.segments())
        self.hub = LiveHub(s.ws_queue_size)
        self.processor = StreamProcessor(
            self.bus,
            self.store,
            self.catalog,
            ProcessorConfig(
                window_minutes=s.window_minutes,
                allowed_lateness_ms=s.allowed_lateness_s * 1000,
                watermark_delay_ms=s.watermark_delay_s * 1000,
                horizons_min=s.horizons_min,
                timezone=s.timezone,
                live_interval_ms=s.live_interval_ms,
            ),
            publish=self.hub.publish_threadsafe,
            live_interest=self.hub.interest,
        )
        self.processor.set_links(self.store.links())
        self.processor.restore()
        self.registry = ModelRegistry(s.registry_path)
        self._models: dict[str, LiveModel] = {}
        self._models_lock = threading.Lock()
        self._stop_following = threading.Event()
        self.model_error: str | None = None
        self._activate_promoted()
        self.limits = Limits(
            max_speed=s.max_speed_mph, max_future_skew_ms=s.max_future_skew_s * 1000
        )
        self.ingest_stats = IngestStats()
        self.feeds: list[Feed] = []
        self.started_at = time.time()
        self._running = False

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

    def model(self, name: str) -> LiveModel:
        """A registered model ready to forecast ("latest" = promoted, else newest); cached."""
        from trafficcast.forecast.bundle import TrainedModel

        record = self.registry.resolve(name)
        with self._models_lock:
            cached = self._models.get(record.version)
            if cached is None:
                try:
                    trained = TrainedModel.from_registry_folder(record.path)
                except Exception as exc:  # missing files, a bad manifest, a corrupt booster
                    raise ModelLoadError(
                        f"model {record.version} cannot be loaded: {type(exc).__name__}: {exc}"
                    ) from exc
                cached = LiveModel(trained, record.version, self.settings.timezone)
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
        self.processor.start()
        for feed in self.feeds:
            feed.start()
        self.follow_registry(self.settings.registry_poll_s)

    def stop(self) -> None:
        self._stop_following.set()
        for feed in self.feeds:
            feed.stop()
        self.processor.stop()  # also when started on its own (benchmarks, tests)
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
