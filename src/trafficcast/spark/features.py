"""Build training features for the whole network on Spark, one task per segment group.

The features are those training computes (forecast/feature_table.py) on the groups
`trafficcast spark train` would train, so the table is what each group's model
learns from, for analysis or for training elsewhere. Written as Parquet (zstd)
partitioned by quantity and date; a rerun replaces only the dates it covers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pyarrow as pa

from trafficcast.archive.location import open_archive
from trafficcast.forecast.feature_table import feature_batches, feature_schema
from trafficcast.forecast.training import ALL_STEPS, Split
from trafficcast.spark.backfill import spark_uri
from trafficcast.spark.windows import NetworkPlan, planned_windows

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

Progress = Callable[[str], None]


@dataclass
class FeatureRun:
    plan: NetworkPlan
    split: Split
    rows: int
    seconds: float


def spark_schema() -> pa.Schema:
    """The feature schema with Spark's microsecond timestamps."""
    schema = feature_schema(ALL_STEPS)
    at = schema.get_field_index("window_start")
    return schema.set(at, schema.field(at).with_type(pa.timestamp("us", tz="UTC")))


def group_features(
    plan: NetworkPlan, quantity: str, split: Split
) -> Callable[[tuple[pa.Scalar, ...], Iterator[pa.RecordBatch]], Iterator[pa.RecordBatch]]:
    """The function each group's task runs (applyInArrow, batches in and out)."""

    schema = spark_schema()

    def features(
        key: tuple[pa.Scalar, ...], batches: Iterator[pa.RecordBatch]
    ) -> Iterator[pa.RecordBatch]:
        group = int(key[0].as_py())
        panel = plan.panel(group, pa.Table.from_batches(list(batches)))
        if quantity == "volume" and panel.volume is None:
            return  # this group never measured volume
        for batch in feature_batches(panel, quantity, split, ALL_STEPS, group):
            yield batch.cast(schema)

    return features


def features_on_spark(
    spark: SparkSession,
    url: str,
    start: date,
    end: date,
    output: str,
    *,
    links: pa.Table,
    groups: int,
    quantity: str,
    test_fraction: float,
    validation_fraction: float,
    timezone: str,
    progress: Progress | None = None,
) -> FeatureRun:
    """Write the feature table of the archived windows of [start, end] to `output`."""
    from pyspark.sql import Observation
    from pyspark.sql import functions as sf
    from pyspark.sql.pandas.types import from_arrow_schema

    if quantity not in ("speed", "volume"):
        raise ValueError(f"quantity: speed or volume, not {quantity!r}")
    say = progress or (lambda _msg: None)
    began = time.perf_counter()
    with planned_windows(spark, url, start, end, links, groups, timezone) as (rows, plan):
        split = Split.fractions(plan.grid[1], test_fraction, validation_fraction)
        say(
            f"{plan.grid[1]:,} steps of 5 minutes x {len(plan.segment_ids)} segments in "
            f"{groups} groups; {quantity} features -> {output}"
        )
        written = Observation("features")
        (
            rows.groupBy("group")
            .applyInArrow(group_features(plan, quantity, split), from_arrow_schema(spark_schema()))
            .observe(written, sf.count(sf.lit(1)).alias("rows"))
            .withColumn("date", sf.to_date(sf.col("window_start")))
            .write.mode("overwrite")
            .option("partitionOverwriteMode", "dynamic")
            .partitionBy("quantity", "date")
            .parquet(spark_uri(output, open_archive(output).root))
        )
    count = int(written.get.get("rows") or 0)
    seconds = time.perf_counter() - began
    say(f"wrote {count:,} feature rows in {seconds:.1f} s")
    return FeatureRun(plan, split, count, seconds)
