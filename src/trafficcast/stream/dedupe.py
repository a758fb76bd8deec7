"""Recognise event ids seen recently, without one Python object per id.

Ids are hashed to 64 bits and kept as sorted numpy chunks tagged with the
watermark at which they arrived; chunks older than the horizon are dropped.
Any duplicate arriving within the horizon is caught whatever timestamp it
claims; one arriving later is too late for its window anyway and is stored
through the late-event path, which deduplicates in the store.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

_MAX_CHUNKS = 8


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.uint64]:
    # A fixed seed keeps hashes comparable for the life of the process; the
    # index is rebuilt from the store on restart, so stability across
    # library versions is not needed.
    series = pl.Series(values=ids) if isinstance(ids, pa.ChunkedArray) else pl.from_arrow(ids)
    assert isinstance(series, pl.Series)
    return np.asarray(series.hash(seed=0x7AFF1C).to_numpy(), dtype=np.uint64)


class RecentIds:
    def __init__(self, horizon_ms: int) -> None:
        self.horizon_ms = horizon_ms
        self._chunks: list[tuple[int, npt.NDArray[np.uint64]]] = []

    def __len__(self) -> int:
        return sum(len(c) for _, c in self._chunks)

    def admit(self, hashes: npt.NDArray[np.uint64], watermark_ms: int) -> npt.NDArray[np.bool_]:
        """True for each hash seen neither earlier in this call nor recently; remembers them."""
        is_new = np.zeros(len(hashes), dtype=bool)
        if len(hashes) == 0:
            return is_new
        # Forget ids older than the horizon before looking up, not only after.
        self._chunks = [(t, c) for t, c in self._chunks if t >= watermark_ms - self.horizon_ms]
        uniq, first = np.unique(hashes, return_index=True)
        fresh = np.ones(len(uniq), dtype=bool)
        for _, chunk in self._chunks:
            pos = np.searchsorted(chunk, uniq)
            pos[pos == len(chunk)] = 0
            fresh &= chunk[pos] != uniq
        is_new[first[fresh]] = True
        self._remember(uniq[fresh], watermark_ms)
        return is_new

    def _remember(self, sorted_hashes: npt.NDArray[np.uint64], watermark_ms: int) -> None:
        self._chunks = [(t, c) for t, c in self._chunks if t >= watermark_ms - self.horizon_ms]
        if len(sorted_hashes):
            self._chunks.append((watermark_ms, sorted_hashes))
        if len(self._chunks) > _MAX_CHUNKS:
            # Merge the older half so lookups stay a handful of binary searches
            # while the newest chunks can still expire on their own.
            half = len(self._chunks) // 2
            old = self._chunks[:half]
            merged = np.unique(np.concatenate([c for _, c in old]))
            self._chunks = [(max(t for t, _ in old), merged), *self._chunks[half:]]
