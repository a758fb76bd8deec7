"""The archive's 5-minute windows as forecasting reads them, and the network split into groups.

A window is archived again each time it is corrected, so the newest `updated_at`
of a (segment, window) is the one the store holds; filled windows are then left
out, as Panel.from_windows does. What the driver learns here (the segments, the
5-minute grid they share, the groups) is all a group's task needs besides its rows,
so every group's panel has the rows and columns the in-process panel would give it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.archive.location import ArchiveLocation, open_archive
from trafficcast.domain.fill import OBSERVED
from trafficcast.forecast.panel import STEP_MS, Graph, Panel, PanelError
from trafficcast.forecast.segment_groups import SegmentGroups, plan_groups
from trafficcast.spark.backfill import spark_uri

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

WINDOW_MINUTES = 5
# Per row as a group's task receives it.
ROW_COLUMNS = ("group", "segment_id", "start_ms", "mean_speed", "volume")


@dataclass(frozen=True)
class NetworkPlan:
    """What every group's task shares: the grid, each group's segments, the links."""

    grid: tuple[int, int]  # first window start (ms), rows
    segment_ids: pa.Array  # every segment with a reading, sorted as Panel does
    groups: SegmentGroups
    links: pa.Table
    timezone: str

    def group_ids(self, group: int) -> pa.Array:
        return self.segment_ids.take(pa.array(self.groups.columns(group)))

    def panel(self, group: int, rows: pa.Table) -> Panel:
        """The panel of one group from its rows (ROW_COLUMNS), on the shared grid."""
        return Panel.from_readings(
            rows.column("segment_id"),
            np.asarray(rows.column("start_ms").to_numpy(), dtype=np.int64),
            np.asarray(rows.column("mean_speed").to_numpy(zero_copy_only=False), dtype=float),
            np.asarray(rows.column("volume").to_numpy(zero_copy_only=False), dtype=float),
            self.links,
            self.timezone,
            segment_ids=self.group_ids(group),
            grid=self.grid,
        )


def read_windows(
    spark: SparkSession, url: str, start: date, end: date, location: ArchiveLocation | None = None
) -> DataFrame | None:
    """The current, observed 5-minute windows starting on the UTC dates [start, end]:
    (segment_id, start_ms, mean_speed, volume); None when the archive has none."""
    from pyspark.sql import functions as sf

    location = location or open_archive(url)
    parts = [p for p in location.partitions("windows") if start <= p.day <= end]
    if not parts or not any(location.files(p.path) for p in parts):
        return None
    df = spark.read.option("basePath", spark_uri(url, location.dataset_dir("windows"))).parquet(
        *[spark_uri(url, p.path) for p in parts]
    )
    df = df.filter(sf.col("window_minutes") == sf.lit(WINDOW_MINUTES))
    fill = sf.col("fill") if "fill" in df.columns else sf.lit(OBSERVED)
    newest = sf.max_by(
        sf.struct(sf.col("mean_speed"), sf.col("volume"), fill.alias("fill")), "updated_at"
    )
    current = (
        df.groupBy("segment_id", "window_start")
        .agg(newest.alias("w"))
        .filter(sf.col("w.fill") == sf.lit(OBSERVED))
    )
    return current.select(
        "segment_id",
        sf.unix_millis(sf.col("window_start")).alias("start_ms"),
        sf.col("w.mean_speed").alias("mean_speed"),
        sf.col("w.volume").alias("volume"),
    )


def plan_network(windows: DataFrame, links: pa.Table, groups: int, timezone: str) -> NetworkPlan:
    """The grid and segments of `windows`, and `groups` groups of them."""
    from pyspark.sql import functions as sf

    span = windows.agg(sf.min("start_ms"), sf.max("start_ms")).first()
    if span is None or span[0] is None:
        raise PanelError("the archive holds no observed 5-minute windows in those dates")
    first = int(span[0]) // STEP_MS * STEP_MS
    steps = (int(span[1]) // STEP_MS * STEP_MS - first) // STEP_MS + 1
    found = windows.select("segment_id").distinct().toArrow().column("segment_id")
    ids = pc.unique(found).cast(pa.string()).sort()
    if isinstance(ids, pa.ChunkedArray):
        ids = ids.combine_chunks()
    plan = plan_groups(Graph.from_links(links, ids), groups)
    return NetworkPlan((first, steps), ids, plan, links, timezone)


def with_groups(spark: SparkSession, windows: DataFrame, plan: NetworkPlan) -> DataFrame:
    """`windows` with each row's group (ROW_COLUMNS), the segment-to-group map broadcast."""
    from pyspark.sql import functions as sf

    mapping = spark.createDataFrame(
        pa.table(
            {
                "segment_id": plan.segment_ids,
                "group": pa.array(plan.groups.labels, type=pa.int32()),
            }
        )
    )
    return windows.join(sf.broadcast(mapping), "segment_id").select(*ROW_COLUMNS)


@contextmanager
def planned_windows(
    spark: SparkSession,
    url: str,
    start: date,
    end: date,
    links: pa.Table,
    groups: int,
    timezone: str,
) -> Iterator[tuple[DataFrame, NetworkPlan]]:
    """The windows of [start, end] with each row's group, a partition per group, and the
    plan; the windows are cached while the caller's job runs (the plan reads them too)."""
    windows = read_windows(spark, url, start, end)
    if windows is None:
        raise PanelError(f"the archive at {url} holds no windows from {start} to {end}")
    windows = windows.persist()
    try:
        plan = plan_network(windows, links, groups, timezone)
        # One partition per group, so each group is a task of its own: after a plain
        # group-by, adaptive execution would coalesce the small shuffle partitions (and
        # hashing can put two groups in one), training groups one after another.
        by_group = with_groups(spark, windows, plan).repartitionByRange(plan.groups.count, "group")
        yield by_group, plan
    finally:
        windows.unpersist()
