"""Segment metadata aligned with the dense segment index used by stream state."""

from __future__ import annotations

import threading

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.level_of_service import DEFAULT_FREE_FLOW_MPH
from trafficcast.stream.segment_index import SegmentIndex


class SegmentCatalog:
    """Known segments: dense index, free-flow speeds, and the set the API checks against."""

    def __init__(self) -> None:
        self.index = SegmentIndex()
        self.free_flow = np.zeros(0)
        self._known: pa.Array = pa.array([], type=pa.string())
        self._lock = threading.Lock()

    def load(self, segments: pa.Table) -> None:
        """Register segments (SEGMENT_SCHEMA) and their free-flow speeds."""
        if segments.num_rows == 0:
            return
        with self._lock:
            idx = self.index.lookup(segments.column("segment_id"))
            self._grow()
            ff = np.asarray(
                segments.column("free_flow_speed").to_numpy(zero_copy_only=False), dtype=float
            )
            self.free_flow[idx] = np.where(np.isfinite(ff) & (ff > 0), ff, DEFAULT_FREE_FLOW_MPH)
            self._known = pc.unique(pa.concat_arrays([self._known, self.index.ids]))

    def lookup(self, segment_ids: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        with self._lock:
            idx = self.index.lookup(segment_ids)
            self._grow()
            return idx

    def known_mask(self, segment_ids: pa.Array) -> npt.NDArray[np.bool_]:
        """Which ids are registered segments (for strict ingest)."""
        hits = pc.is_in(segment_ids, value_set=self._known)
        return np.asarray(hits.to_numpy(zero_copy_only=False), dtype=bool)

    def is_known(self, segment_id: str) -> bool:
        return self.index.get(segment_id) is not None

    def _grow(self) -> None:
        extra = len(self.index) - len(self.free_flow)
        if extra > 0:
            self.free_flow = np.concatenate([self.free_flow, np.full(extra, DEFAULT_FREE_FLOW_MPH)])
