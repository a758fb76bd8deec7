"""Forecasting panels from where readings live: a recorded dataset folder, or the store.

Both paths end in the same 5-minute grid with the same units, so a model trained
on a replayed research set and one trained on live windows are interchangeable:
speed is the mean of a cell's readings, volume the vehicles counted in it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.schema import TIMESTAMP
from trafficcast.forecast.panel import STEP_MS, Panel, PanelError
from trafficcast.sources.dataset import load_dataset
from trafficcast.store.base import Store

DAY_MS = 86_400_000
WINDOW_MINUTES = 5
# The whole range DuckDB timestamps can hold from year 1 to 9999, so "everything" needs no
# knowledge of the data.
_FIRST_MS = -62_135_596_800_000
_LAST_MS = 253_402_300_800_000
# A dense grid this large (float32, speed and volume) would take gigabytes: almost always two
# unrelated periods in one store, e.g. two replayed research sets years apart.
MAX_CELLS = 100_000_000


def panel_from_dataset(
    path: str | Path, timezone: str, links_file: str | Path | None = None
) -> Panel:
    """The panel of a recorded dataset; columns keep the dataset's sensor order."""
    dataset = load_dataset(path, timezone=timezone, links_file=links_file)
    if dataset.events.num_rows == 0:
        raise PanelError(f"{path}: the dataset holds no readings")
    return panel_from_events(
        dataset.events,
        dataset.segments.column("segment_id").combine_chunks(),
        dataset.links,
        timezone,
        str(path),
    )


def panel_from_events(
    events: pa.Table, segment_ids: pa.Array, links: pa.Table, timezone: str, what: str = "events"
) -> Panel:
    """The panel of raw events (EVENT_SCHEMA); columns in the order of `segment_ids`."""
    ts = np.asarray(events.column("timestamp").cast(pa.int64()).to_numpy(), dtype=np.int64)
    step = pa.array(ts // STEP_MS * STEP_MS)
    # Readings finer than 5 minutes (the simulator's every 30 s, long-form logs) become one
    # cell the way the stream processor's windows do: mean speed, summed volume. The research
    # sets have one reading per cell, where this changes nothing.
    cells = (
        pa.table(
            {
                "segment_id": events.column("segment_id"),
                "step": step,
                "speed": events.column("speed"),
                # NaN (no count) as null, so it drops out of the sum instead of voiding it.
                "volume": pa.array(
                    np.asarray(events.column("volume").to_numpy(), dtype=np.float64),
                    from_pandas=True,
                ),
            }
        )
        .group_by(["segment_id", "step"], use_threads=False)
        .aggregate([("speed", "mean"), ("volume", "sum")])
    )
    volume = np.asarray(cells.column("volume_sum").to_numpy(), dtype=np.float64)
    _check_size(cells.column("step"), len(segment_ids), what)
    return Panel.from_readings(
        cells.column("segment_id"),
        np.asarray(cells.column("step").to_numpy(), dtype=np.int64),
        np.asarray(cells.column("speed_mean").to_numpy(), dtype=np.float64),
        volume if np.isfinite(volume).any() else None,
        links,
        timezone,
        segment_ids=segment_ids,
    )


def panel_from_store(store: Store, timezone: str, days: float | None = None) -> Panel:
    """The panel of the store's 5-minute windows: the last `days` of them, or all.

    Columns are the segments that have windows (sorted by id), the graph the stored links.
    """
    if days is not None and not days > 0:
        raise PanelError(f"days must be positive, got {days}")
    windows = _all_windows(store) if days is None else _recent_windows(store, days)
    if windows.num_rows == 0:
        raise PanelError(
            "the store holds no 5-minute windows to train on: load data first "
            "(`trafficcast replay PATH` or `trafficcast demo`), or train from a folder"
        )
    # Fill-rate guard before the pivot, which would allocate the dense grid.
    _check_size(
        windows.column("window_start").cast(TIMESTAMP).cast(pa.int64()),
        len(pc.unique(windows.column("segment_id"))),
        "the stored windows",
    )
    return Panel.from_windows(windows, store.links(), timezone)


def _all_windows(store: Store) -> pa.Table:
    return store.windows_between(WINDOW_MINUTES, _FIRST_MS, _LAST_MS)


def _recent_windows(store: Store, days: float) -> pa.Table:
    span = int(days * DAY_MS)
    newest_event = store.max_event_ms()
    windows = pa.table({})
    if newest_event is not None:
        # Windows come from events, so the newest window starts at or before the newest
        # event: a range read near it avoids scanning the whole history.
        windows = store.windows_between(WINDOW_MINUTES, newest_event - span, newest_event + 1)
    if windows.num_rows == 0:
        # Windows stored without their events (imported, or events pruned): look at them all.
        windows = _all_windows(store)
        if windows.num_rows == 0:
            return windows
    start = windows.column("window_start").cast(TIMESTAMP).cast(pa.int64())
    newest = int(pc.max(start).as_py())
    # The last `days` counted back from the newest window, that window included.
    return windows.filter(pc.greater(start, newest - span))


def _check_size(steps_ms: pa.Array | pa.ChunkedArray, segments: int, what: str) -> None:
    first = pc.min(steps_ms).as_py()
    last = pc.max(steps_ms).as_py()
    if first is None or last is None:
        return
    steps = (int(last) - int(first)) // STEP_MS + 1
    if steps * segments > MAX_CELLS:
        raise PanelError(
            f"{what} span {steps * STEP_MS / DAY_MS:,.0f} days of {segments} segments, too "
            f"large a grid of 5-minute steps ({steps * segments:,} cells); "
            "train on a shorter period (e.g. --days)"
        )
