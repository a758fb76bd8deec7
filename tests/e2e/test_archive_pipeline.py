"""The pipeline with the Parquet archive on: what DuckDB reads back from the archive is
row for row what the store holds, across midnight, before and after compaction."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from trafficcast.api.metrics import PipelineCollector
from trafficcast.cli import app
from trafficcast.config import Settings
from trafficcast.domain.schema import STORED_WINDOW_SCHEMA
from trafficcast.runtime import Runtime
from trafficcast.sources.dataset import Dataset
from trafficcast.sources.feeds import ReplayFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

pytestmark = pytest.mark.slow

HOUR = 3_600_000
T0 = 1_767_657_600_000 - HOUR  # 2026-01-05 23:00 UTC: the replay crosses midnight
KEY = "segment_id, window_minutes, window_start"


def run_with_archive(tmp_path: Path) -> tuple[pa.Table, pa.Table, Runtime]:
    sim = Simulator(SimulatorConfig(n_segments=30, seed=5, dropout_probability=0.0))
    data = Dataset("sim", sim.events(T0, T0 + 2 * HOUR), sim.segments, sim.links)
    settings = Settings(
        data_dir=tmp_path / "data",
        archive_url=str(tmp_path / "archive"),
        archive_flush_rows=1_000,  # several files per day, for compaction to merge
    )
    runtime = Runtime(settings)
    runtime.register_segments(data.segments, data.links)
    feed = ReplayFeed(runtime.bus, data, speed=0)
    runtime.add_feed(feed)
    runtime.start()
    assert feed.finished.wait(60)
    runtime.processor.request_flush()
    assert runtime.processor.wait_idle(60)
    events = runtime.store.events_since(0)
    windows = pa.concat_tables(
        runtime.store.windows_between(m, 0, T0 + 10 * HOUR) for m in (1, 5)
    ).cast(STORED_WINDOW_SCHEMA)
    runtime.stop()  # the archive writes what it still buffers
    assert events.num_rows == data.events.num_rows
    return events, windows, runtime


def differences(con: duckdb.DuckDBPyConnection, root: Path) -> tuple[int, int, int, int]:
    """Rows in the store and not the archive, and the other way, for events and windows
    (EXCEPT ALL: a row archived twice counts)."""
    con.execute(
        f"create or replace view a_events as select * exclude (date) from read_parquet("
        f"'{root}/events/*/*.parquet', hive_partitioning=true)"
    )
    # The archive keeps every emission of a window; the store the newest.
    con.execute(
        f"create or replace view a_windows as select * exclude (date) from read_parquet("
        f"'{root}/windows/*/*.parquet', hive_partitioning=true) "
        f"qualify row_number() over (partition by {KEY} order by updated_at desc) = 1"
    )
    counts = []
    for left, right in (
        ("s_events", "a_events"),
        ("a_events", "s_events"),
        ("s_windows", "a_windows"),
        ("a_windows", "s_windows"),
    ):
        ((n,),) = con.sql(
            f"select count(*) from (select * from {left} except all select * from {right})"
        ).fetchall()
        counts.append(int(n))
    return counts[0], counts[1], counts[2], counts[3]


def test_archive_matches_the_store_row_for_row(tmp_path: Path) -> None:
    events, windows, runtime = run_with_archive(tmp_path)
    root = tmp_path / "archive"
    assert runtime.archive is not None
    stats = runtime.archive.stats
    assert stats.errors == 0
    assert stats.dropped_rows == {"events": 0, "windows": 0}
    assert stats.rows["events"] == events.num_rows
    scraped = {
        (m.name, tuple(sample.labels.items())): sample.value
        for m in PipelineCollector(runtime).collect()
        if m.name.startswith("trafficcast_archive")
        for sample in m.samples
        if sample.name.endswith("_total")
    }
    assert scraped[("trafficcast_archive_rows_written", (("dataset", "events"),))] == (
        events.num_rows
    )
    assert scraped[("trafficcast_archive_files_written", (("dataset", "events"),))] == len(
        list((root / "events").rglob("part-*.parquet"))
    )
    assert scraped[("trafficcast_archive_errors", ())] == 0

    con = duckdb.connect()
    con.register("s_events", events)
    con.register("s_windows", windows)
    assert differences(con, root) == (0, 0, 0, 0)
    # Partitioned by the UTC date of each row's own time.
    by_day = con.sql(
        "select date, min(timestamp), max(timestamp), count(*) from read_parquet("
        f"'{root}/events/*/*.parquet', hive_partitioning=true) group by date order by date"
    ).fetchall()
    assert [str(d) for d, *_ in by_day] == ["2026-01-05", "2026-01-06"]
    for day, first, last, _ in by_day:
        assert first.date() == day
        assert last.date() == day
    files_before = len(list(root.rglob("part-*.parquet")))
    assert files_before > 4

    cli = CliRunner()
    compact = cli.invoke(app, ["archive", "compact", "--url", str(root), "--before", "2026-01-07"])
    assert compact.exit_code == 0, compact.output
    assert "compacted" in compact.output
    files_after = len(list(root.rglob("part-*.parquet")))
    assert files_after < files_before
    assert differences(con, root) == (0, 0, 0, 0)  # every row still there exactly once

    listing = cli.invoke(app, ["archive", "list", "--url", str(root)])
    assert listing.exit_code == 0, listing.output
    assert f"{sum(stats.rows.values())} rows" in listing.output

    retention = cli.invoke(
        app,
        ["archive", "retention", "--url", str(root), "--days", "events=1", "--today", "2026-01-07"],
    )
    assert retention.exit_code == 0, retention.output
    assert "deleted events 2026-01-05" in retention.output
    remaining = con.sql(
        f"select distinct date from read_parquet('{root}/*/*/*.parquet', hive_partitioning=true)"
        " order by 1"
    ).fetchall()
    assert [str(d) for (d,) in remaining] == ["2026-01-05", "2026-01-06"]  # windows kept
    assert [p.name for p in (root / "events").iterdir()] == ["date=2026-01-06"]
