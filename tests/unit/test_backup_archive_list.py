"""The archive snapshot list in a backup: archive.json, its comparison, and restore --dry-run.

The archive is real Parquet written with ArchiveLocation.write_table; the store is a
real DuckDB file; backups are made by write_backup and the CLI.
"""

from __future__ import annotations

import io
import json
import tarfile
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from trafficcast.archive.location import ArchiveLocation, open_archive
from trafficcast.backup.archive import open_backup, write_backup
from trafficcast.backup.listing import current_files, list_archive, take_snapshot
from trafficcast.backup.manifest import ARCHIVE, BackupError, check_member_name
from trafficcast.backup.snapshot import (
    ArchiveSnapshot,
    SnapshotFile,
    compare,
    report,
)
from trafficcast.cli import app
from trafficcast.store.duckdb_store import DuckDBStore

DAY1, DAY2, DAY3 = date(2026, 1, 5), date(2026, 1, 6), date(2026, 1, 7)


def rows(n: int, start: int = 0) -> pa.Table:
    return pa.table({"segment_id": [f"s{i}" for i in range(start, start + n)], "v": range(n)})


def write(location: ArchiveLocation, dataset: str, day: date, n: int) -> str:
    """One archive file; its path relative to the root."""
    written = location.write_table(location.partition_dir(dataset, day), rows(n))
    return written.path.removeprefix(location.root + "/")


def f(
    path: str, size: int, n: int | None, dataset: str = "events", day: str = "2026-01-05"
) -> SnapshotFile:
    return SnapshotFile(dataset, day, path, size, n)


# -- the pure comparison ------------------------------------------------------


def test_compare_sorts_files_into_unchanged_missing_changed_added_and_compacted() -> None:
    before = [
        f("events/date=2026-01-05/a.parquet", 100, 10),
        f("events/date=2026-01-05/b.parquet", 100, 10),
        f("events/date=2026-01-06/c.parquet", 100, 7, day="2026-01-06"),
        f("events/date=2026-01-06/d.parquet", 100, 3, day="2026-01-06"),
        f("windows/date=2026-01-05/w.parquet", 50, 5, dataset="windows"),
        f("windows/date=2026-01-06/x.parquet", 50, 5, dataset="windows", day="2026-01-06"),
    ]
    after = [
        # events 01-05: a and b merged into m, the same 20 rows: compacted
        f("events/date=2026-01-05/m.parquet", 150, 20),
        # events 01-06: d deleted, e written, rows differ: missing + added
        f("events/date=2026-01-06/c.parquet", 100, 7, day="2026-01-06"),
        f("events/date=2026-01-06/e.parquet", 80, 4, day="2026-01-06"),
        # windows 01-05: rewritten in place
        f("windows/date=2026-01-05/w.parquet", 60, 6, dataset="windows"),
        # windows 01-06 unchanged; a new day
        f("windows/date=2026-01-06/x.parquet", 50, 5, dataset="windows", day="2026-01-06"),
        f("windows/date=2026-01-07/y.parquet", 40, 4, dataset="windows", day="2026-01-07"),
    ]
    c = compare(before, after)
    assert [x.path for x in c.unchanged] == [
        "events/date=2026-01-06/c.parquet",
        "windows/date=2026-01-06/x.parquet",
    ]
    assert [x.path for x in c.missing] == ["events/date=2026-01-06/d.parquet"]
    assert [(a.path, a.size, b.size) for a, b in c.changed] == [
        ("windows/date=2026-01-05/w.parquet", 50, 60)
    ]
    assert [x.path for x in c.added] == [
        "events/date=2026-01-06/e.parquet",
        "windows/date=2026-01-07/y.parquet",
    ]
    assert [(k.dataset, k.day, k.files_before, k.files_after, k.rows) for k in c.compacted] == [
        ("events", "2026-01-05", 2, 1, 20)
    ]
    assert not c.same

    lines = "\n".join(report(ArchiveSnapshot("/a", "t", tuple(before)), after, c))
    assert "MISSING since the backup: 1 file" in lines
    assert "events/date=2026-01-06/d.parquet (100 bytes, 3 rows)" in lines
    assert "windows/date=2026-01-05/w.parquet: 50 -> 60 bytes, 5 rows -> 6 rows" in lines
    assert "compacted: events/date=2026-01-05: 2 files replaced by 1 file, 20 rows" in lines
    assert "windows/date=2026-01-07: 1 file, 4 rows (new day)" in lines
    assert "events/date=2026-01-06: 1 file, 4 rows\n" in lines + "\n"  # not a new day


def test_compare_same_archive_and_unknown_rows_are_never_called_compacted() -> None:
    files = [f("events/date=2026-01-05/a.parquet", 100, 10)]
    c = compare(files, files)
    assert c.same
    assert len(c.unchanged) == 1
    assert (
        "every file present and unchanged"
        in report(ArchiveSnapshot("/a", "t", tuple(files)), files, c)[1]
    )
    # A file unreadable at backup time: same path and size is unchanged ...
    unread = [f("events/date=2026-01-05/a.parquet", 100, None)]
    assert compare(unread, files).same
    # ... but replacing it is not a provable compaction.
    c = compare(unread, [f("events/date=2026-01-05/m.parquet", 90, 10)])
    assert not c.compacted
    assert len(c.missing) == 1
    assert len(c.added) == 1


