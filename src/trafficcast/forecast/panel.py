"""The 5-minute grid that forecasting learns from: one row per step, one column per segment.

Training and evaluation work on a dense panel because every feature is then a
slice of an array. Missing readings (absent, or 0 as the research sets publish
them) are NaN, so nothing downstream can mistake a gap for a real value.
A panel is built from a dataset folder or from the store's 5-minute windows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy import sparse

from trafficcast.domain.fill import OBSERVED
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.domain.time_of_day import slots

STEP_MS = 300_000
STEP_MINUTES = 5


class PanelError(ValueError):
    """The input cannot be turned into a forecasting panel; the message says why."""


@dataclass(frozen=True)
class Graph:
    """Directed road links between panel columns: `src` is upstream of `dst`."""

    src: npt.NDArray[np.int64]
    dst: npt.NDArray[np.int64]
    weight: npt.NDArray[np.float64]
    size: int

    def upstream(self) -> sparse.csr_matrix:
        """Row n holds the weights of the links that arrive at segment n."""
        return sparse.csr_matrix((self.weight, (self.dst, self.src)), shape=(self.size, self.size))

    def downstream(self) -> sparse.csr_matrix:
        """Row n holds the weights of the links that leave segment n."""
        return sparse.csr_matrix((self.weight, (self.src, self.dst)), shape=(self.size, self.size))

    def subset(self, columns: npt.NDArray[np.int64]) -> Graph:
        """The links between `columns` only, renumbered to their positions in it."""
        position = np.full(self.size, -1, dtype=np.int64)
        position[columns] = np.arange(len(columns), dtype=np.int64)
        keep = (position[self.src] >= 0) & (position[self.dst] >= 0)
        return Graph(
            position[self.src[keep]], position[self.dst[keep]], self.weight[keep], len(columns)
        )

    @classmethod
    def empty(cls, size: int) -> Graph:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), size)

    @classmethod
    def from_links(cls, links: pa.Table, segment_ids: pa.Array) -> Graph:
        """Links (LINK_SCHEMA) whose both ends are panel columns; self-loops dropped."""
        if links.num_rows == 0:
            return cls.empty(len(segment_ids))
        src = pc.index_in(links.column("from_segment"), value_set=segment_ids)
        dst = pc.index_in(links.column("to_segment"), value_set=segment_ids)
        keep = pc.and_(pc.is_valid(src), pc.is_valid(dst))
        s = np.asarray(src.filter(keep).to_numpy(zero_copy_only=False), dtype=np.int64)
        d = np.asarray(dst.filter(keep).to_numpy(zero_copy_only=False), dtype=np.int64)
        w = np.asarray(links.column("weight").filter(keep).to_numpy(), dtype=np.float64)
        ok = (s != d) & np.isfinite(w) & (w > 0)
        return cls(s[ok], d[ok], w[ok], len(segment_ids))


@dataclass
class Panel:
    """Readings on a regular 5-minute grid; row i is the window starting at start_ms + i * 5 min."""

    segment_ids: pa.Array  # string, one per column
    start_ms: int
    speed: npt.NDArray[np.float32]  # (T, N), NaN = missing
    volume: (
        npt.NDArray[np.float32] | None
    )  # (T, N) vehicles per 5 minutes, or None if never measured
    graph: Graph
    timezone: str

    @property
    def steps(self) -> int:
        return int(self.speed.shape[0])

    @property
    def size(self) -> int:
        return int(self.speed.shape[1])

    def times_ms(self) -> npt.NDArray[np.int64]:
        """Start of each row's window."""
        return self.start_ms + np.arange(self.steps, dtype=np.int64) * STEP_MS

    def calendar(self) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(slot of the local day, day type) of each row, extended by a day for targets."""
        extended = self.start_ms + np.arange(self.steps + 288, dtype=np.int64) * STEP_MS
        return slots(extended, self.timezone)

    def rows(self, start: int, stop: int) -> Panel:
        """The rows in [start, stop), same columns and graph."""
        return Panel(
            self.segment_ids,
            self.start_ms + start * STEP_MS,
            self.speed[start:stop],
            None if self.volume is None else self.volume[start:stop],
            self.graph,
            self.timezone,
        )

    def columns(self, columns: npt.NDArray[np.int64]) -> Panel:
        """The panel of some segments: same rows, the links among them only; no volume when
        none of them measured it (as from_readings decides)."""
        volume = None if self.volume is None else np.ascontiguousarray(self.volume[:, columns])
        return Panel(
            self.segment_ids.take(pa.array(columns)),
            self.start_ms,
            np.ascontiguousarray(self.speed[:, columns]),
            volume if volume is not None and np.isfinite(volume).any() else None,
            self.graph.subset(columns),
            self.timezone,
        )

    def target(self, name: str) -> npt.NDArray[np.float32]:
        if name == "speed":
            return self.speed
        if name == "volume" and self.volume is not None:
            return self.volume
        raise PanelError(f"the data has no {name} readings")

    @classmethod
    def from_readings(
        cls,
        segment_id: pa.Array | pa.ChunkedArray,
        start_ms: npt.NDArray[np.int64],
        speed: npt.NDArray[np.float64],
        volume: npt.NDArray[np.float64] | None,
        links: pa.Table,
        timezone: str,
        segment_ids: pa.Array | None = None,
        grid: tuple[int, int] | None = None,
    ) -> Panel:
        """Pivot long readings (one per segment and 5-minute window start) into a panel.

        Readings at the same cell are averaged; non-positive values are missing. `grid`
        (first window start, steps) fixes the rows, e.g. to one shared by several panels;
        readings outside it are left out. Otherwise the rows span the readings.
        """
        if len(start_ms) == 0:
            raise PanelError("no readings to build a forecasting panel from")
        ids = (
            segment_ids
            if segment_ids is not None
            else pc.unique(segment_id).cast(pa.string()).sort()
        )
        if isinstance(ids, pa.ChunkedArray):
            ids = ids.combine_chunks()
        col = pc.index_in(segment_id, value_set=ids)
        known = np.asarray(col.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        col_idx = np.asarray(col.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        step = np.asarray(start_ms, dtype=np.int64) // STEP_MS * STEP_MS
        if grid is None:
            first = int(step.min())
            row_idx = (step - first) // STEP_MS
            steps = int(row_idx.max()) + 1
        else:
            first, steps = grid
            row_idx = (step - first) // STEP_MS
            known = known & (row_idx >= 0) & (row_idx < steps)
        shape = (steps, len(ids))
        flat = row_idx[known] * len(ids) + col_idx[known]

        def pivot(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float32]:
            v = np.asarray(values, dtype=np.float64)[known]
            ok = np.isfinite(v) & (v > 0)
            total = np.bincount(flat[ok], weights=v[ok], minlength=shape[0] * shape[1])
            count = np.bincount(flat[ok], minlength=shape[0] * shape[1])
            with np.errstate(invalid="ignore", divide="ignore"):
                out = np.where(count > 0, total / count, np.nan)
            return out.reshape(shape).astype(np.float32)

        vol = None if volume is None else pivot(volume)
        if vol is not None and not np.isfinite(vol).any():
            vol = None  # never measured here: no volume model to train
        return cls(ids, first, pivot(speed), vol, Graph.from_links(links, ids), timezone)

    @classmethod
    def from_windows(
        cls,
        windows: pa.Table,
        links: pa.Table,
        timezone: str,
        segment_ids: pa.Array | None = None,
        grid: tuple[int, int] | None = None,
    ) -> Panel:
        """A panel from the store's 5-minute windows (WINDOW_SCHEMA rows); filled windows
        (domain/fill.py) are left out: a model learns from readings, not from imputations.
        `segment_ids` and `grid` as in from_readings."""
        if "fill" in windows.column_names:
            windows = windows.filter(pc.equal(windows.column("fill"), OBSERVED))
        start = windows.column("window_start").cast(TIMESTAMP).cast(pa.int64())
        return cls.from_readings(
            windows.column("segment_id"),
            np.asarray(start.to_numpy(), dtype=np.int64),
            np.asarray(windows.column("mean_speed").to_numpy(), dtype=np.float64),
            np.asarray(windows.column("volume").to_numpy(), dtype=np.float64),
            links,
            timezone,
            segment_ids,
            grid,
        )
