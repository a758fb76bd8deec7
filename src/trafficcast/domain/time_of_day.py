"""Local time-of-day slot and day type of event times, vectorised."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

SLOT_MINUTES = 5
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES
WEEKDAY, WEEKEND = 0, 1


def slots(
    ts_ms: npt.NDArray[np.int64], timezone: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(5-minute slot of the local day, WEEKDAY or WEEKEND) for each time.

    Local time matters: rush hours follow the clock on the wall, through DST.
    """
    flat = np.asarray(ts_ms, dtype=np.int64).ravel()
    local = pa.array(flat, type=pa.int64()).cast(pa.timestamp("ms", tz=timezone))
    hour = np.asarray(pc.hour(local).to_numpy(zero_copy_only=False), dtype=np.int64)
    minute = np.asarray(pc.minute(local).to_numpy(zero_copy_only=False), dtype=np.int64)
    # Arrow's day_of_week: Monday = 0 ... Sunday = 6.
    dow = np.asarray(pc.day_of_week(local).to_numpy(zero_copy_only=False), dtype=np.int64)
    slot = (hour * 60 + minute) // SLOT_MINUTES
    day_type = np.where(dow >= 5, WEEKEND, WEEKDAY)
    shape = np.shape(ts_ms)
    return slot.reshape(shape), day_type.reshape(shape)
