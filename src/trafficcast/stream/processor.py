"""The stream processor: bus -> dedupe -> windows -> store -> forecasts -> live hub.

One thread owns all stream state. Each cycle takes what the bus holds (up to a
bound), works on it as one columnar batch, writes the results with idempotent
upserts and hands live messages to the hub.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from trafficcast.alerts.accuracy import (
    MIN_SCORED_CLOSES,
    AccuracyAlerts,
    accuracy_rows,
    horizon_of,
    reference_mae,
)
from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.congestion import AlertChanges, CongestionAlerts
from trafficcast.alerts.follow import Follower, RuleFollower, scope_mask
from trafficcast.alerts.incident_rule import IncidentRuleConfig
from trafficcast.alerts.incidents import (
    IncidentAlerts,
    IncidentRule,
    incident_rows,
    neighbour_matrix,
)
from trafficcast.alerts.predicted import PredictedAlerts, predicted_rows
from trafficcast.alerts.predicted_rule import PredictedRuleConfig
from trafficcast.alerts.records import ChangeRows, pushed_records
from trafficcast.alerts.rules import CongestionRuleConfig, state_key
from trafficcast.alerts.schema import ACTIVE_STATES
from trafficcast.alerts.types import CONGESTION, FORECAST_ACCURACY, INCIDENT, PREDICTED_CONGESTION
from trafficcast.bus.base import Bus
from trafficcast.domain.fill import FILL_KINDS, OBSERVED, fill_names
from trafficcast.domain.level_of_service import level_of_service
from trafficcast.domain.schema import (
    LINK_SCHEMA,
    SEGMENT_SCHEMA,
    STORED_PREDICTION_SCHEMA,
    STORED_WINDOW_SCHEMA,
    TIMESTAMP,
)
from trafficcast.domain.time_of_day import SLOT_MINUTES, slots
from trafficcast.forecast.blend import BlendForecaster
from trafficcast.forecast.forecasts import Forecasts
from trafficcast.forecast.history import RecentHistory
from trafficcast.forecast.live import merge
from trafficcast.forecast.live_scoring import LiveScorer
from trafficcast.forecast.panel import Graph
from trafficcast.forecast.schedule import ForecastSchedule
from trafficcast.forecast.serving import ServingModel
from trafficcast.live.coalescer import ReadingCoalescer
from trafficcast.live.messages import prediction_messages, table_messages, traffic_event_messages
from trafficcast.store.base import AlertQuery, Store
from trafficcast.store.lease import StateLease, process_name
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.dedupe import RecentIds, hash_ids
from trafficcast.stream.gap_fill import (
    MISSING_CODE,
    Filled,
    SilenceTracker,
    fill_silent,
)
from trafficcast.stream.windowing import NO_WATERMARK, TumblingWindows, WindowResults

log = logging.getLogger(__name__)

FORECAST_WINDOW_MINUTES = SLOT_MINUTES
ACCURACY_LEASE_KEY = "forecast_accuracy:lease"
ACCURACY_LEASE_TTL_MS = 60_000
# (message kind, [(segment_id, json_text)]): kinds are traffic_event, window, prediction, alert.
Publisher = Callable[[str, list[tuple[str, str]]], None]
# The store's segments -> those whose events this processor now receives, by partition.
Ownership = Callable[[Sequence[str]], dict[int, list[str]]]


@dataclass
class ProcessorConfig:
    window_minutes: tuple[int, ...] = (1, 5)
    allowed_lateness_ms: int = 5 * 60_000
    watermark_delay_ms: int = 0
    horizons_min: tuple[int, ...] = (15, 30, 45, 60)
    # The horizons published and stored (a subset of horizons_min; None = all of them),
    # and the issue clock; set_schedule changes both while running.
    issue_horizons_min: tuple[int, ...] | None = None
    refresh_minutes: int = 5
    timezone: str = "America/Los_Angeles"
    max_batch_events: int = 500_000
    poll_timeout_s: float = 0.1
    live_interval_ms: int = 1000
    checkpoint_interval_s: float = 5.0
    incident_rule: IncidentRule = field(default_factory=IncidentRule)
    # A segment silent in a 5-minute window gets a filled, flagged window for this long
    # after its last reading (stream/gap_fill.py); 0 turns filling off.
    fill_max_gap_minutes: int = 120


@dataclass
class ProcessorStats:
    events_in: int = 0
    events_processed: int = 0
    duplicates: int = 0
    late: int = 0
    late_by_window: dict[int, int] = field(default_factory=dict)
    windows_emitted: int = 0
    # First emissions of 5-minute windows by fill kind (gap_fill.FILL_KINDS order).
    windows_by_fill: list[int] = field(default_factory=lambda: [0] * len(FILL_KINDS))
    predictions: int = 0
    alerts: int = 0
    batches: int = 0
    last_batch_at: float = 0.0
    last_batch_seconds: float = 0.0
    errors: int = 0


@dataclass
class DataVersions:
    """Counters bumped after each commit that changed that kind of data (for read caches)."""

    events: int = 0
    windows: int = 0
    predictions: int = 0
    segments: int = 0


class StreamProcessor:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        catalog: SegmentCatalog,
        config: ProcessorConfig | None = None,
        publish: Publisher | None = None,
        live_interest: Callable[[], tuple[bool, frozenset[str]]] | None = None,
    ) -> None:
        self.bus = bus
        self.store = store
        self.catalog = catalog
        self.config = config or ProcessorConfig()
        self.publish = publish
        self.live_interest = live_interest
        # Committed alert changes go here too (alerts/notify's dispatcher; must not block).
        self.on_alerts: Callable[[pa.Table], None] | None = None
        # After each commit: its events and windows (first emissions and re-emissions), for
        # the Parquet archive (archive/writer.py; must not block or raise).
        self.on_commit: Callable[[pa.Table | None, list[pa.Table]], None] | None = None
        # The congestion rule as stored (alerts/rules.py), followed while running.
        self.alert_rules = RuleFollower(lambda: store.get_state(state_key(CONGESTION)))
        # The other rules (alerts/registry.py); the incident rule's thresholds override
        # config.incident_rule's only once one is stored.
        self.incident_rules = Follower(
            IncidentRuleConfig, lambda: store.get_state(state_key(INCIDENT))
        )
        self.predicted_rules = Follower(
            PredictedRuleConfig, lambda: store.get_state(state_key(PREDICTED_CONGESTION))
        )
        self.accuracy_rules = Follower(
            AccuracyRuleConfig, lambda: store.get_state(state_key(FORECAST_ACCURACY))
        )
        self._scopes: dict[str, tuple[object, int, npt.NDArray[np.bool_]]] = {}
        self._reference: tuple[object, npt.NDArray[np.float64]] | None = None
        # Scaled out, each processor scores its own segments; the holder of this lease
        # alone judges forecast accuracy, so a degradation raises one alert, not one per
        # processor (judged on the holder's share: a sample of the network).
        self.accuracy_lease = StateLease(
            store.get_state,
            store.set_state,
            ACCURACY_LEASE_KEY,
            process_name(),
            ACCURACY_LEASE_TTL_MS,
        )
        self._fresh_state()
        self.schedule = ForecastSchedule(
            tuple(sorted(self.config.issue_horizons_min or self.config.horizons_min)),
            self.config.refresh_minutes,
        )
        self.set_schedule(self.schedule)
        # A trained model, when one is promoted; the blend fills what it cannot forecast.
        self.model: ServingModel | None = None
        self.links = LINK_SCHEMA.empty_table()
        self.links_version = 0
        self.stats = ProcessorStats()
        self.versions = DataVersions()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._writes: queue.Queue[_Outbox | None] = queue.Queue(maxsize=2)
        self._writer: threading.Thread | None = None
        self._flush_requested = threading.Event()
        self._last_checkpoint = 0.0
        self._position: object = None  # the bus position after the last poll
        self.failure: BaseException | None = None

    def _fresh_state(self) -> None:
        """Empty stream state: at start, and when a rebalance changes what this process owns."""
        lateness = self.config.allowed_lateness_ms
        self.windows = {
            m: TumblingWindows(m * 60_000, lateness, self.config.watermark_delay_ms)
            for m in self.config.window_minutes
        }
        horizon = (
            max(self.config.window_minutes) * 60_000 + lateness + self.config.watermark_delay_ms
        )
        self.recent_ids = RecentIds(horizon)
        self.forecaster = BlendForecaster(self.config.horizons_min)
        self.scorer = LiveScorer(self.forecaster.horizons_min)
        self.history = RecentHistory()
        self.coalescer = ReadingCoalescer(self.config.live_interval_ms)
        self.congestion = CongestionAlerts(self.alert_rules.rule.engine_rule())
        self.incidents = IncidentAlerts(self._incident_rule())
        self.predicted = PredictedAlerts(self.predicted_rules.rule.engine_rule())
        self.accuracy = AccuracyAlerts(
            self.forecaster.horizons_min, self.accuracy_rules.rule.engine_rule()
        )
        self._judges_accuracy = False  # holds the lease, and its open alerts are adopted
        self._accuracy_lease_check_ms = 0  # wall time of the next lease renewal
        self._incident_graph: tuple[int, int] | None = None  # (links_version, segments)
        self.silence = SilenceTracker(
            FORECAST_WINDOW_MINUTES * 60_000, self.config.fill_max_gap_minutes * 60_000
        )
        self._fill_graph: tuple[tuple[int, int], sparse.csr_matrix] | None = None

    # lifecycle ---------------------------------------------------------------
    @property
    def watermark_ms(self) -> int:
        return min(w.watermark_ms for w in self.windows.values())

    def restore(
        self, profile_days: int = 14, partitions: Mapping[int, Sequence[str]] | None = None
    ) -> None:
        """Pick up after a restart exactly where the stored events leave off.

        Every window still open at the stored watermark has all its events
        inside the dedupe horizon, so re-folding the stored events of that
        horizon rebuilds open windows and the duplicate index exactly; replayed
        or resent events are then recognised and counted once. Forecast
        profiles are relearned from the stored 5-minute windows.

        With `partitions` (a consumer group member after a rebalance: the
        segments of each partition it now reads) only those segments' state is
        rebuilt, and the watermark restarts at the slowest partition's clock as
        saved with its last commit, so none of its uncommitted events count as
        late (decision 0011).
        """
        segment_ids: list[str] | None = None
        self._adopt_open_alerts(
            None if partitions is None else [s for group in partitions.values() for s in group]
        )
        if partitions is None:
            saved = self.store.get_state("max_event_ms")
            candidates = [int(v) for v in (saved, self.store.max_event_ms()) if v is not None]
            if not candidates:
                return
            max_event = max(candidates)
        else:
            segment_ids = [s for group in partitions.values() for s in group]
            clocks = [self._partition_clock(p, group) for p, group in partitions.items()]
            known = [v for v in clocks if v is not None]
            if not known:
                return
            max_event = min(known)
        for w in self.windows.values():
            w.restore_watermark(max_event)
        recent = self.store.events_since(max_event - self.recent_ids.horizon_ms, segment_ids)
        if recent.num_rows:
            # In event-time order, and with the clock held at the restored watermark: the
            # stored order is arbitrary, and later events must not make earlier ones late.
            recent = recent.sort_by([("timestamp", "ascending")])
            self.recent_ids.admit(hash_ids(recent.column("event_id")), self.watermark_ms)
            seg = self.catalog.lookup(recent.column("segment_id"))
            ts = np.asarray(recent.column("timestamp").cast(pa.int64()).to_numpy(), np.int64)
            for windows in self.windows.values():
                folded = windows.fold(
                    seg,
                    ts,
                    _floats(recent, "speed"),
                    _floats(recent, "volume"),
                    _floats(recent, "occupancy"),
                    _floats(recent, "quality_score"),
                    max_event,
                )
                # Rewritten in case the crash fell between the event and window writes.
                if len(folded.results):
                    self.store.upsert_windows(self._window_table(folded.results))
        history = self.store.windows_between(
            FORECAST_WINDOW_MINUTES, max_event - profile_days * 86_400_000, max_event + 1
        )
        if segment_ids is not None:
            owned = pc.is_in(history.column("segment_id"), pa.array(list(segment_ids), pa.string()))
            history = history.filter(owned)
        self.learn_windows(history)
        self.silence.resume_at(self.watermark_ms)

    def learn_windows(self, windows: pa.Table) -> None:
        """Feed closed 5-minute windows (segment_id, window_start, mean_speed, volume) to
        the forecasters' history: at a restore, and in an API process that forecasts on
        demand from the windows the processors publish."""
        if not windows.num_rows:
            return
        seg = self.catalog.lookup(windows.column("segment_id"))
        start = np.asarray(
            windows.column("window_start").cast(TIMESTAMP).cast(pa.int64()).to_numpy(),
            dtype=np.int64,
        )
        slot, day = slots(start, self.config.timezone)
        speed, volume = _floats(windows, "mean_speed"), _floats(windows, "volume")
        end = start + FORECAST_WINDOW_MINUTES * 60_000
        if "fill" in windows.column_names:
            observed = np.asarray(
                pc.equal(windows.column("fill"), OBSERVED)
                .fill_null(True)
                .to_numpy(zero_copy_only=False),
                dtype=bool,
            )
        else:
            observed = np.ones(len(seg), dtype=bool)
        # Filled windows carry the forecasts on but never teach the usual profile.
        o = observed
        self.forecaster.observe(seg[o], end[o], slot[o], day[o], speed[o], volume[o])
        f = ~observed
        self.forecaster.observe_last(seg[f], end[f], speed[f], volume[f])
        self.history.observe(seg, start, speed, volume)
        self.silence.seed(seg[o], start[o])

    def _partition_clock(self, partition: int, segment_ids: Sequence[str]) -> int | None:
        """Where a partition's clock stood at its last committed position (its uncommitted
        records start no earlier); before any commit, its newest stored event."""
        saved = self.store.get_state(f"clock:{partition}")
        if saved is not None:
            return int(saved)
        return self.store.max_event_ms(segment_ids) if segment_ids else None

    def start(self) -> None:
        listen = getattr(self.bus, "set_rebalance_listener", None)
        if listen is not None:
            listen(self._partitions_revoked, self._partitions_assigned)
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._writer.start()
        self._thread = threading.Thread(target=self._run, name="stream-processor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._writer is not None:
            self._writes.put(None)
            self._writer.join(timeout)
            self._writer = None
        self.checkpoint()
        try:
            self.accuracy_lease.release()  # another processor takes over at once
        except Exception as exc:
            log.warning("accuracy lease not released (it lapses instead): %s", exc)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def request_flush(self) -> None:
        """Close every open window once the bus is drained (end of a finite replay)."""
        self._flush_requested.set()

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """Wait until the bus is empty and the last batch is fully written."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._idle.clear()
            if self.bus.depth == 0 and self._idle.wait(max(0.0, deadline - time.monotonic())):
                if (
                    self.bus.depth == 0
                    and not self._flush_requested.is_set()
                    and self._writes.unfinished_tasks == 0
                ):
                    return True
            else:
                time.sleep(0.01)
        return False

    def _partitions_revoked(self) -> None:
        """Before partitions move away: everything read so far must be durably written, so
        the bus can commit its position and the next owner rebuilds from the store."""
        if self._writer is not None and self._writer.is_alive():
            self._writes.join()

    def _partitions_assigned(self, owns: Ownership) -> None:
        """Now reading other partitions: rebuild stream state for exactly their segments."""
        self._fresh_state()
        self.catalog.load(self.store.segments())
        self.set_links(self.store.links())  # registered since this process started, perhaps
        owned = owns(self.catalog.index.ids.to_pylist())
        self.restore(partitions=owned)
        log.info("rebuilt stream state for %d segments", sum(len(g) for g in owned.values()))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batches = self.bus.poll(self.config.max_batch_events, self.config.poll_timeout_s)
                self._position = self.bus.position()
                limit = self._event_time_limit()
                if batches:
                    self.process(pa.concat_tables(batches), limit)
                else:
                    self._advance(limit)
                    if self._flush_requested.is_set():
                        self._flush_requested.clear()
                        self.flush()
                self.tick()
                if not batches and self.bus.depth == 0:
                    self._idle.set()
            except Exception as exc:  # keep the thread alive; the failure is visible in /health
                self.stats.errors += 1
                self.failure = exc
                log.exception("stream processor batch failed")
                time.sleep(0.5)

    def _event_time_limit(self) -> int | None:
        limit = getattr(self.bus, "event_time_limit", None)
        return None if limit is None else cast(int | None, limit())

    def _advance(self, limit_ms: int | None) -> None:
        """With no new events, let the clock catch up with those already read, as far as
        the slowest input allows (the end of a backlog closes its last windows)."""
        out = _Outbox()
        for windows in self.windows.values():
            self._windows_closed(windows.advance(limit_ms), out)
        if out.windows or out.window_updates:
            self._enqueue(out)

    # work ----------------------------------------------------------------------
    def process(self, events: pa.Table, limit_ms: int | None = None) -> None:
        """Window one batch and write everything it produced as one transaction."""
        started = time.perf_counter()
        out = _Outbox()
        self.stats.events_in += events.num_rows
        # Ids are remembered from the watermark this batch leaves behind: a batch
        # can span much event time (a replay), and each of its events may change
        # a window until that watermark plus the horizon.
        newest = pc.max(events.column("timestamp")).cast(pa.int64()).as_py()
        after = int(newest or 0) - self.config.watermark_delay_ms
        is_new = self.recent_ids.admit(
            hash_ids(events.column("event_id")), self.watermark_ms, keep_from_ms=after
        )
        self.stats.duplicates += int((~is_new).sum())
        if not is_new.all():
            events = events.filter(pa.array(is_new))
        if events.num_rows == 0:
            return
        known_before = len(self.catalog.index)
        seg = self.catalog.lookup(events.column("segment_id"))
        if len(self.catalog.index) > known_before:
            out.new_segments = self._new_segments(events, seg, known_before)
        ts = np.asarray(events.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        speed = _floats(events, "speed")
        volume = _floats(events, "volume")
        occupancy = _floats(events, "occupancy")
        quality = _floats(events, "quality_score")

        late_everywhere = np.ones(len(ts), dtype=bool)
        results: list[WindowResults] = []
        for minutes, windows in self.windows.items():
            folded = windows.fold(seg, ts, speed, volume, occupancy, quality, limit_ms)
            results.append(folded.results)
            late = int(folded.too_late.sum())
            self.stats.late_by_window[minutes] = self.stats.late_by_window.get(minutes, 0) + late
            late_everywhere &= folded.too_late
        on_time = ~late_everywhere
        if late_everywhere.any():
            out.late = events.filter(pa.array(late_everywhere))
            out.events = events.filter(pa.array(on_time))
        else:
            out.events = events
        out.latest = self._latest_rows(seg[on_time], ts[on_time], out.events)
        for window_results in results:
            self._windows_closed(window_results, out)
        self._enqueue(out)
        self.stats.late += out.late.num_rows if out.late is not None else 0
        self.stats.events_processed += out.events.num_rows
        self.coalescer.update(
            seg[on_time], ts[on_time], speed[on_time], volume[on_time], occupancy[on_time]
        )
        self._send_live_readings()
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()
        self.stats.last_batch_seconds = time.perf_counter() - started

    def flush(self) -> None:
        out = _Outbox()
        for windows in self.windows.values():
            self._windows_closed(windows.flush(), out)
        self._enqueue(out)

    def tick(self) -> None:
        """Periodic work: coalesced live readings and the checkpoint."""
        self._send_live_readings()
        now = time.monotonic()
        if now - self._last_checkpoint >= self.config.checkpoint_interval_s:
            self._enqueue(_Outbox())
            self._last_checkpoint = now

    def checkpoint(self) -> None:
        self._enqueue(_Outbox())

    def _enqueue(self, out: _Outbox) -> None:
        """Hand a cycle's output to the writer thread (or write it now without one).

        The writer lets DuckDB's work, which runs without the GIL, overlap the
        next cycle's computing and the API's decoding; the bounded queue keeps
        the processor at most two cycles ahead of the store.
        """
        out.max_event_ms = max(w.max_event_ms for w in self.windows.values())
        clocks = getattr(self.bus, "partition_clocks", None)
        if clocks is not None:
            out.partition_clocks = clocks()
        out.position = self._position
        if self._writer is not None and self._writer.is_alive():
            self._writes.put(out)
        else:
            self._commit(out)

    def _write_loop(self) -> None:
        while True:
            out = self._writes.get()
            try:
                if out is None:
                    return
                self._commit(out)
            except Exception:
                # Only reached when stopping while the store is down.
                log.exception("dropping a cycle's output at shutdown")
            finally:
                self._writes.task_done()

    def _commit(self, out: _Outbox) -> None:
        """Write a cycle's output atomically, retrying while the store is down.

        The cycle's events are already in the window state and the duplicate
        index, so giving up would lose them: the processor waits instead, the
        bus fills, and sources see backpressure until the store is back.
        """
        delay = 0.1
        while True:
            try:
                with self.store.transaction():
                    self._write(out, out.max_event_ms)
                break
            except Exception as exc:
                self.stats.errors += 1
                self.failure = exc
                log.warning("store write failed; retrying in %.1f s: %s", delay, exc)
                if self._stop.wait(delay):
                    raise
                delay = min(delay * 2, 5.0)
        self.failure = None
        self.bus.commit(out.position)  # only now may the bus move past these events
        if self.on_commit is not None:
            self.on_commit(out.events, out.windows + out.window_updates)
        _log_cycle(out)
        v = self.versions
        v.events += out.events is not None and out.events.num_rows > 0
        v.windows += bool(out.windows)
        v.predictions += bool(out.predictions)
        v.segments += out.new_segments is not None
        if self.publish is not None:
            for kind, messages in out.messages:
                self.publish(kind, messages)
            if out.stored_alerts is not None:
                self._publish_alerts(out)

    def _write(self, out: _Outbox, max_event: int) -> None:
        store = self.store
        if out.new_segments is not None:
            store.insert_missing_segments(out.new_segments)
        if out.late is not None and out.late.num_rows:
            store.write_late_events(
                out.late, "behind the watermark by more than the allowed lateness"
            )
        if out.events is not None:
            store.write_events(out.events)
        if out.latest is not None:
            store.upsert_latest_readings(out.latest)
        if out.windows:
            store.insert_windows(pa.concat_tables(out.windows))
        if out.window_updates:
            store.upsert_windows(pa.concat_tables(out.window_updates))
        if out.predictions:
            store.insert_predictions(pa.concat_tables(out.predictions))
        if out.alerts:
            out.stored_alerts = store.upsert_alerts(_last_per_alert(pa.concat_tables(out.alerts)))
        if max_event != NO_WATERMARK:
            store.set_state("max_event_ms", str(max_event))
        for partition, clock in out.partition_clocks.items():
            store.set_state(f"clock:{partition}", str(clock))

    # pieces --------------------------------------------------------------------
    def _new_segments(
        self, events: pa.Table, seg: npt.NDArray[np.int64], first_new: int
    ) -> pa.Table:
        """Catalog rows for segments first seen in events (auto-registration)."""
        new_rows = np.flatnonzero(seg >= first_new)
        uniq, first = np.unique(seg[new_rows], return_index=True)
        rows = pa.array(new_rows[first])
        n = len(uniq)
        return pa.Table.from_arrays(
            [
                self.catalog.index.take(uniq),
                self.catalog.index.take(uniq),
                pa.nulls(n, pa.string()),
                pa.nulls(n, pa.string()),
                events.column("latitude").take(rows),
                events.column("longitude").take(rows),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.int32()),
                pa.nulls(n, pa.string()),
            ],
            schema=SEGMENT_SCHEMA,
        )

    @staticmethod
    def _latest_rows(
        seg: npt.NDArray[np.int64], ts: npt.NDArray[np.int64], events: pa.Table
    ) -> pa.Table | None:
        """Each segment's newest reading in the batch."""
        if len(seg) == 0:
            return None
        order = np.lexsort((ts, seg))
        s_sorted = seg[order]
        last = order[np.r_[s_sorted[1:] != s_sorted[:-1], True]]
        return events.take(pa.array(last)).select(
            ["segment_id", "timestamp", "speed", "volume", "occupancy", "source"]
        )

    def _send_live_readings(self) -> None:
        if self.publish is None or self.live_interest is None:
            return
        everything, wanted_ids = self.live_interest()
        if not everything and not wanted_ids:
            return
        wanted = None
        if not everything:
            wanted = np.zeros(len(self.catalog.index), dtype=bool)
            for sid in wanted_ids:
                i = self.catalog.index.get(sid)
                if i is not None:
                    wanted[i] = True
        due = self.coalescer.due(int(time.time() * 1000), wanted)
        if len(due) == 0:
            return
        c = self.coalescer
        ids = self.catalog.index.take(due).to_pylist()
        los = level_of_service(c.speed[due], self.catalog.free_flow[due]).tolist()
        self.publish(
            "traffic_event",
            traffic_event_messages(
                ids, c.ts_ms[due], c.speed[due], c.volume[due], c.occupancy[due], los
            ),
        )

    def _windows_closed(self, results: WindowResults, out: _Outbox) -> None:
        if len(results) == 0:
            return
        minutes = results.window_ms // 60_000
        fill = np.zeros(len(results), dtype=np.int8)
        replace = ~results.first_emission
        messages_at = len(out.messages)  # windows are pushed before what they lead to
        if minutes == FORECAST_WINDOW_MINUTES:
            replace = self._came_back(results)
            # Windows of silent detectors are filled close by close as forecasting goes.
            results, fill, replace = self._forecast(results, replace, out)
            kinds = np.bincount(fill[results.first_emission], minlength=len(FILL_KINDS))
            for k, n in enumerate(kinds.tolist()):
                self.stats.windows_by_fill[k] += n
        table = self._window_table(results, fill)
        if not replace.any():
            out.windows.append(table)
        else:
            again = pa.array(replace)
            out.windows.append(table.filter(pc.invert(again)))
            out.window_updates.append(table.filter(again))
        self.stats.windows_emitted += len(results)
        wanted = self._wanted(table)
        if wanted is not None:
            out.messages.insert(messages_at, ("window", table_messages("window", wanted)))

    def _came_back(self, results: WindowResults) -> npt.NDArray[np.bool_]:
        """Which 5-minute rows replace a stored window: re-emissions, and first readings of
        a window already judged (it may hold a filled row; the reading supersedes it)."""
        first = results.first_emission
        replace = ~first
        judged = self.silence.through_ms
        if judged is not None:
            came_back = first & (results.window_start_ms < judged)
            replace = replace | came_back
            self.silence.seed(results.segment[came_back], results.window_start_ms[came_back])
        return replace

    def _fill_close(
        self, start: int, results: WindowResults, closed: npt.NDArray[np.int64]
    ) -> Filled | None:
        """Judge the window at `start` (its readers are `closed`, rows of `results`) and fill
        its expected silent segments (stream/gap_fill.py); None when none is silent."""
        if (
            self.config.fill_max_gap_minutes <= 0
            or not self.silence.starts_to_judge(results.window_start_ms[closed]).size
        ):
            return None
        silent = self.silence.judge(start, results.segment[closed])
        if not len(silent):
            return None
        return self._fill_window(
            start,
            silent,
            results.segment[closed],
            results.mean_speed[closed],
            results.volume[closed],
        )

    @staticmethod
    def _with_filled(
        results: WindowResults, parts: list[tuple[int, Filled]]
    ) -> tuple[WindowResults, npt.NDArray[np.int8]]:
        """`results` with the filled windows appended (count 0, no occupancy or quality),
        and every row's fill code."""
        no_fill = np.zeros(len(results), dtype=np.int8)
        if not parts:
            return results, no_fill
        filled = [f for _, f in parts]
        extra = sum(len(f.segment) for f in filled)
        speed = np.concatenate([f.speed for f in filled])
        nan = np.full(extra, np.nan)
        merged = WindowResults(
            segment=np.concatenate([results.segment, *(f.segment for f in filled)]),
            window_start_ms=np.concatenate(
                [results.window_start_ms, *(np.full(len(f.segment), s) for s, f in parts)]
            ),
            window_ms=results.window_ms,
            count=np.concatenate([results.count, np.zeros(extra, dtype=np.int64)]),
            mean_speed=np.concatenate([results.mean_speed, speed]),
            harmonic_mean_speed=np.concatenate([results.harmonic_mean_speed, speed]),
            volume=np.concatenate([results.volume, *(f.volume for f in filled)]),
            occupancy=np.concatenate([results.occupancy, nan]),
            quality=np.concatenate([results.quality, nan]),
            first_emission=np.concatenate([results.first_emission, np.ones(extra, dtype=bool)]),
        )
        return merged, np.concatenate([no_fill, *(f.fill for f in filled)])

    def _fill_window(
        self,
        start: int,
        silent: npt.NDArray[np.int64],
        seen: npt.NDArray[np.int64],
        seen_speed: npt.NDArray[np.float64],
        seen_volume: npt.NDArray[np.float64],
    ) -> Filled:
        """Fill one window's silent segments from its readers, the road graph and the
        forecaster's usual profile for the window's time of day."""
        size = len(self.catalog.index)
        slot, day = slots(np.array([start], dtype=np.int64), self.config.timezone)
        usual = []
        for profile in (self.forecaster.speed_profile, self.forecaster.volume_profile):
            values = np.full(size, np.nan)
            m = min(size, profile.mean.shape[0])
            known = profile.n[:m, day[0], slot[0]] > 0
            values[:m] = np.where(known, profile.mean[:m, day[0], slot[0]], np.nan)
            usual.append(values)
        graph = (self.links_version, size)
        if self._fill_graph is None or self._fill_graph[0] != graph:
            g = Graph.from_links(self.links, self.catalog.index.ids)
            self._fill_graph = (graph, neighbour_matrix(g.upstream(), g.downstream()))
        return fill_silent(
            silent, seen, seen_speed, seen_volume, usual[0], usual[1], self._fill_graph[1]
        )

    def _window_table(
        self, results: WindowResults, fill: npt.NDArray[np.int8] | None = None
    ) -> pa.Table:
        minutes = results.window_ms // 60_000
        los = level_of_service(results.mean_speed, self.catalog.free_flow[results.segment])
        now = int(time.time() * 1000)
        return pa.Table.from_arrays(
            [
                self.catalog.index.take(results.segment),
                pa.array(np.full(len(results), minutes, dtype=np.int32)),
                pa.array(results.window_start_ms).cast(TIMESTAMP),
                pa.array(results.window_end_ms).cast(TIMESTAMP),
                pa.array(results.mean_speed, from_pandas=True),
                pa.array(results.harmonic_mean_speed, from_pandas=True),
                pa.array(results.volume, from_pandas=True),
                pa.array(results.occupancy, from_pandas=True),
                pa.array(results.count),
                pa.array(results.quality, from_pandas=True),
                # No speed (a missing window): no level of service either.
                pa.array(los, mask=~np.isfinite(results.mean_speed)),
                pa.array(np.full(len(results), now, dtype=np.int64)).cast(TIMESTAMP),
                fill_names(np.zeros(len(results), dtype=np.int8) if fill is None else fill),
            ],
            schema=STORED_WINDOW_SCHEMA,
        )

    def _wanted(self, table: pa.Table) -> pa.Table | None:
        """The rows of `table` some live subscriber wants, or None."""
        if self.publish is None or self.live_interest is None:
            return None
        everything, wanted = self.live_interest()
        if not everything:
            if not wanted:
                return None
            table = table.filter(pc.is_in(table.column("segment_id"), pa.array(list(wanted))))
        return table if table.num_rows else None

    def set_schedule(self, schedule: ForecastSchedule) -> None:
        """Issue only `schedule`'s horizons, at its closes, from the next window close on.

        Safe from any thread: the processor reads the schedule once per close. The
        forecaster keeps learning and scoring on every close either way.
        """
        grid = set(self.forecaster.horizons_min.tolist())
        missing = sorted(set(schedule.horizons_min) - grid)
        if not schedule.horizons_min or missing:
            raise ValueError(
                f"horizons {missing or '(none)'} are not among the forecaster's {sorted(grid)}"
            )
        self.schedule = schedule

    def _forget_unissued(self, issued: tuple[int, ...]) -> None:
        """Live error of horizons no longer issued is unknown, not the last figure seen,
        so /health and /metrics do not report a stale one as current."""
        s = self.scorer
        off = ~np.isin(s.horizons_min, np.asarray(issued, dtype=np.int64))
        if off.any():
            s.speed_mae[off] = np.nan
            s.speed_mae_slow[off] = np.nan
            s.volume_rel_mae[off] = np.nan
            s.batches[off] = 0

    def set_links(self, links: pa.Table) -> None:
        """The road graph the trained model's neighbour features read."""
        self.links = links
        self.links_version += 1

    def _forecast(
        self, results: WindowResults, replace: npt.NDArray[np.bool_], out: _Outbox
    ) -> tuple[WindowResults, npt.NDArray[np.int8], npt.NDArray[np.bool_]]:
        """Score, learn, forecast and alert on closed 5-minute windows, and fill the windows
        of silent detectors close by close (from the profile as it stood at that close).

        Filled windows feed the features and carry the forecasts on; only observed ones are
        scored, teach the profile and raise alerts. Returns the results with the filled
        windows appended, every row's fill code (domain/fill.py) and which rows replace a
        stored window (`replace`, the filled rows never).
        """
        first = results.first_emission
        parts: list[tuple[int, Filled]] = []
        seg = results.segment
        start = results.window_start_ms
        # Corrections too: a late event that changes a window changes what comes next.
        self.history.observe(seg, start, results.mean_speed, results.volume)
        slot, day = slots(start, self.config.timezone)
        ends = results.window_end_ms[first]
        # One close at a time, in order: a batch spanning several closes must score, learn
        # and forecast exactly as if the closes had come one by one (no later window may
        # leak into an earlier forecast).
        for end in np.unique(ends):
            at = np.flatnonzero(first)[ends == end]
            close_start = int(end) - FORECAST_WINDOW_MINUTES * 60_000
            filled = None if replace[at].any() else self._fill_close(close_start, results, at)
            if filled is not None:
                parts.append((close_start, filled))
            self.scorer.observe(
                seg[at], results.window_end_ms[at], results.mean_speed[at], results.volume[at]
            )
            self._observe_accuracy(int(end), out)
            schedule = self.schedule  # one read per close: another thread may replace it
            self._forget_unissued(schedule.horizons_min)
            self.forecaster.calibrate(self.scorer.speed_mae, self.scorer.volume_rel_mae)
            if self.model is not None:
                self.model.adapt(self.scorer.last_bands)
            # The usual speed before this window teaches the profile: a drop must not
            # explain itself.
            usual, usual_days = self._usual_speed(seg[at], day[at], slot[at])
            self.forecaster.observe(
                seg[at],
                results.window_end_ms[at],
                slot[at],
                day[at],
                results.mean_speed[at],
                results.volume[at],
            )
            issue_seg, issue_fill = seg[at], np.zeros(len(at), dtype=np.int8)
            if filled is not None:
                carried = filled.fill != MISSING_CODE
                c_seg, c_speed, c_volume = (
                    filled.segment[carried],
                    filled.speed[carried],
                    filled.volume[carried],
                )
                self.history.observe(c_seg, np.full(len(c_seg), close_start), c_speed, c_volume)
                self.forecaster.observe_last(c_seg, np.full(len(c_seg), end), c_speed, c_volume)
                issue_seg = np.concatenate([issue_seg, c_seg])
                issue_fill = np.concatenate([issue_fill, filled.fill[carried]])
            issued: Forecasts | None = None
            if schedule.due(int(end)):
                n = len(issue_seg)
                issued = self._issue(
                    int(end),
                    issue_seg,
                    np.full(n, slot[at[0]]),
                    np.full(n, day[at[0]]),
                    out,
                    schedule.horizons_min,
                    issue_fill,
                )
            self._follow_alert_rule()
            changes = self.congestion.observe(
                seg[at],
                results.window_end_ms[at],
                results.mean_speed[at],
                self.catalog.free_flow[seg[at]],
                self._alert_eligible(seg[at]),
            )
            if len(changes):
                self._queue_alerts(changes, out)
            self._observe_incidents(results, at, usual, usual_days, out)
            if issued is not None:  # after congestion: a congested segment's prediction ends
                self._observe_predicted(issued, out)
        if len(ends):
            self.scorer.expire(int(ends.max()) - 2 * 3600_000)
        merged, fill = self._with_filled(results, parts)
        extra = len(merged) - len(results)
        return merged, fill, np.concatenate([replace, np.zeros(extra, dtype=bool)])

    def _issue(
        self,
        issued_ms: int,
        seg: npt.NDArray[np.int64],
        now_slot: npt.NDArray[np.int64],
        now_day: npt.NDArray[np.int64],
        out: _Outbox,
        horizons_min: tuple[int, ...] | None = None,
        input_fill: npt.NDArray[np.int8] | None = None,
    ) -> Forecasts:
        """Forecast `seg` from the windows that closed at `issued_ms`, whose fill codes
        (domain/fill.py) are `input_fill`."""
        started = time.perf_counter()
        h = (
            self.forecaster.horizons_min
            if horizons_min is None
            else np.asarray(horizons_min, dtype=np.int64)
        )
        target_start = issued_ms + h * 60_000 - FORECAST_WINDOW_MINUTES * 60_000
        t_slot, t_day = slots(
            np.broadcast_to(target_start, (len(seg), len(h))).copy(), self.config.timezone
        )
        forecasts = self._with_model(
            self.model,
            self.forecaster.forecast(seg, issued_ms, now_slot, now_day, t_slot, t_day, h),
        )
        self.scorer.record(forecasts)
        table = forecasts_table(forecasts, self.catalog.index.take(seg), input_fill)
        out.predictions.append(table)
        self.stats.predictions += table.num_rows
        wanted = self._wanted(table)
        if wanted is not None:
            out.messages.append(("prediction", prediction_messages(wanted)))
        log.info(
            "forecast issued for %d segments x %d horizons",
            len(seg),
            len(h),
            extra={
                "event": "forecast_issued",
                "issued_at": _iso(issued_ms),
                "segments": len(seg),
                "horizons_min": h.tolist(),
                "values": table.num_rows,
                "model_version": forecasts.model_version,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
            },
        )
        return forecasts

    # alerts ------------------------------------------------------------------------
    def _follow_alert_rule(self) -> None:
        """Apply changed rules from this window on; the hysteresis runs stay."""
        if self.alert_rules.poll():
            self.congestion.set_rule(self.alert_rules.rule.engine_rule())
            log.info("congestion alert rule changed: %s", self.alert_rules.rule.dumps())
        if self.incident_rules.poll():
            self.incidents.set_rule(self._incident_rule())
            log.info("incident alert rule changed: %s", self.incident_rules.rule.dumps())
        if self.predicted_rules.poll():
            self.predicted.set_rule(self.predicted_rules.rule.engine_rule())
            log.info("predicted alert rule changed: %s", self.predicted_rules.rule.dumps())
        if self.accuracy_rules.poll():
            self.accuracy.set_rule(self.accuracy_rules.rule.engine_rule())
            log.info("accuracy alert rule changed: %s", self.accuracy_rules.rule.dumps())

    def invalidate_rules(self) -> None:
        """Re-read every rule at the next close (after an API change; any thread)."""
        for follower in (
            self.alert_rules,
            self.incident_rules,
            self.predicted_rules,
            self.accuracy_rules,
        ):
            follower.invalidate()

    def _incident_rule(self) -> IncidentRule:
        f = self.incident_rules
        base = self.config.incident_rule
        return f.rule.engine_rule(base) if f.stored else base

    def _alert_eligible(
        self, seg: npt.NDArray[np.int64], rule_id: str = CONGESTION
    ) -> npt.NDArray[np.bool_] | None:
        """Which of these segments the rule's scope lets open an alert (None: all)."""
        rule: CongestionRuleConfig | IncidentRuleConfig | PredictedRuleConfig
        if rule_id == INCIDENT:
            rule = self.incident_rules.rule
        elif rule_id == PREDICTED_CONGESTION:
            rule = self.predicted_rules.rule
        else:
            rule = self.alert_rules.rule
        if rule.segment_ids is None:
            return None
        size = len(self.catalog.index)
        cached = self._scopes.get(rule_id)
        if cached is None or cached[0] is not rule or cached[1] != size:
            mask = scope_mask(rule.segment_ids, self.catalog.index.get, size)
            self._scopes[rule_id] = cached = (rule, size, mask)
        return cached[2][seg]

    def _observe_predicted(self, forecasts: Forecasts, out: _Outbox) -> None:
        seg = forecasts.segment
        opened = self.congestion.open_since_ms
        congested = np.zeros(len(seg), bool)
        inside = seg < len(opened)
        congested[inside] = opened[seg[inside]] > 0
        changes = self.predicted.observe(
            seg,
            forecasts.issued_ms,
            forecasts.horizons_min,
            forecasts.speed,
            self.catalog.free_flow[seg],
            self._alert_eligible(seg, PREDICTED_CONGESTION),
            congested,
        )
        if len(changes):
            out.alerts.append(predicted_rows(changes, self.catalog.index.ids.to_pylist()))
            self.stats.alerts += len(changes)

    def _leads_accuracy(self) -> bool:
        """Whether this processor judges accuracy: renews the lease a few times per TTL and,
        on taking it, carries on the accuracy alerts still open in the store."""
        now_ms = int(time.time() * 1000)
        if now_ms < self._accuracy_lease_check_ms:
            return self._judges_accuracy
        try:
            held = self.accuracy_lease.hold(now_ms)
        except Exception as exc:  # the store is down: keep judging as before, retry later
            log.warning("accuracy lease: %s", exc)
            held = self._judges_accuracy
        if held and not self._judges_accuracy:
            self.accuracy = AccuracyAlerts(self.forecaster.horizons_min, self.accuracy.rule)
            self._adopt_accuracy_alerts()
        self._judges_accuracy = held
        self._accuracy_lease_check_ms = now_ms + ACCURACY_LEASE_TTL_MS // 3
        return held

    def _observe_accuracy(self, at_ms: int, out: _Outbox) -> None:
        """Judge each horizon's live MAE against the rule's bound at this close."""
        if not self._leads_accuracy():
            return
        model = self.model
        reference = None
        if model is not None:
            if self._reference is None or self._reference[0] is not model:
                mae = reference_mae(model.model.metadata, self.accuracy.horizons_min)
                self._reference = (model, mae)
            reference = self._reference[1]
        scorer = self.scorer
        mae = np.where(scorer.batches >= MIN_SCORED_CLOSES, scorer.speed_mae, np.nan)
        changes = self.accuracy.observe(at_ms, mae, reference)
        if len(changes):
            out.alerts.append(accuracy_rows(changes, self.accuracy.horizons_min))
            self.stats.alerts += len(changes)

    def _usual_speed(
        self, seg: npt.NDArray[np.int64], day: npt.NDArray[np.int64], slot: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """The forecaster's profile speed for these windows and the days behind it."""
        profile = self.forecaster.speed_profile
        usual, days = np.full(len(seg), np.nan), np.zeros(len(seg))
        known = seg < profile.mean.shape[0]
        if known.any():
            usual[known], days[known] = profile.at(seg[known], day[known], slot[known])
        return usual, days

    def _observe_incidents(
        self,
        results: WindowResults,
        at: npt.NDArray[np.int64],
        usual: npt.NDArray[np.float64],
        usual_days: npt.NDArray[np.float64],
        out: _Outbox,
    ) -> None:
        graph = (self.links_version, len(self.catalog.index))
        if self._incident_graph != graph:
            g = Graph.from_links(self.links, self.catalog.index.ids)
            self.incidents.set_neighbours(neighbour_matrix(g.upstream(), g.downstream()))
            self._incident_graph = graph
        seg = results.segment[at]
        changes = self.incidents.observe(
            seg,
            results.window_end_ms[at],
            results.mean_speed[at],
            usual,
            usual_days,
            self.catalog.free_flow[seg],
            results.quality[at],
            self._alert_eligible(seg, INCIDENT),
        )
        if len(changes):
            ids = self.catalog.index.ids.to_pylist()
            out.alerts.append(incident_rows(changes, ids))
            self.stats.alerts += len(changes)

    def _adopt_open_alerts(self, segment_ids: Sequence[str] | None) -> None:
        """Carry on the alerts still active in the store (of these segments), so they
        resolve when traffic recovers and no duplicate opens after a restart (accuracy
        alerts again whenever this processor takes the accuracy lease)."""
        self._adopt_accuracy_alerts()
        engines: tuple[tuple[str, CongestionAlerts | IncidentAlerts | PredictedAlerts], ...] = (
            (CONGESTION, self.congestion),
            (INCIDENT, self.incidents),
            (PREDICTED_CONGESTION, self.predicted),
        )
        for alert_type, engine in engines:
            active = self.store.query_alerts(
                AlertQuery(states=ACTIVE_STATES, alert_type=alert_type, limit=1_000_000)
            )
            if segment_ids is not None:
                owned = pc.is_in(
                    active.column("segment_id"), pa.array(list(segment_ids), pa.string())
                )
                active = active.filter(owned)
            index: dict[int, tuple[int, bool]] = {}
            for sid, at, severity in zip(
                active.column("segment_id").to_pylist(),
                active.column("opened_at").cast(pa.int64()).to_pylist(),
                active.column("severity").to_pylist(),
                strict=True,
            ):
                i = None if sid is None else self.catalog.index.get(sid)
                if i is not None and i not in index:  # newest first: keep each segment's newest
                    index[i] = (at, severity == "major")
            if index:
                engine.adopt_open(
                    np.fromiter(index, np.int64, len(index)),
                    np.array([v[0] for v in index.values()], np.int64),
                    np.array([v[1] for v in index.values()], bool),
                )

    def _adopt_accuracy_alerts(self) -> None:
        active = self.store.query_alerts(
            AlertQuery(states=ACTIVE_STATES, alert_type=FORECAST_ACCURACY, limit=10_000)
        )
        seen: set[int] = set()
        for alert_id, at, severity in zip(
            active.column("alert_id").to_pylist(),
            active.column("opened_at").cast(pa.int64()).to_pylist(),
            active.column("severity").to_pylist(),
            strict=True,
        ):
            horizon = horizon_of(str(alert_id))
            if horizon is not None and horizon not in seen:  # newest first: keep the newest
                seen.add(horizon)
                self.accuracy.adopt_open(horizon, int(at), severity == "major")

    def _queue_alerts(self, changes: AlertChanges, out: _Outbox) -> None:
        rule = self.congestion.rule
        rows = ChangeRows(CONGESTION)

        def row(seg: int, opened: int, resolved: int | None, severity: str, msg: str) -> None:
            sid = self.catalog.index.id_of(seg)
            rows.add(f"congestion:{sid}:{opened}", sid, opened, resolved, severity, msg)

        for seg, at, severity, ratio, minutes in zip(
            changes.opened.tolist(),
            changes.opened_at_ms.tolist(),
            changes.severity.tolist(),
            changes.ratio.tolist(),
            changes.low_minutes.tolist(),
            strict=True,
        ):
            row(seg, at, None, severity, f"speed at {ratio:.0%} of free flow for {minutes} min")
        for seg, at, opened, severity in zip(
            changes.resolved.tolist(),
            changes.resolved_at_ms.tolist(),
            changes.resolved_opened_at_ms.tolist(),
            changes.resolved_severity.tolist(),
            strict=True,
        ):
            row(
                seg, opened, at, severity, f"speed back above {rule.resolve_ratio:.0%} of free flow"
            )
        out.alerts.append(rows.table())
        self.stats.alerts += len(changes)

    def _publish_alerts(self, out: _Outbox) -> None:
        """Every alert change, pushed after the write as the store holds it (with an
        operator's acknowledgement kept; see alerts/records.py)."""
        assert self.publish is not None
        assert out.stored_alerts is not None
        records = pushed_records(
            pa.concat_tables(out.alerts), out.stored_alerts, int(time.time() * 1000)
        )
        if self.on_alerts is not None:
            self.on_alerts(records)
        wanted = self._wanted(records)
        if wanted is not None:
            self.publish("alert", table_messages("alert", wanted))

    def _with_model(self, model: ServingModel | None, blend: Forecasts) -> Forecasts:
        if model is None:
            return blend
        learned = model.forecast(
            self.history,
            blend.segment,
            blend.issued_ms,
            blend.horizons_min,
            self.catalog.index.ids,
            self.links,
            self.links_version,
        )
        return merge(learned, blend)

    def forecast_on_demand(
        self,
        segment: int,
        horizons_min: npt.NDArray[np.int64],
        model: ServingModel | None,
    ) -> Forecasts | None:
        """Forecast one segment from its last closed 5-minute window; None without data.

        With `model` None the interim blend forecasts alone.
        """
        f = self.forecaster
        if segment >= f.size or f.last_end_ms[segment] == 0:
            return None
        issued = int(f.last_end_ms[segment])
        seg = np.array([segment], dtype=np.int64)
        now_slot, now_day = slots(
            np.array([issued - FORECAST_WINDOW_MINUTES * 60_000]), self.config.timezone
        )
        target = issued + horizons_min * 60_000 - FORECAST_WINDOW_MINUTES * 60_000
        t_slot, t_day = slots(target[None, :], self.config.timezone)
        blend = f.forecast(seg, issued, now_slot, now_day, t_slot, t_day, horizons_min)
        return self._with_model(model, blend)


# Alert changes logged one record each per cycle, up to this many; the rest are counted
# in one summary record (a city-wide jam must not flood the log).
MAX_ALERT_RECORDS = 50


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def _log_cycle(out: _Outbox) -> None:
    """Structured records of what a cycle durably wrote: windows closed, alert changes."""
    if out.windows or out.window_updates:
        new = sum(t.num_rows for t in out.windows)
        updated = sum(t.num_rows for t in out.window_updates)
        log.info(
            "windows closed: %d new, %d updated",
            new,
            updated,
            extra={
                "event": "windows_closed",
                "windows_new": new,
                "windows_updated": updated,
                "events": 0 if out.events is None else out.events.num_rows,
                "late_events": 0 if out.late is None else out.late.num_rows,
                "predictions": sum(t.num_rows for t in out.predictions),
                "watermark": None if out.max_event_ms == NO_WATERMARK else _iso(out.max_event_ms),
            },
        )
    if not out.alerts or not log.isEnabledFor(logging.INFO):
        return
    changes = _last_per_alert(pa.concat_tables(out.alerts)).to_pylist()
    for row in changes[:MAX_ALERT_RECORDS]:
        action = "open" if row["state"] == "open" else "resolve"
        log.info(
            "alert %s %s",
            row["alert_id"],
            "opened" if action == "open" else "resolved",
            extra={
                "event": "alert",
                "action": action,
                "by": "stream",
                "alert_id": row["alert_id"],
                "alert_type": row["alert_type"],
                "segment_id": row["segment_id"],
                "severity": row["severity"],
                "detail": row["message"],
            },
        )
    if len(changes) > MAX_ALERT_RECORDS:
        log.info(
            "%d more alert changes this cycle",
            len(changes) - MAX_ALERT_RECORDS,
            extra={"event": "alert_summary", "unlogged_changes": len(changes) - MAX_ALERT_RECORDS},
        )


def _last_per_alert(alerts: pa.Table) -> pa.Table:
    """One row per alert id, the latest state (an alert may open and resolve in one cycle)."""
    last = {alert_id: i for i, alert_id in enumerate(alerts.column("alert_id").to_pylist())}
    return alerts.take(pa.array(sorted(last.values()), type=pa.int64()))


@dataclass
class _Outbox:
    """Everything one processing cycle produced, written in one transaction."""

    events: pa.Table | None = None
    late: pa.Table | None = None
    latest: pa.Table | None = None
    new_segments: pa.Table | None = None
    windows: list[pa.Table] = field(default_factory=list)  # first emissions
    window_updates: list[pa.Table] = field(default_factory=list)  # re-emissions
    predictions: list[pa.Table] = field(default_factory=list)
    alerts: list[pa.Table] = field(default_factory=list)
    stored_alerts: pa.Table | None = None  # the alerts' records after the write
    messages: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    max_event_ms: int = NO_WATERMARK  # the checkpoint written with this output
    # Kafka partition -> its clock at `position` (see KafkaBus.partition_clocks).
    partition_clocks: dict[int, int] = field(default_factory=dict)
    position: object = None  # the bus position this output covers


def forecasts_table(
    f: Forecasts, segment_ids: pa.Array, input_fill: npt.NDArray[np.int8] | None = None
) -> pa.Table:
    """Forecasts as STORED_PREDICTION_SCHEMA rows; `input_fill` holds each segment's fill
    code of the window it was forecast from (None: not known, null)."""
    n, h = f.speed.shape
    seg_rep = segment_ids.take(pa.array(np.repeat(np.arange(n), h)))
    issued = np.full(n * h, f.issued_ms, dtype=np.int64)
    prediction_ids = pc.binary_join_element_wise(
        seg_rep, pa.array(np.full(n * h, f"{f.issued_ms}/{f.model_version}")), "@"
    )
    return pa.Table.from_arrays(
        [
            prediction_ids,
            seg_rep,
            pa.array(issued).cast(TIMESTAMP),
            pa.array(np.tile(f.horizons_min, n).astype(np.int32)),
            pa.array(f.target_ms.ravel()).cast(TIMESTAMP),
            pa.array(f.speed.ravel(), from_pandas=True),
            pa.array(f.speed_lower.ravel(), from_pandas=True),
            pa.array(f.speed_upper.ravel(), from_pandas=True),
            pa.array(f.volume.ravel(), from_pandas=True),
            pa.array(f.volume_lower.ravel(), from_pandas=True),
            pa.array(f.volume_upper.ravel(), from_pandas=True),
            pa.array(f.confidence.ravel(), from_pandas=True),
            pa.array(np.full(n * h, f.model_version)),
            pa.nulls(n * h, pa.string())
            if input_fill is None
            else fill_names(np.repeat(input_fill, h)),
        ],
        schema=STORED_PREDICTION_SCHEMA,
    )


def _floats(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)
