"""A SparkSession configured for trafficcast's jobs, from the settings.

Local mode (`local[N]`) binds the driver to 127.0.0.1 and turns the UI off; any
other master URL (spark://, yarn, k8s://) is passed through, so the same job runs
on a cluster. Time is UTC throughout, as in the archive's partitions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from trafficcast.config import Settings


def is_local(master: str) -> bool:
    return master == "local" or master.startswith("local[")


def spark_conf(
    master: str, shuffle_partitions: int | None = None, driver_memory: str | None = None
) -> dict[str, str]:
    """The configuration every trafficcast job runs with."""
    conf = {
        "spark.ui.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        # Written windows carry millisecond timestamps, like the rest of the archive.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MILLIS",
        "spark.sql.parquet.compression.codec": "zstd",
        # Only columns and partitions a job asks for are read.
        "spark.sql.parquet.filterPushdown": "true",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "true",
    }
    if is_local(master):
        conf["spark.driver.bindAddress"] = "127.0.0.1"
        conf["spark.driver.host"] = "127.0.0.1"
    if shuffle_partitions is not None:
        conf["spark.sql.shuffle.partitions"] = str(shuffle_partitions)
    if driver_memory:
        conf["spark.driver.memory"] = driver_memory
    return conf


def under_spark_submit() -> bool:
    """True in a driver launched by spark-submit (which gives the master itself)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def spark_session(
    master: str | None = "local[2]",
    app_name: str = "trafficcast",
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> SparkSession:
    """Get (or create) the process's SparkSession for `master` (None: spark-submit's)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "pyspark is not installed: pip install 'trafficcast[spark]' (needs Java 17+)"
        ) from exc
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
        if is_local(master):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
            # Python workers run trafficcast's code (training tasks): this interpreter has
            # it, the `python3` on PATH that PySpark would start may not.
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    conf = spark_conf(master or "", shuffle_partitions, driver_memory)
    conf.update(extra or {})
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def session_from_settings(
    settings: Settings, master: str | None = None, app_name: str = "trafficcast"
) -> SparkSession:
    if master is None and not under_spark_submit():
        master = settings.spark_master
    return spark_session(
        master,
        app_name,
        shuffle_partitions=settings.spark_shuffle_partitions,
        driver_memory=settings.spark_driver_memory or None,
    )


@contextmanager
def job_session(settings: Settings, master: str | None, app_name: str) -> Iterator[SparkSession]:
    """The session for one CLI job, stopped after it unless it was running before (a
    caller's session, as in tests, is left for the caller)."""
    from pyspark.sql import SparkSession

    running = SparkSession.getActiveSession()
    session = session_from_settings(settings, master, app_name)
    try:
        yield session
    finally:
        if running is None:
            session.stop()
