"""Dense integer ids for segment ids, so per-segment state lives in numpy arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


class SegmentIndex:
    """Maps segment id strings to 0..n-1 in order of first appearance; never forgets."""

    def __init__(self, ids: pa.Array | list[str] | None = None) -> None:
        self._ids: pa.Array = pa.array([], type=pa.string())
        self._lookup: dict[str, int] = {}
        if ids is not None:
            self.lookup(ids if isinstance(ids, pa.Array) else pa.array(ids, type=pa.string()))

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def ids(self) -> pa.Array:
        return self._ids

    def id_of(self, index: int) -> str:
        return str(self._ids[index].as_py())

    def get(self, segment_id: str) -> int | None:
        return self._lookup.get(segment_id)

    def lookup(self, segment_ids: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        """Index of every value, adding ids not seen before."""
        if isinstance(segment_ids, pa.ChunkedArray):
            segment_ids = segment_ids.combine_chunks()
        idx = pc.index_in(segment_ids, value_set=self._ids)
        if idx.null_count:
            # Only the few new ids take the slow path; a batch usually has none.
            new = pc.unique(segment_ids.filter(pc.is_null(idx)))
            start = len(self._ids)
            self._ids = pa.concat_arrays([self._ids, new.cast(pa.string())])
            for offset, value in enumerate(new.to_pylist()):
                self._lookup[value] = start + offset
            idx = pc.index_in(segment_ids, value_set=self._ids)
        return np.asarray(idx.to_numpy(zero_copy_only=False), dtype=np.int64)

    def take(self, indices: npt.NDArray[np.int64]) -> pa.Array:
        return self._ids.take(pa.array(indices, type=pa.int64()))
