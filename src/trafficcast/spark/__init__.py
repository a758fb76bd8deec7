"""Spark jobs over the Parquet archive (optional extra `spark`: pyspark and Java 17+).

`backfill` recomputes window aggregates from archived raw events with the same
definitions as the stream processor (stream/windowing.py). The master URL is a
setting (TRAFFICCAST_SPARK_MASTER, default local[2]), so the same job runs on a
cluster by changing it. pyspark is imported only when a job runs.
"""
