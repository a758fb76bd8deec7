"""Recognise event ids seen recently, without one Python object per id.

Ids are hashed to 64 bits and kept in open-addressing hash tables held in
numpy arrays, probed and filled for a whole batch at once. There is one table
per watermark bucket (a quarter of the horizon); a bucket is dropped whole
once the watermark has left the horizon behind it, so ids are remembered for
the horizon plus at most one bucket.

Any duplicate arriving within the horizon is caught whatever timestamp it
claims; one arriving later is too late for its window anyway and is stored
through the late-event path, which deduplicates in the store.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa

_BUCKETS_PER_HORIZON = 4
_EMPTY = np.uint64(0)
_MAX_LOAD = 0.5

U64 = npt.NDArray[np.uint64]


def hash_ids(ids: pa.Array | pa.ChunkedArray) -> U64:
    # A fixed seed keeps hashes comparable for the life of the process; the
    # index is rebuilt from the store on restart, so stability across
    # library versions is not needed. 0 marks an empty slot, so it is remapped.
    series = pl.Series(values=ids) if isinstance(ids, pa.ChunkedArray) else pl.from_arrow(ids)
    assert isinstance(series, pl.Series)
    hashes = np.array(series.hash(seed=0x7AFF1C).to_numpy(), dtype=np.uint64)
    hashes[hashes == _EMPTY] = 1
    return hashes


class _HashSet:
    """A linear-probing set of non-zero uint64 keys, vectorised over batches."""

    def __init__(self, capacity: int = 1 << 14) -> None:
        self.table: U64 = np.zeros(capacity, dtype=np.uint64)
        self._claim = np.zeros(capacity, dtype=np.int64)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def contains(self, keys: U64) -> npt.NDArray[np.bool_]:
        mask = np.uint64(len(self.table) - 1)
        found = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        slot = keys & mask
        while len(pending):
            stored = self.table[slot]
            hit = stored == keys[pending]
            found[pending[hit]] = True
            go_on = ~hit & (stored != _EMPTY)
            pending, slot = pending[go_on], (slot[go_on] + np.uint64(1)) & mask
        return found

    def insert(self, keys: U64) -> npt.NDArray[np.bool_]:
        """Add keys; True where a key was neither present nor earlier in `keys`."""
        if (self.count + len(keys)) > _MAX_LOAD * len(self.table):
            self._grow(self.count + len(keys))
        added = self._place(keys)
        self.count += int(added.sum())
        return added

    def _place(self, keys: U64) -> npt.NDArray[np.bool_]:
        mask = np.uint64(len(self.table) - 1)
        added = np.zeros(len(keys), dtype=bool)
        pending = np.arange(len(keys))
        slot = keys & mask
        while len(pending):
            stored = self.table[slot]
            seen = stored == keys[pending]  # present already, or placed this call
            free = stored == _EMPTY
            # Keys wanting the same free slot: one write of positions decides,
            # with no sort; a same-key loser then finds the winner's copy and
            # counts as a duplicate.
            claimants, claimed = pending[free], slot[free]
            # Written in reverse so the earliest position's write lands last:
            # the first occurrence of a key is the one kept as new.
            self._claim[claimed[::-1]] = claimants[::-1]
            won = self._claim[claimed] == claimants
            self.table[claimed[won]] = keys[claimants[won]]
            added[claimants[won]] = True
            done = seen.copy()
            done[np.flatnonzero(free)[won]] = True
            # Losers of a claim look at the same slot again; only keys that met
            # another key move on.
            step = (~free & ~seen)[~done].astype(np.uint64)
            go_on = ~done
            pending, slot = pending[go_on], (slot[go_on] + step) & mask
        return added

    def _grow(self, needed: int) -> None:
        old = self.table[self.table != _EMPTY]
        capacity = len(self.table)
        while needed > _MAX_LOAD * capacity:
            capacity *= 2
        self.table = np.zeros(capacity, dtype=np.uint64)
        self._claim = np.zeros(capacity, dtype=np.int64)
        self._place(old)


class RecentIds:
    def __init__(self, horizon_ms: int) -> None:
        self.horizon_ms = horizon_ms
        self.bucket_ms = max(1, horizon_ms // _BUCKETS_PER_HORIZON)
        self._sets: dict[int, _HashSet] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self._sets.values())

    @property
    def buckets(self) -> int:
        return len(self._sets)

    def admit(
        self, hashes: U64, watermark_ms: int, keep_from_ms: int | None = None
    ) -> npt.NDArray[np.bool_]:
        """True for each hash seen neither earlier in this call nor recently; remembers them.

        Ids older than the horizon before `watermark_ms` (the watermark as the
        batch arrives) are forgotten first. New ids are kept for the horizon
        from `keep_from_ms` (default: the same watermark), e.g. the watermark
        the batch will leave behind when it spans much event time.
        """
        now = max(watermark_ms, 0) // self.bucket_ms
        oldest_kept = (now * self.bucket_ms - self.horizon_ms) // self.bucket_ms
        bucket = max(now, max(keep_from_ms or 0, 0) // self.bucket_ms)
        for b in [b for b in self._sets if b < oldest_kept]:
            del self._sets[b]
        candidates = np.arange(len(hashes))
        for b, known in self._sets.items():
            if b != bucket and len(candidates):
                candidates = candidates[~known.contains(hashes[candidates])]
        is_new = np.zeros(len(hashes), dtype=bool)
        if len(candidates):
            current = self._sets.setdefault(bucket, _HashSet())
            is_new[candidates[current.insert(hashes[candidates])]] = True
        return is_new
