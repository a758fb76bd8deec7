"""One local[2] SparkSession for every Spark test, Java installed by the project's script."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def spark() -> Iterator[object]:
    pytest.importorskip("pyspark")  # the `spark` extra (scripts/test.sh installs it)
    from trafficcast.spark.session import spark_session

    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        # A Java >= 17, installed from Debian when there is none (as for Kafka).
        script = Path(__file__).parents[2] / "scripts" / "install-java.sh"
        java = subprocess.run([script], check=True, capture_output=True, text=True).stdout
        os.environ["JAVA_HOME"] = str(Path(java.strip()).resolve().parents[1])
    session = spark_session("local[2]", "trafficcast-tests", shuffle_partitions=4)
    yield session
    session.stop()
