"""The stream processor: bus -> dedupe -> windows -> store -> forecasts -> live hub.

One thread owns all stream state. Each cycle takes what the bus holds (up to a
bound), works on it as one columnar batch, writes the results with idempotent
upserts and hands live messages to the hub.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.bus.base import Bus
from trafficcast.domain.level_of_service import level_of_service
from trafficcast.domain.schema import PREDICTION_SCHEMA, SEGMENT_SCHEMA, TIMESTAMP, WINDOW_SCHEMA
from trafficcast.domain.time_of_day import SLOT_MINUTES, slots
from trafficcast.encoding import arrow_rows
from trafficcast.forecast.blend import BlendForecaster, Forecasts
from trafficcast.forecast.live_scoring import LiveScorer
from trafficcast.live.coalescer import ReadingCoalescer
from trafficcast.live.messages import message, table_row_messages, traffic_event_messages
from trafficcast.store.base import Store
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.dedupe import RecentIds, hash_ids
from trafficcast.stream.windowing import NO_WATERMARK, TumblingWindows, WindowResults

log = logging.getLogger(__name__)

FORECAST_WINDOW_MINUTES = SLOT_MINUTES
Publisher = Callable[[list[tuple[str, str]]], None]


@dataclass
class ProcessorConfig:
    window_minutes: tuple[int, ...] = (1, 5)
    allowed_lateness_ms: int = 5 * 60_000
    watermark_delay_ms: int = 0
    horizons_min: tuple[int, ...] = (15, 30, 45, 60)
    timezone: str = "America/Los_Angeles"
    max_batch_events: int = 500_000
    poll_timeout_s: float = 0.1
    live_interval_ms: int = 1000
    checkpoint_interval_s: float = 5.0


@dataclass
class ProcessorStats:
    events_in: int = 0
    events_processed: int = 0
    duplicates: int = 0
    late: int = 0
    late_by_window: dict[int, int] = field(default_factory=dict)
    windows_emitted: int = 0
    predictions: int = 0
    batches: int = 0
    last_batch_at: float = 0.0
    last_batch_seconds: float = 0.0
    errors: int = 0


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
        self.coalescer = ReadingCoalescer(self.config.live_interval_ms)
        self.stats = ProcessorStats()
        self.on_windows: list[Callable[[pa.Table], None]] = []
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._idle = threading.Event()
        self._flush_requested = threading.Event()
        self._last_checkpoint = 0.0
        self.failure: BaseException | None = None

    # lifecycle ---------------------------------------------------------------
    @property
    def watermark_ms(self) -> int:
        return min(w.watermark_ms for w in self.windows.values())

    def restore(self) -> None:
        """Pick up after a restart: watermark from the checkpoint, recent ids from the store."""
        saved = self.store.get_state("max_event_ms")
        if saved is None:
            return
        max_event = int(saved)
        for w in self.windows.values():
            w.restore_watermark(max_event)
        ids = self.store.recent_event_ids(max_event - self.recent_ids.horizon_ms)
        if len(ids):
            self.recent_ids.admit(hash_ids(ids), self.watermark_ms)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="stream-processor", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self.checkpoint()

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
                if self.bus.depth == 0 and not self._flush_requested.is_set():
                    return True
            else:
                time.sleep(0.01)
        return False

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batches = self.bus.poll(self.config.max_batch_events, self.config.poll_timeout_s)
                if batches:
                    self.process(pa.concat_tables(batches))
                elif self._flush_requested.is_set():
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

    # work ----------------------------------------------------------------------
    def process(self, events: pa.Table) -> None:
        started = time.perf_counter()
        self.stats.events_in += events.num_rows
        is_new = self.recent_ids.admit(hash_ids(events.column("event_id")), self.watermark_ms)
        self.stats.duplicates += int((~is_new).sum())
        if not is_new.all():
            events = events.filter(pa.array(is_new))
        if events.num_rows == 0:
            return
        known_before = len(self.catalog.index)
        seg = self.catalog.lookup(events.column("segment_id"))
        if len(self.catalog.index) > known_before:
            self._register_new_segments(events, seg, known_before)
        ts = np.asarray(events.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
        speed = _floats(events, "speed")
        volume = _floats(events, "volume")
        occupancy = _floats(events, "occupancy")
        quality = _floats(events, "quality_score")

        late_everywhere = np.ones(len(ts), dtype=bool)
        results: dict[int, WindowResults] = {}
        for minutes, windows in self.windows.items():
            folded = windows.fold(seg, ts, speed, volume, occupancy, quality)
            results[minutes] = folded.results
            late = int(folded.too_late.sum())
            self.stats.late_by_window[minutes] = self.stats.late_by_window.get(minutes, 0) + late
            late_everywhere &= folded.too_late
        on_time = ~late_everywhere
        if late_everywhere.any():
            late_events = events.filter(pa.array(late_everywhere))
            self.stats.late += self.store.write_late_events(
                late_events, "behind the watermark by more than the allowed lateness"
            )
        kept = events.filter(pa.array(on_time)) if late_everywhere.any() else events
        self.store.write_events(kept)
        self.stats.events_processed += kept.num_rows
        self._latest_readings(
            seg[on_time], ts[on_time], speed[on_time], volume[on_time], occupancy[on_time], kept
        )
        for window_results in results.values():
            self._windows_closed(window_results)
        self.stats.batches += 1
        self.stats.last_batch_at = time.time()
        self.stats.last_batch_seconds = time.perf_counter() - started

    def _register_new_segments(
        self, events: pa.Table, seg: npt.NDArray[np.int64], first_new: int
    ) -> None:
        """Store a catalog row for segments first seen in events (auto-registration)."""
        new_rows = np.flatnonzero(seg >= first_new)
        uniq, first = np.unique(seg[new_rows], return_index=True)
        rows = pa.array(new_rows[first])
        n = len(uniq)
        table = pa.Table.from_arrays(
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
        self.store.insert_missing_segments(table)

    def flush(self) -> None:
        for windows in self.windows.values():
            self._windows_closed(windows.flush())
        self.checkpoint()

    def tick(self) -> None:
        """Periodic work: coalesced live readings and the checkpoint."""
        self._send_live_readings()
        now = time.monotonic()
        if now - self._last_checkpoint >= self.config.checkpoint_interval_s:
            self.checkpoint()
            self._last_checkpoint = now

    def checkpoint(self) -> None:
        max_event = max(w.max_event_ms for w in self.windows.values())
        if max_event != NO_WATERMARK:
            self.store.set_state("max_event_ms", str(max_event))

    # pieces --------------------------------------------------------------------
    def _latest_readings(
        self,
        seg: npt.NDArray[np.int64],
        ts: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64],
        occupancy: npt.NDArray[np.float64],
        events: pa.Table,
    ) -> None:
        if len(seg) == 0:
            return
        order = np.lexsort((ts, seg))
        s_sorted = seg[order]
        last = order[np.r_[s_sorted[1:] != s_sorted[:-1], True]]
        self.store.upsert_latest_readings(
            events.take(pa.array(last)).select(
                ["segment_id", "timestamp", "speed", "volume", "occupancy", "source"]
            )
        )
        self.coalescer.update(seg, ts, speed, volume, occupancy)
        self._send_live_readings()

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
            traffic_event_messages(
                ids, c.ts_ms[due], c.speed[due], c.volume[due], c.occupancy[due], los
            )
        )

    def _windows_closed(self, results: WindowResults) -> None:
        if len(results) == 0:
            return
        minutes = results.window_ms // 60_000
        los = level_of_service(results.mean_speed, self.catalog.free_flow[results.segment])
        now = pa.scalar(int(time.time() * 1000), type=pa.int64()).cast(TIMESTAMP)
        table = pa.Table.from_arrays(
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
                pa.array(los),
                pa.array(np.full(len(results), now.value, dtype=np.int64)).cast(TIMESTAMP),
            ],
            schema=WINDOW_SCHEMA,
        )
        self.store.upsert_windows(table)
        self.stats.windows_emitted += len(results)
        for listener in self.on_windows:
            listener(table)
        if self.publish is not None and self.live_interest is not None:
            self._publish_rows("window", table)
        if minutes == FORECAST_WINDOW_MINUTES:
            self._forecast(results)

    def _publish_rows(self, kind: str, table: pa.Table) -> None:
        assert self.publish is not None
        assert self.live_interest is not None
        everything, wanted = self.live_interest()
        if not everything:
            if not wanted:
                return
            table = table.filter(pc.is_in(table.column("segment_id"), pa.array(list(wanted))))
        if table.num_rows:
            self.publish(table_row_messages(kind, _json_rows(table)))

    def _forecast(self, results: WindowResults) -> None:
        first = results.first_emission
        seg = results.segment
        start = results.window_start_ms
        slot, day = slots(start, self.config.timezone)
        self.scorer.observe(
            seg[first],
            results.window_end_ms[first],
            results.mean_speed[first],
            results.volume[first],
        )
        self.forecaster.calibrate(self.scorer.speed_mae, self.scorer.volume_rel_mae)
        self.forecaster.observe(
            seg[first],
            results.window_end_ms[first],
            slot[first],
            day[first],
            results.mean_speed[first],
            results.volume[first],
        )
        ends = results.window_end_ms[first]
        for end in np.unique(ends):
            at = np.flatnonzero(first)[ends == end]
            self._issue(int(end), seg[at], slot[at], day[at])
        if len(ends):
            self.scorer.expire(int(ends.max()) - 2 * 3600_000)

    def _issue(
        self,
        issued_ms: int,
        seg: npt.NDArray[np.int64],
        now_slot: npt.NDArray[np.int64],
        now_day: npt.NDArray[np.int64],
    ) -> Forecasts:
        h = self.forecaster.horizons_min
        target_start = issued_ms + h * 60_000 - FORECAST_WINDOW_MINUTES * 60_000
        t_slot, t_day = slots(
            np.broadcast_to(target_start, (len(seg), len(h))).copy(), self.config.timezone
        )
        forecasts = self.forecaster.forecast(seg, issued_ms, now_slot, now_day, t_slot, t_day)
        self.scorer.record(forecasts)
        table = forecasts_table(forecasts, self.catalog.index.take(seg))
        self.store.upsert_predictions(table)
        self.stats.predictions += table.num_rows
        if self.publish is not None and self.live_interest is not None:
            self._publish_predictions(table)
        return forecasts

    def forecast_on_demand(
        self, segment: int, horizons_min: npt.NDArray[np.int64]
    ) -> Forecasts | None:
        """Forecast one segment from its last closed 5-minute window; None without data."""
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
        return f.forecast(seg, issued, now_slot, now_day, t_slot, t_day, horizons_min)

    def _publish_predictions(self, table: pa.Table) -> None:
        assert self.publish is not None
        assert self.live_interest is not None
        everything, wanted = self.live_interest()
        if not everything and not wanted:
            return
        grouped: dict[str, list[dict[str, object]]] = {}
        for row in _json_rows(table):
            sid = str(row["segment_id"])
            if everything or sid in wanted:
                grouped.setdefault(sid, []).append(row)
        self.publish(
            [
                (
                    sid,
                    message(
                        "prediction",
                        sid,
                        {
                            "issued_at": rows[0]["issued_at"],
                            "model_version": rows[0]["model_version"],
                            "forecasts": rows,
                        },
                    ),
                )
                for sid, rows in grouped.items()
            ]
        )


def forecasts_table(f: Forecasts, segment_ids: pa.Array) -> pa.Table:
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
        ],
        schema=PREDICTION_SCHEMA,
    )


def _floats(table: pa.Table, name: str) -> npt.NDArray[np.float64]:
    return np.asarray(table.column(name).to_numpy(), dtype=np.float64)


def _json_rows(table: pa.Table) -> list[dict[str, object]]:
    return arrow_rows(table)
