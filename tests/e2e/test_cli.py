"""The `trafficcast` command end to end: simulate to a file, replay it into the
store, and post a dataset to a running server."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from trafficcast.api.background import BackgroundServer
from trafficcast.cli import app
from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.store.duckdb_store import DuckDBStore

runner = CliRunner()


def test_simulate_then_replay_into_store(tmp_path: Path) -> None:
    out = tmp_path / "sim.parquet"
    result = runner.invoke(
        app,
        [
            "simulate",
            "--hours",
            "1",
            "--segments",
            "25",
            "--start",
            "2026-01-05T07:00:00+00:00",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows > 1000
    assert table.column("segment_id").unique().to_pylist()

    data = tmp_path / "db"
    result = runner.invoke(app, ["replay", str(out), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    store = DuckDBStore(data / "trafficcast.duckdb")
    try:
        assert store.count_events() == table.num_rows
        assert store.windows_between(5, 0, 2**42).num_rows > 0
        assert store.latest_predictions(None, 1000).num_rows > 0
    finally:
        store.close()


def test_replay_rejects_a_folder_without_data(tmp_path: Path) -> None:
    result = runner.invoke(app, ["replay", str(tmp_path)])
    assert result.exit_code != 0
    assert "speed.csv" in result.output


@pytest.mark.slow
def test_replay_posts_to_a_running_server(shared_data: Path, tmp_path: Path) -> None:
    long_form = tmp_path / "events.csv"
    long_form.write_text(
        "timestamp,segment_id,speed,volume\n"
        "2012-03-01T08:00:00,A,55.5,10\n"
        "2012-03-01T08:05:00,A,0,10\n"  # zero speed = missing reading
        "2012-03-01T08:05:00,B,61.0,\n"
    )
    runtime = Runtime(Settings(data_dir=tmp_path / "srv"))
    with BackgroundServer(runtime) as server:
        result = runner.invoke(app, ["replay", str(long_form), "--url", server.url])
        assert result.exit_code == 0, result.output
        assert "accepted 2" in result.output
        assert runtime.processor.wait_idle(30)
        assert runtime.store.count_events() == 2