def test_a_whole_day_gone_is_named_and_long_lists_are_cut() -> None:
    before = [f(f"events/date=2026-01-05/{i:02}.parquet", 10, 1) for i in range(25)]
    lines = report(ArchiveSnapshot("/a", "t", tuple(before)), [], compare(before, []))
    assert "MISSING since the backup: 25 files" in lines[2]
    assert lines[3].endswith("(whole day gone: retention?)")
    assert lines[-1] == "    … and 5 more"
    assert len(lines) == 3 + 20 + 1


# -- archive.json parsing -----------------------------------------------------


GOOD: dict[str, Any] = {
    "format": "trafficcast-archive-list",
    "format_version": 1,
    "url": "s3://bucket/archive",
    "taken_at": "2026-01-08T00:00:00+00:00",
    "files": [
        {
            "dataset": "events",
            "day": "2026-01-05",
            "path": "events/date=2026-01-05/a.parquet",
            "size": 10,
            "rows": 3,
        }
    ],
}


def test_archive_json_round_trips() -> None:
    snapshot = ArchiveSnapshot.from_json(json.dumps(GOOD).encode())
    assert snapshot.files == (f("events/date=2026-01-05/a.parquet", 10, 3),)
    assert ArchiveSnapshot.from_json(snapshot.to_json()) == snapshot


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda b: b.pop("url"), r"archive.json: field 'url' is missing"),
        (lambda b: b.update(format="x"), r"field 'format'"),
        (lambda b: b.update(format_version=2), r"format_version 2 is not supported"),
        (lambda b: b.update(files={}), r"archive.json.files must be list"),
        (lambda b: b["files"][0].pop("size"), r"files\[0\]: field 'size' is missing"),
        (lambda b: b["files"][0].update(size="10"), r"files\[0\].size must be a whole number"),
        (lambda b: b["files"][0].update(size=True), r"files\[0\].size must be a whole number"),
        (lambda b: b["files"][0].update(rows=-1), r"files\[0\].rows must be a whole number"),
        (lambda b: b["files"][0].update(day="05/01/2026"), r"files\[0\].day .* is not a date"),
        (lambda b: b["files"][0].update(path="../etc"), r"files\[0\].path '../etc' is not"),
        (lambda b: b["files"].append(dict(b["files"][0])), r"files\[1\].path .* listed twice"),
        (lambda b: b["files"].append(3), r"files\[1\] is not an object"),
    ],
)
def test_malformed_archive_json_names_the_field(change: Any, message: str) -> None:
    body = json.loads(json.dumps(GOOD))
    change(body)
    with pytest.raises(BackupError, match=message):
        ArchiveSnapshot.from_json(json.dumps(body).encode())
    with pytest.raises(BackupError, match=r"archive\.json is not JSON"):
        ArchiveSnapshot.from_json(b"{")


# -- listing a real archive ---------------------------------------------------


def test_listing_reads_rows_from_footers_and_handles_missing_and_damaged(tmp_path: Path) -> None:
    assert list_archive(open_archive(str(tmp_path / "nothing-here"))) == []
    location = open_archive(str(tmp_path / "archive"))
    a = write(location, "events", DAY1, 7)
    b = write(location, "windows", DAY2, 3)
    # Not listed: hidden (being written) and not Parquet.
    (tmp_path / "archive/events/date=2026-01-05/.part-x.parquet.tmp").write_bytes(b"half")
    (tmp_path / "archive/events/date=2026-01-05/notes.txt").write_text("x")
    damaged = "events/date=2026-01-06/part-bad.parquet"
    (tmp_path / "archive" / damaged).parent.mkdir(parents=True)
    (tmp_path / "archive" / damaged).write_bytes(b"not parquet at all")
    snapshot = take_snapshot("file://" + str(tmp_path / "archive"))
    by_path = {x.path: x for x in snapshot.files}
    assert set(by_path) == {a, b, damaged}
    assert (by_path[a].dataset, by_path[a].day, by_path[a].rows) == ("events", "2026-01-05", 7)
    assert by_path[a].size == (tmp_path / "archive" / a).stat().st_size
    assert (by_path[b].dataset, by_path[b].rows) == ("windows", 3)
    assert by_path[damaged].rows is None
    assert by_path[damaged].error
    assert snapshot.unreadable == (by_path[damaged],)
    # The restore side reuses known row counts for files of the same size.
    assert current_files(str(tmp_path / "archive"), snapshot) == list(snapshot.files)


