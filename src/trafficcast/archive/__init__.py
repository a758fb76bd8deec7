"""The Parquet archive: raw events and window results as date-partitioned Parquet files.

Layout (Hive partitioning by UTC event date, readable by DuckDB, Spark, pyarrow)::

    <root>/events/date=YYYY-MM-DD/part-<uuid>.parquet      (partitioned by timestamp)
    <root>/windows/date=YYYY-MM-DD/part-<uuid>.parquet     (partitioned by window_start)

`writer.ArchiveWriter` fills it continuously from the stream processor's commits;
`maintenance` compacts closed days, applies retention and lists what is there.
"""

from trafficcast.archive.location import DATASETS, ArchiveLocation, open_archive
from trafficcast.archive.writer import ArchiveConfig, ArchiveStats, ArchiveWriter

__all__ = [
    "DATASETS",
    "ArchiveConfig",
    "ArchiveLocation",
    "ArchiveStats",
    "ArchiveWriter",
    "open_archive",
]
