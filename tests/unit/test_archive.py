"""The Parquet archive: partitioning, flushing, atomic files, compaction and retention."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trafficcast.archive import ArchiveConfig, ArchiveWriter, open_archive
from trafficcast.archive.location import ArchiveLocation, split_by_day
from trafficcast.archive.maintenance import (
    MARKER_PREFIX,
    apply_retention,
    compact_partition,
    parse_retention,
    recover,
    summary,
)
from trafficcast.domain.schema import EVENT_SCHEMA

DAY = 86_400_000
MIDNIGHT = 1_767_657_600_000  # 2026-01-06 00:00 UTC


def events(start_ms: int, n: int, step_ms: int = 1000, tag: str = "e") -> pa.Table:
    ts = start_ms + np.arange(n, dtype=np.int64) * step_ms
    rng = np.random.default_rng(n)
    return pa.Table.from_arrays(
        [
            pa.array([f"{tag}{i}" for i in range(n)], pa.string()),
            pa.array([f"s{i % 7}" for i in range(n)], pa.string()),
            pa.array(ts).cast(EVENT_SCHEMA.field("timestamp").type),
            pa.array(rng.uniform(10, 70, n)),
            pa.array(rng.uniform(0, 20, n)),
            pa.array(rng.uniform(0, 100, n)),
            pa.array(np.full(n, 34.0)),
            pa.array(np.full(n, -118.0)),
            pa.array(["test"] * n, pa.string()),
            pa.array(np.ones(n)),
        ],
        schema=EVENT_SCHEMA,
    )


def archived_ids(root: Path, dataset: str = "events") -> list[str]:
    rows = duckdb.sql(
        f"select event_id from read_parquet('{root}/{dataset}/*/*.parquet', hive_partitioning=true)"
    ).fetchall()
    return sorted(r[0] for r in rows)


def visible_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.parquet") if not p.name.startswith((".", "_")))


def wait_for(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rows_are_partitioned_by_utc_date_across_midnight(tmp_path: Path) -> None:
    table = events(MIDNIGHT - 5_000, 10)  # 5 s before midnight to 4 s after
    parts = split_by_day(table, "timestamp")
    assert [d for d, _ in parts] == [date(2026, 1, 5), date(2026, 1, 6)]
    assert [p.num_rows for _, p in parts] == [5, 5]

    writer = ArchiveWriter(open_archive(str(tmp_path)), ArchiveConfig(flush_age_s=3600))
    writer.start()
    writer.submit("events", table)
    writer.stop()
    dirs = sorted(p.parent.name for p in visible_files(tmp_path))
    assert dirs == ["date=2026-01-05", "date=2026-01-06"]
    got = duckdb.sql(
        f"select date, count(*), max(timestamp) from read_parquet('{tmp_path}/events/*/*.parquet',"
        " hive_partitioning=true) group by date order by date"
    ).fetchall()
    assert [(str(d), n) for d, n, _ in got] == [("2026-01-05", 5), ("2026-01-06", 5)]
    assert writer.stats.rows["events"] == 10
    assert writer.stats.files["events"] == 2
    assert writer.stats.bytes["events"] == sum(p.stat().st_size for p in visible_files(tmp_path))


def test_flush_by_age_not_before(tmp_path: Path) -> None:
    clock = FakeClock()
    writer = ArchiveWriter(open_archive(str(tmp_path)), ArchiveConfig(flush_age_s=60), clock=clock)
    writer.start()
    writer.submit("events", events(MIDNIGHT, 100))
    wait_for(lambda: writer._buffers["events"].rows == 100)
    clock.now += 59
    time.sleep(1.2)  # the writer wakes at least once a second
    assert visible_files(tmp_path) == []
    clock.now += 2
    wait_for(lambda: len(visible_files(tmp_path)) == 1)
    assert archived_ids(tmp_path) == sorted(f"e{i}" for i in range(100))
    writer.stop()
    assert len(visible_files(tmp_path)) == 1


def test_flush_by_size_and_rows(tmp_path: Path) -> None:
    one = events(MIDNIGHT, 10_000, tag="a")
    writer = ArchiveWriter(
        open_archive(str(tmp_path / "bytes")),
        ArchiveConfig(flush_bytes=int(one.nbytes * 2.5), flush_age_s=3600),
    )
    writer.start()
    for tag in "abc":
        writer.submit("events", events(MIDNIGHT, 10_000, tag=tag))
    # Three tables reach the size: one file of all three, nothing waits for the age.
    wait_for(lambda: writer.stats.files["events"] == 1)
    assert writer.stats.rows["events"] == 30_000
    writer.submit("events", events(MIDNIGHT, 10_000, tag="d"))
    time.sleep(0.3)
    assert writer.stats.files["events"] == 1  # below the size: buffered
    writer.stop()  # stopping writes what is buffered
    assert writer.stats.files["events"] == 2
    assert len(archived_ids(tmp_path / "bytes")) == 40_000

    by_rows = ArchiveWriter(
        open_archive(str(tmp_path / "rows")), ArchiveConfig(flush_rows=25_000, flush_age_s=3600)
    )
    by_rows.start()
    for tag in "abc":
        by_rows.submit("events", events(MIDNIGHT, 10_000, tag=tag))
    wait_for(lambda: by_rows.stats.files["events"] == 1)
    by_rows.stop()


def test_failed_writes_are_counted_and_retried_and_submit_never_blocks(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    root.mkdir()
    (root / "events").write_text("not a folder")  # every events write fails
    writer = ArchiveWriter(
        open_archive(str(root)),
        ArchiveConfig(flush_age_s=0, queue_batches=2, retry_min_s=0.05, retry_max_s=0.1),
    )
    writer.start()
    writer.submit("events", events(MIDNIGHT, 50))
    wait_for(lambda: writer.stats.errors >= 2)
    assert writer.failure is not None
    # While it backs off the queue fills, and then submits drop (counted) without waiting.
    started = time.perf_counter()
    results = [writer.submit("events", events(MIDNIGHT, 10, tag=f"x{i}")) for i in range(20)]
    assert time.perf_counter() - started < 0.5
    assert results.count(False) >= 10
    assert writer.stats.dropped_rows["events"] == 10 * results.count(False)
    (root / "events").unlink()  # the filesystem is back
    wait_for(lambda: writer.stats.rows["events"] >= 50 + 10 * results.count(True))
    writer.stop()
    assert writer.failure is None
    assert len(archived_ids(root)) == 50 + 10 * results.count(True)


def test_stop_gives_up_in_time_while_the_storage_is_down(tmp_path: Path) -> None:
    (tmp_path / "events").write_text("not a folder")
    writer = ArchiveWriter(
        open_archive(str(tmp_path)),
        ArchiveConfig(flush_age_s=0, queue_batches=1, retry_min_s=10, retry_max_s=10),
    )
    writer.start()
    writer.submit("events", events(MIDNIGHT, 5))
    wait_for(lambda: writer.stats.errors == 1)
    writer.submit("events", events(MIDNIGHT, 5, tag="q"))  # fills the queue
    started = time.monotonic()
    writer.stop(timeout=0.5)
    assert time.monotonic() - started < 2.0
    assert writer.stats.rows["events"] == 0


def test_a_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    location = open_archive(str(tmp_path))

    def broken(table: pa.Table, sink: object, **kwargs: object) -> None:
        sink.write(b"PAR1 half a file")  # type: ignore[attr-defined]
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", broken)
    with pytest.raises(OSError, match="disk full"):
        location.write_table(location.partition_dir("events", date(2026, 1, 6)), events(0, 5))
    assert list(tmp_path.rglob("*.parquet*")) == []


CRASHING_WRITER = textwrap.dedent(
    """
    import sys, numpy as np, pyarrow as pa
    from trafficcast.archive import open_archive
    from datetime import date
    n = 3_000_000
    table = pa.table({"event_id": pa.array(np.arange(n).astype(str)),
                      "x": np.random.default_rng(1).random(n)})
    location = open_archive(sys.argv[1])
    folder = location.partition_dir("events", date(2026, 1, 6))
    location.write_table(folder, table.slice(0, 10))  # one complete file
    print("ready", flush=True)
    while True:
        location.write_table(folder, table)
    """
)


def test_a_crash_mid_write_leaves_no_partial_visible_file(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        folder = tmp_path / "events" / "date=2026-01-06"
        wait_for(lambda: any(p.name.endswith(".tmp") for p in folder.iterdir()), 60)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(10)
    staged = [p for p in folder.iterdir() if p.name.endswith(".tmp")]
    assert staged
    assert staged[0].name.startswith(".")
    files = visible_files(tmp_path)
    assert files  # and every visible file is whole and readable
    for f in files:
        pq.read_table(f)
    ((n,),) = duckdb.sql(
        f"select count(*) from read_parquet('{tmp_path}/events/*/*.parquet')"
    ).fetchall()
    assert n % 3_000_000 == 10


def small_files(location: ArchiveLocation, day: date, count: int, rows: int) -> None:
    folder = location.partition_dir("events", day)
    start = int((day - date(1970, 1, 1)).days) * DAY
    for i in range(count):
        location.write_table(folder, events(start + i * rows * 1000, rows, tag=f"f{i}-"))


def test_compaction_merges_small_files_keeping_every_row_once(tmp_path: Path) -> None:
    location = open_archive(str(tmp_path))
    day = date(2026, 1, 5)
    small_files(location, day, 12, 2_000)
    before = archived_ids(tmp_path)
    (partition,) = location.partitions("events")
    sizes = [f.size for f in location.files(partition.path)]
    target = 150_000  # two to three inputs' worth per merged file
    done: list[int] = []
    result = compact_partition(location, partition, target, progress=done.append)
    after = location.files(partition.path)
    assert result.inputs == 12
    assert 1 < result.outputs == len(after) < 12
    # Every merged file reached the target but the one the rows ran out in.
    assert [f.size >= target for f in after].count(False) <= 1
    assert result.rows == 24_000
    assert sum(done) == sum(sizes)
    assert archived_ids(tmp_path) == before  # every row exactly once
    assert len(set(before)) == 24_000
    assert location.hidden(partition.path, MARKER_PREFIX) == []
    # Merged files are big enough (at least half the target): left alone.
    again = compact_partition(location, partition, target)
    assert again.inputs == 0
    assert sorted(f.path for f in location.files(partition.path)) == sorted(f.path for f in after)


def test_compaction_interrupted_after_the_merge_is_finished_by_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = open_archive(str(tmp_path))
    small_files(location, date(2026, 1, 5), 5, 1_000)
    before = archived_ids(tmp_path)
    (partition,) = location.partitions("events")
    real_discard = location.discard
    calls = {"n": 0}

    def crash_on_second_delete(path: str) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("crash")  # the process dies deleting the inputs
        real_discard(path)

    monkeypatch.setattr(location, "discard", crash_on_second_delete)
    with pytest.raises(KeyboardInterrupt):
        compact_partition(location, partition, 10**9)
    monkeypatch.setattr(location, "discard", real_discard)
    assert len(archived_ids(tmp_path)) > len(before)  # merged file and some inputs both visible
    assert recover(location, partition) == 1
    assert archived_ids(tmp_path) == before
    assert location.hidden(partition.path, MARKER_PREFIX) == []


def test_compaction_interrupted_before_the_merge_appears_is_rolled_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = open_archive(str(tmp_path))
    small_files(location, date(2026, 1, 5), 4, 1_000)
    before = archived_ids(tmp_path)
    (partition,) = location.partitions("events")

    def crash(staged: str, final: str) -> None:
        raise KeyboardInterrupt("crash")

    monkeypatch.setattr(location, "publish", crash)
    monkeypatch.setattr(location, "discard", lambda path: None)  # the crash cleans nothing
    with pytest.raises(KeyboardInterrupt):
        compact_partition(location, partition, 10**9)
    monkeypatch.undo()
    folder = Path(partition.path)
    assert any(p.name.endswith(".tmp") for p in folder.iterdir())
    assert archived_ids(tmp_path) == before  # the half-made merge was never visible
    assert recover(location, partition) == 1
    assert [p.name for p in folder.iterdir() if not p.name.startswith("part-")] == []
    assert archived_ids(tmp_path) == before


def test_retention_deletes_only_partitions_older_than_each_datasets_days(tmp_path: Path) -> None:
    location = open_archive(str(tmp_path))
    today = date(2026, 1, 10)
    for back in range(6):
        day = today - timedelta(days=back)
        location.write_table(location.partition_dir("events", day), events(0, 3))
        location.write_table(location.partition_dir("windows", day), events(0, 3))
    deleted = apply_retention(location, {"events": 3, "windows": 0}, today)
    assert sorted(p.day for p in deleted) == [date(2026, 1, 5), date(2026, 1, 6)]
    assert [p.day for p in location.partitions("events")] == [
        date(2026, 1, 7),
        date(2026, 1, 8),
        date(2026, 1, 9),
        date(2026, 1, 10),
    ]
    assert len(location.partitions("windows")) == 6  # 0 = keep everything
    listed = summary(location)
    assert sum(s.rows for s in listed) == 10 * 3
    assert {s.files for s in listed} == {1}


def test_parse_retention() -> None:
    assert parse_retention("events=90, windows=730") == {"events": 90, "windows": 730}
    assert parse_retention("") == {}
    for bad in ("events", "other=3", "events=-1", "events=x"):
        with pytest.raises(ValueError, match="archive retention"):
            parse_retention(bad)


def test_on_commit_never_raises_into_the_processor(tmp_path: Path) -> None:
    writer = ArchiveWriter(open_archive(str(tmp_path)), ArchiveConfig(queue_batches=1))
    writer.on_commit(events(0, 3), [events(0, 2)])  # not started: the queue overflows
    writer.on_commit(object(), [])  # type: ignore[arg-type]  # even nonsense is swallowed
    assert writer.stats.dropped_rows["windows"] == 2
    writer.start()
    writer.stop()
    assert len(archived_ids(tmp_path)) == 3


def test_rows_that_cannot_be_partitioned_are_dropped_and_counted_not_retried(
    tmp_path: Path,
) -> None:
    writer = ArchiveWriter(open_archive(str(tmp_path)), ArchiveConfig(flush_age_s=0))
    writer.start()
    writer.submit("windows", events(MIDNIGHT, 4))  # no window_start: a caller's bug
    wait_for(lambda: writer.stats.dropped_rows["windows"] == 4)
    writer.submit("events", events(MIDNIGHT, 6))
    writer.stop()
    assert writer.stats.errors == 1
    assert writer.stats.rows == {"events": 6, "windows": 0}
    assert len(archived_ids(tmp_path)) == 6


def test_an_object_store_style_location_writes_and_compacts_without_renames(
    tmp_path: Path,
) -> None:
    """s3:// and friends: no rename; each file is one upload that appears whole."""
    import pyarrow.fs as pafs

    fs = pafs.SubTreeFileSystem(str(tmp_path), pafs.LocalFileSystem())
    location = ArchiveLocation(fs, "bucket/archive")
    assert not location.renames
    writer = ArchiveWriter(location, ArchiveConfig(flush_rows=100, flush_age_s=3600))
    writer.start()
    for tag in "abcd":
        writer.submit("events", events(MIDNIGHT - 50_000, 100, tag=tag))  # across midnight
    writer.stop()
    root = tmp_path / "bucket" / "archive"
    assert writer.stats.files["events"] == 8
    before = archived_ids(root)
    assert len(before) == 400
    for partition in location.partitions("events"):
        result = compact_partition(location, partition, 10**9)
        assert result.inputs == 4
        assert result.outputs == 1
    assert archived_ids(root) == before
    assert len(visible_files(root)) == 2
    assert [p.name for p in root.rglob("*") if p.name.startswith((".", "_"))] == []


def test_settings_check_the_retention_and_the_cli_needs_an_archive(tmp_path: Path) -> None:
    from pydantic import ValidationError
    from typer.testing import CliRunner

    from trafficcast.cli import app
    from trafficcast.config import Settings

    assert Settings(archive_retention_days="events=90,windows=730").archive_retention_days
    with pytest.raises(ValidationError, match="archive retention"):
        Settings(archive_retention_days="raw=3")
    cli = CliRunner()
    done = cli.invoke(app, ["archive", "list"], env={"TRAFFICCAST_ARCHIVE_URL": ""})
    assert done.exit_code == 1
    assert "TRAFFICCAST_ARCHIVE_URL" in done.output
    done = cli.invoke(app, ["archive", "list", "--url", str(tmp_path), "--dataset", "forecasts"])
    assert done.exit_code == 1
    assert "unknown dataset" in done.output
    done = cli.invoke(app, ["archive", "retention", "--url", str(tmp_path)], env={})
    assert done.exit_code == 0