@pytest.mark.parametrize(
    "url", ["unknownfs://key:hunter2@bucket/archive", "hdfs://user:hunter2@127.0.0.1:1/archive"]
)
def test_an_archive_that_cannot_be_opened_is_a_clear_error_without_its_password(url: str) -> None:
    with pytest.raises(BackupError, match="cannot open the archive") as caught:
        take_snapshot(url)
    assert "hunter2" not in str(caught.value)
    assert "<redacted>" in str(caught.value)


# -- in the backup ------------------------------------------------------------


@pytest.fixture
def system(tmp_path: Path) -> dict[str, str | None]:
    """A data folder with a populated DuckDB store and registry, and an archive."""
    store = DuckDBStore(tmp_path / "src" / "trafficcast.duckdb")
    store.init_schema()
    store.set_state("k", "v")
    store.close()
    (tmp_path / "src" / "models" / "m1").mkdir(parents=True)
    (tmp_path / "src" / "models" / "m1" / "w.bin").write_bytes(b"w")
    location = open_archive(str(tmp_path / "archive"))
    write(location, "events", DAY1, 5)
    write(location, "windows", DAY1, 2)
    return {
        "TRAFFICCAST_DATA_DIR": str(tmp_path / "src"),
        "TRAFFICCAST_DATABASE_URL": "",
        "TRAFFICCAST_MODELS_DIR": None,
        "TRAFFICCAST_ARCHIVE_URL": str(tmp_path / "archive"),
    }


def test_the_backup_lists_the_archive_in_a_checksummed_member(
    system: dict[str, str | None], tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    result = CliRunner().invoke(app, ["backup", str(out)], env=system)
    assert result.exit_code == 0, result.output
    assert "listed 2 archive files (7 rows" in result.output
    with open_backup(out) as backup:
        assert ARCHIVE in {m.name for m in backup.manifest.members}
        assert backup.archive is not None
        assert sorted((x.dataset, x.rows) for x in backup.archive.files) == [
            ("events", 5),
            ("windows", 2),
        ]
    assert check_member_name(ARCHIVE) == ARCHIVE

    # Altered after the fact: refused by its checksum.
    tampered = tmp_path / "t.tar"
    with tarfile.open(out) as src, tarfile.open(tampered, "w") as dst:
        for entry in src.getmembers():
            data = src.extractfile(entry).read()  # type: ignore[union-attr]
            if entry.name == ARCHIVE:
                data = data.replace(b'"rows": 5', b'"rows": 6')
            info = tarfile.TarInfo(entry.name)
            info.size = len(data)
            dst.addfile(info, io.BytesIO(data))
    checksum = r"'archive\.json' does not match its checksum"
    with pytest.raises(BackupError, match=checksum), open_backup(tampered):
        pass

    # Without an archive: no member, and the summary says so.
    without = tmp_path / "n.tar"
    result = CliRunner().invoke(
        app, ["backup", str(without)], env={**system, "TRAFFICCAST_ARCHIVE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    assert "no archive is configured" in result.output
    with open_backup(without) as backup:
        assert backup.archive is None
        assert ARCHIVE not in {m.name for m in backup.manifest.members}


def test_write_backup_without_a_snapshot_has_no_archive_member(tmp_path: Path) -> None:
    store = DuckDBStore(":memory:")
    store.init_schema()
    manifest = write_backup(store, tmp_path / "none", {}, tmp_path / "x.tar")
    store.close()
    assert ARCHIVE not in {m.name for m in manifest.members}


def tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(root.rglob("*"))
    }


def test_restore_dry_run_reports_everything_and_writes_nothing(
    system: dict[str, str | None], tmp_path: Path
) -> None:
    out = tmp_path / "b.tar"
    assert CliRunner().invoke(app, ["backup", str(out)], env=system).exit_code == 0
    location = open_archive(str(tmp_path / "archive"))
    write(location, "events", DAY3, 4)  # a new day since the backup
    target = tmp_path / "target"
    env = {**system, "TRAFFICCAST_DATA_DIR": str(target), "TRAFFICCAST_LOG_LEVEL": "DEBUG"}
    before = tree(tmp_path)
    result = CliRunner().invoke(app, ["restore", str(out), "--dry-run"], env=env)
    assert result.exit_code == 0, result.output
    out_text = result.output
    assert "would restore:" in out_text
    assert "  processor_state: 1 rows" in out_text
    assert "model registry: 1 files (1 bytes)" in out_text
    assert 'log_level: "INFO" -> "DEBUG"' in out_text
    assert "present and unchanged: 2 files" in out_text
    assert "events/date=2026-01-07: 1 file, 4 rows (new day)" in out_text
    assert "nothing was written" in out_text
    assert not target.exists()
    assert tree(tmp_path) == before

    # Into the populated source itself: it would fail (not empty), still writing nothing.
    result = CliRunner().invoke(app, ["restore", str(out), "--dry-run"], env=system)
    assert result.exit_code == 1
    assert "the restore would fail: the target is not empty: processor_state (1 rows)" in (
        result.output
    )
    assert tree(tmp_path) == before
