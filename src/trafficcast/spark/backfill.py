"""Backfill window aggregates from the archive's raw events, with Spark.

The definitions are the stream processor's (stream/windowing.py `_merge` and
`_results`, stream/processor.py `_window_table`), per (segment, tumbling window):

- count: events; mean_speed: sum(speed) / count (a NaN speed makes it NaN, stored null);
- harmonic_mean_speed: n / sum(1/speed) over speeds > 0, 0.0 when there are none;
- volume: sum of the non-missing volumes, null when all are missing (null or NaN);
- occupancy: mean of the non-missing occupancies, null when all are missing;
- quality: mean quality_score; level_of_service: domain/level_of_service.py's grades
  and bounds on mean_speed / the segment's free-flow speed (65 mph when unknown),
  null when mean_speed is not finite.

Events are deduplicated by event_id first (the processor drops repeats of an id).
What the archive holds is what the processor accepted (archive/ receives committed,
on-time events), so the backfill of an archived day equals the stored windows of it.
One difference remains by construction: an event too late for a small window but on
time for a larger one is archived, and the backfill counts it in both.

All window sizes are rolled up from partial sums over their greatest common divisor,
so the raw events are shuffled once for deduplication and once for aggregating.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import reduce
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa

from trafficcast.archive.location import ArchiveLocation, open_archive
from trafficcast.domain.fill import OBSERVED
from trafficcast.domain.level_of_service import _LOWER_BOUNDS, DEFAULT_FREE_FLOW_MPH, GRADES
from trafficcast.domain.schema import STORED_WINDOW_SCHEMA

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from trafficcast.store.base import Store

Target = Literal["store", "archive"]
Progress = Callable[[str], None]
MINUTE_MS = 60_000
# The partial sums a window is made of (stream/windowing.py _SUMS).
_SUMS = (
    "speed_sum",
    "inv_speed_sum",
    "inv_speed_n",
    "volume_sum",
    "volume_n",
    "occupancy_sum",
    "occupancy_n",
    "quality_sum",
)


@dataclass
class BackfillResult:
    start: date
    end: date
    target: str
    partitions: int = 0
    files: int = 0
    events: int = 0  # after deduplication
    windows: dict[int, int] = field(default_factory=dict)  # window minutes -> rows written
    seconds: float = 0.0


def spark_uri(url: str, path: str) -> str:
    """The URI Spark (Hadoop filesystems) reads `path` of the archive at `url` under."""
    if "://" not in url:
        return "file://" + path
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme in ("s3", "gs"):  # pyarrow paths start with the bucket
        return f"{'s3a' if scheme == 's3' else scheme}://{path.lstrip('/')}"
    if scheme == "file":
        return "file://" + path
    return f"{scheme}://{parts.netloc}/{path.lstrip('/')}"


def free_flow_table(segments: pa.Table) -> pa.Table:
    """(segment_id, free_flow) as the stream catalog keeps it (stream/catalog.py)."""
    ff = np.asarray(segments.column("free_flow_speed").to_numpy(zero_copy_only=False), dtype=float)
    ff = np.where(np.isfinite(ff) & (ff > 0), ff, DEFAULT_FREE_FLOW_MPH)
    return pa.table({"segment_id": segments.column("segment_id"), "free_flow": ff})


def _missing(c: Column) -> Column:
    from pyspark.sql import functions as sf

    return c.isNull() | sf.isnan(c)


def _null_nan(c: Column) -> Column:
    """NaN -> null, as the processor stores its NaNs (pa.array(..., from_pandas=True))."""
    from pyspark.sql import functions as sf

    return sf.when(sf.isnan(c), sf.lit(None).cast("double")).otherwise(c)


def level_of_service_column(speed: Column, free_flow: Column) -> Column:
    """domain/level_of_service.py as a Spark expression, from its own bounds and grades."""
    from pyspark.sql import functions as sf

    ratio = speed / free_flow
    fails = [sf.when(ratio <= sf.lit(float(b)), 1).otherwise(0) for b in _LOWER_BOUNDS]
    grade = reduce(lambda a, b: a + b, fails)
    grades = sf.array(*(sf.lit(str(g)) for g in GRADES))
    finite = ~sf.isnan(speed) & (sf.abs(speed) < sf.lit(float("inf")))
    return sf.when(finite, sf.element_at(grades, grade + 1)).otherwise(sf.lit(None).cast("string"))


def window_aggregates(
    events: DataFrame,
    window_minutes: Sequence[int],
    free_flow: DataFrame,
    updated_at_ms: int | None = None,
) -> DataFrame:
    """Raw events (EVENT_SCHEMA columns) -> windows (STORED_WINDOW_SCHEMA columns)."""
    from pyspark.sql import functions as sf

    minutes = sorted(set(window_minutes))
    if not minutes or min(minutes) <= 0:
        raise ValueError("window_minutes must be positive")
    base_ms = math.gcd(*minutes) * MINUTE_MS
    nan = sf.lit(float("nan"))
    speed, volume, occupancy = sf.col("speed"), sf.col("volume"), sf.col("occupancy")
    # Spark orders NaN above every number, so "> 0" must exclude it explicitly.
    positive = speed.isNotNull() & ~sf.isnan(speed) & (speed > 0)
    has_volume, has_occ = ~_missing(volume), ~_missing(occupancy)
    ts = sf.unix_millis(sf.col("timestamp"))
    deduped = events.select(
        "event_id",
        "segment_id",
        ts.alias("ts_ms"),
        sf.coalesce(speed, nan).alias("speed"),
        "volume",
        "occupancy",
        sf.coalesce(sf.col("quality_score"), nan).alias("quality"),
    ).dropDuplicates(["event_id"])
    base_start = sf.col("ts_ms") - sf.pmod(sf.col("ts_ms"), sf.lit(base_ms))
    partial = deduped.groupBy("segment_id", base_start.alias("start_ms")).agg(
        sf.count(sf.lit(1)).alias("count"),
        sf.sum("speed").alias("speed_sum"),
        sf.sum(sf.when(positive, 1.0 / speed).otherwise(0.0)).alias("inv_speed_sum"),
        sf.sum(positive.cast("double")).alias("inv_speed_n"),
        sf.sum(sf.when(has_volume, volume).otherwise(0.0)).alias("volume_sum"),
        sf.sum(has_volume.cast("double")).alias("volume_n"),
        sf.sum(sf.when(has_occ, occupancy).otherwise(0.0)).alias("occupancy_sum"),
        sf.sum(has_occ.cast("double")).alias("occupancy_n"),
        sf.sum("quality").alias("quality_sum"),
    )
    # Each size reads `partial`; Spark reuses its shuffle rather than recomputing it (no cache
    # to release: measured as fast as persisting it).
    per_size = []
    for m in minutes:
        w = m * MINUTE_MS
        sums = partial
        if w != base_ms:
            start = sf.col("start_ms") - sf.pmod(sf.col("start_ms"), sf.lit(w))
            sums = partial.groupBy("segment_id", start.alias("start_ms")).agg(
                sf.sum("count").alias("count"), *(sf.sum(s).alias(s) for s in _SUMS)
            )
        per_size.append(sums.withColumn("window_minutes", sf.lit(m)))
    sums = reduce(lambda a, b: a.unionByName(b), per_size)
    now = int(time.time() * 1000) if updated_at_ms is None else updated_at_ms
    count = sf.col("count").cast("double")
    mean_speed = sf.col("speed_sum") / count
    joined = sums.join(sf.broadcast(free_flow), "segment_id", "left")
    ff = sf.coalesce(sf.col("free_flow"), sf.lit(DEFAULT_FREE_FLOW_MPH))
    return joined.select(
        "segment_id",
        sf.col("window_minutes").cast("int").alias("window_minutes"),
        sf.timestamp_millis(sf.col("start_ms")).alias("window_start"),
        sf.timestamp_millis(sf.col("start_ms") + sf.col("window_minutes") * MINUTE_MS).alias(
            "window_end"
        ),
        _null_nan(mean_speed).alias("mean_speed"),
        _null_nan(
            sf.when(
                sf.col("inv_speed_n") > 0, sf.col("inv_speed_n") / sf.col("inv_speed_sum")
            ).otherwise(0.0)
        ).alias("harmonic_mean_speed"),
        _null_nan(sf.when(sf.col("volume_n") > 0, sf.col("volume_sum"))).alias("volume"),
        _null_nan(
            sf.when(sf.col("occupancy_n") > 0, sf.col("occupancy_sum") / sf.col("occupancy_n"))
        ).alias("occupancy"),
        sf.col("count").cast("long").alias("count"),
        _null_nan(sf.col("quality_sum") / count).alias("quality"),
        level_of_service_column(mean_speed, ff).alias("level_of_service"),
        sf.timestamp_millis(sf.lit(now)).alias("updated_at"),
        sf.lit(OBSERVED).alias("fill"),
    )


def to_arrow_windows(df: DataFrame) -> pa.Table:
    """Collect windows to the driver as STORED_WINDOW_SCHEMA."""
    table = df.toArrow()
    return pa.Table.from_arrays(
        [table.column(f.name).cast(f.type) for f in STORED_WINDOW_SCHEMA],
        schema=STORED_WINDOW_SCHEMA,
    )


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def read_events(
    spark: SparkSession, url: str, start: date, end: date, location: ArchiveLocation | None = None
) -> tuple[DataFrame | None, int, int]:
    """The archived events of the UTC dates [start, end] (only those partitions are listed
    and read), with the number of partitions and files; None when there are none."""
    location = location or open_archive(url)
    parts = [p for p in location.partitions("events") if start <= p.day <= end]
    files = sum(len(location.files(p.path)) for p in parts)
    if not parts or not files:
        return None, len(parts), files
    base = spark_uri(url, location.dataset_dir("events"))
    paths = [spark_uri(url, p.path) for p in parts]
    df = spark.read.option("basePath", base).parquet(*paths)
    return df, len(parts), files


def backfill(
    spark: SparkSession,
    url: str,
    start: date,
    end: date,
    window_minutes: Sequence[int],
    segments: pa.Table,
    to: Target = "store",
    store: Store | None = None,
    progress: Progress | None = None,
) -> BackfillResult:
    """Recompute the windows of [start, end] from the archive at `url` and write them to
    the store (upserts, replacing what it holds for those keys) or to the archive's
    windows dataset (appended; the newest updated_at of a key is current)."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as sf

    say = progress or (lambda _msg: None)
    if end < start:
        raise ValueError("end is before start")
    if to == "store" and store is None:
        raise ValueError("writing to the store needs a store")
    began = time.perf_counter()
    result = BackfillResult(start, end, to)
    location = open_archive(url)
    events, result.partitions, result.files = read_events(spark, url, start, end, location)
    say(f"read: {result.partitions} partitions, {result.files} files of events in {url}")
    if events is None:
        result.seconds = time.perf_counter() - began
        return result
    free_flow = spark.createDataFrame(free_flow_table(segments))
    windows = window_aggregates(events, window_minutes, free_flow)
    if to == "archive":
        say("aggregate + write: windows dataset (Parquet, zstd, by date)")
        # Counted while writing (an observation), not by a second pass over cached rows.
        observed = Observation("backfill")
        sizes = sorted(set(window_minutes))
        metrics = []
        for m in sizes:
            of_size = sf.col("window_minutes") == sf.lit(m)
            metrics.append(sf.sum(sf.when(of_size, 1).otherwise(0)).alias(f"rows_{m}"))
            metrics.append(sf.sum(sf.when(of_size, sf.col("count"))).alias(f"events_{m}"))
        (
            windows.observe(observed, *metrics)
            .withColumn("date", sf.to_date(sf.col("window_start")))
            .write.mode("append")
            .partitionBy("date")
            .parquet(spark_uri(url, location.dataset_dir("windows")))
        )
        got = observed.get
        result.windows = {m: int(got.get(f"rows_{m}") or 0) for m in sizes}
        result.events = int(got.get(f"events_{sizes[0]}") or 0)
    else:
        assert store is not None
        windows = windows.withColumn("date", sf.to_date(sf.col("window_start"))).persist()
        for day in _days(start, end):
            table = to_arrow_windows(windows.filter(sf.col("date") == sf.lit(day)))
            if table.num_rows == 0:
                continue
            with store.transaction():
                store.upsert_windows(table)
            minutes = table.column("window_minutes").to_numpy()
            for m in window_minutes:
                result.windows[m] = result.windows.get(m, 0) + int((minutes == m).sum())
            smallest = minutes == min(window_minutes)
            result.events += int(table.column("count").to_numpy()[smallest].sum())
            say(f"{day}: {table.num_rows} windows upserted into the store")
        windows.unpersist()
    result.seconds = time.perf_counter() - began
    say(
        f"done: {result.events} events -> "
        + ", ".join(f"{n} {m}-min windows" for m, n in sorted(result.windows.items()))
        + f" in {result.seconds:.1f} s"
    )
    return result
