"""Calendar buckets in the road network's local time zone, as UTC epoch milliseconds.

Engineers report "Monday" as the clock on the wall sees it, so buckets are local
days / Monday weeks / months: the UTC bucket arithmetic of domain.periods runs on
local wall-clock milliseconds, and the edges are converted back to instants. A
local day may be 23 or 25 hours long at a DST change; a midnight that does not
exist (or exists twice) takes the earliest instant.
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.domain.periods import Period, bucket_edges


def wall_ms(instants: list[int], timezone: str) -> list[int]:
    """Local wall-clock time of each instant, as if it were UTC epoch ms."""
    local = pa.array(instants, pa.int64()).cast(pa.timestamp("ms", tz=timezone))
    out: list[int] = pc.local_timestamp(local).cast(pa.int64()).to_pylist()
    return out


def instants(walls: list[int], timezone: str) -> list[int]:
    """The instants at which the local wall clock shows each of `walls`."""
    naive = pa.array(walls, pa.int64()).cast(pa.timestamp("ms"))
    at = pc.assume_timezone(naive, timezone=timezone, ambiguous="earliest", nonexistent="earliest")
    out: list[int] = at.cast(pa.int64()).to_pylist()
    return out


def local_bucket_edges(
    start_ms: int, end_ms: int, period: Period, timezone: str, max_buckets: int
) -> list[int]:
    """Edges (UTC ms) of the whole local buckets covering [start_ms, end_ms)."""
    lo, hi = wall_ms([start_ms, end_ms], timezone)
    return instants(bucket_edges(lo, hi, period, max_buckets), timezone)


def local_day_edges(start_ms: int, end_ms: int, timezone: str) -> list[int]:
    """Edges (UTC ms) of the local days covering [start_ms, end_ms); both are local midnights
    when they come from local_bucket_edges."""
    lo, hi = wall_ms([start_ms, end_ms], timezone)
    walls = bucket_edges(lo, hi, "day", max_buckets=1 + (hi - lo) // 86_400_000 + 1)
    return instants(walls, timezone)
