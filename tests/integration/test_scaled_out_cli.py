"""The command line, scaled out: `db upgrade`, `simulate --bus` and `replay` produce to
Kafka, `process` stores what they produced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.cluster import Cluster
from tests.services import Service
from trafficcast.api.background import free_port

pytestmark = pytest.mark.slow


# Half an hour of 12 segments at 30 s: 720 readings.
SIMULATE_TO_BUS = ("simulate", "--hours", "0.5", "--segments", "12")
SIMULATE_TO_BUS += ("--start", "2026-01-05T08:00:00Z", "--bus")


def run(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trafficcast.cli", *args],
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_db_upgrade_simulate_to_the_bus_and_process(
    tmp_path: Path, kafka: Service, postgres_database: str
) -> None:
    cluster = Cluster(tmp_path, kafka.url, postgres_database)
    try:
        upgraded = run(cluster, "db", "upgrade")
        assert upgraded.returncode == 0, upgraded.stderr
        assert run(cluster, "db", "current").stdout.strip()
        produced = run(cluster, *SIMULATE_TO_BUS)
        assert produced.returncode == 0, produced.stderr
        assert "published 720 readings" in produced.stderr.replace("\n", " ")
        port = free_port()
        cluster.processor("--metrics-port", str(port))
        cluster.wait_for(
            "the readings to be stored", lambda: cluster.stored_event_ids() == (720, 720)
        )
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "trafficcast_events_processed_total 720.0" in metrics
        assert "trafficcast_dead_letters_total 0.0" in metrics
        # Published again (a resend): stored once.
        again = run(cluster, *SIMULATE_TO_BUS)
        assert again.returncode == 0, again.stderr
        cluster.wait_for(
            "the resend to be read",
            lambda: "720 duplicates" in cluster.log_of(cluster.processes[0]).replace(",", ""),
        )
        assert cluster.stored_event_ids() == (720, 720)
    finally:
        cluster.stop()


def test_simulate_to_the_bus_needs_a_kafka_bus(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trafficcast.cli", "simulate", "--hours", "0.1", "--bus"],
        env={"PATH": "/usr/bin:/bin", "TRAFFICCAST_BUS": "memory://"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "kafka://" in result.stderr


def test_serve_with_an_unreachable_database_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "trafficcast.cli", "serve", "--port", "1"],
        env={
            "PATH": "/usr/bin:/bin",
            "TRAFFICCAST_DATA_DIR": str(tmp_path),
            "TRAFFICCAST_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "error: cannot reach PostgreSQL at postgresql://postgres@127.0.0.1:1/none" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
