"""Archive upkeep: compaction of closed days, retention per dataset, and a listing.

Compaction merges a partition's small files into files of about `target_bytes` on
disk. Before the merged file appears a marker `_compaction-<id>.json` naming it
and its inputs is written; the inputs are deleted only once the merged file is
complete and visible, then the marker. A crash at any point is finished (or
rolled back) by the next run from the marker, so no row is lost or, after the
recovery, doubled. (A reader listing the folder in the instant between the merged
file appearing and its inputs going sees both: plain Parquet folders have no
transactions; decision 0019.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from trafficcast.archive.location import (
    COMPRESSION,
    DATASETS,
    ArchiveFile,
    ArchiveLocation,
    Partition,
)

MARKER_PREFIX = "_compaction-"
ROW_GROUP_ROWS = 1_000_000
ROW_GROUP_BYTES = 64 * 1024 * 1024  # Arrow bytes
# Files at least this share of the target are left alone.
BIG_ENOUGH = 0.5


@dataclass(frozen=True)
class CompactResult:
    partition: Partition
    inputs: int
    outputs: int
    rows: int
    bytes_in: int
    bytes_out: int


@dataclass(frozen=True)
class PartitionSummary:
    dataset: str
    day: date
    files: int
    bytes: int
    rows: int


def parse_retention(text: str) -> dict[str, int]:
    """ "events=90,windows=730" -> {"events": 90, "windows": 730}; 0 or absent = keep all."""
    out: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, sep, days = part.partition("=")
        name = name.strip()
        if not sep or name not in DATASETS:
            raise ValueError(
                f"archive retention {part!r}: expected DATASET=DAYS with DATASET one of "
                + ", ".join(DATASETS)
            )
        try:
            value = int(days)
        except ValueError:
            raise ValueError(f"archive retention {part!r}: days must be a whole number") from None
        if value < 0:
            raise ValueError(f"archive retention {part!r}: days must be 0 (keep) or more")
        out[name] = value
    return out


def today_utc() -> date:
    return datetime.now(UTC).date()


def summary(
    location: ArchiveLocation, datasets: Iterable[str] = DATASETS
) -> list[PartitionSummary]:
    """Every partition with its file count, bytes on disk and rows (from Parquet footers)."""
    rows = []
    for dataset in datasets:
        for partition in location.partitions(dataset):
            files = location.files(partition.path)
            n = sum(_row_count(location, f) for f in files)
            rows.append(
                PartitionSummary(dataset, partition.day, len(files), sum(f.size for f in files), n)
            )
    return rows


def _row_count(location: ArchiveLocation, file: ArchiveFile) -> int:
    with location.fs.open_input_file(file.path) as source:
        return int(pq.read_metadata(source).num_rows)


def apply_retention(
    location: ArchiveLocation, retention: dict[str, int], today: date | None = None
) -> list[Partition]:
    """Delete whole partitions older than each dataset's retention; the deleted ones."""
    today = today or today_utc()
    deleted = []
    for dataset, days in retention.items():
        if days <= 0:
            continue
        oldest_kept = today - timedelta(days=days)
        for partition in location.partitions(dataset):
            if partition.day < oldest_kept:
                location.fs.delete_dir(partition.path)
                deleted.append(partition)
    return deleted


def closed_partitions(
    location: ArchiveLocation, datasets: Iterable[str], before: date | None = None
) -> list[Partition]:
    """Partitions of days before `before` (default: today, UTC): no longer written to much."""
    before = before or today_utc()
    return [p for d in datasets for p in location.partitions(d) if p.day < before]


def plan(files: list[ArchiveFile], target_bytes: int) -> list[ArchiveFile]:
    """The small files to merge (none unless at least two); big enough ones stay."""
    small = [f for f in files if f.size < target_bytes * BIG_ENOUGH]
    return small if len(small) > 1 else []


def compact_partition(
    location: ArchiveLocation,
    partition: Partition,
    target_bytes: int = 128 * 1024 * 1024,
    progress: Callable[[int], None] | None = None,
) -> CompactResult:
    """Merge the partition's small files into files of about `target_bytes` on disk (the
    inputs are streamed through, a row group at a time, and a new output is started once
    one reaches the target); `progress` is told the input bytes done."""
    recover(location, partition)
    group = plan(location.files(partition.path), target_bytes)
    if not group:
        return CompactResult(partition, 0, 0, 0, 0, 0)
    merged, rows = _merge(location, partition.path, group, target_bytes, progress)
    return CompactResult(
        partition,
        len(group),
        len(merged),
        rows,
        sum(f.size for f in group),
        sum(f.size for f in merged),
    )


class _Merge:
    """Outputs of one compaction: each staged, then named in the marker, then published."""

    def __init__(self, location: ArchiveLocation, directory: str) -> None:
        self.location = location
        self.directory = directory
        self.marker = f"{directory}/{MARKER_PREFIX}{uuid.uuid4().hex}.json"
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.staged: str | None = None
        self.complete = False

    def note(self) -> None:
        """Rewrite the marker: what a recovery must finish (complete: delete the inputs)
        or undo (not complete: delete the outputs and the staged file)."""
        note = {
            "inputs": self.inputs,
            "outputs": self.outputs,
            "staged": self.staged,
            "complete": self.complete,
        }
        with self.location.fs.open_output_stream(self.marker) as out:
            out.write(json.dumps(note).encode())


def _merge(
    location: ArchiveLocation,
    directory: str,
    group: list[ArchiveFile],
    target_bytes: int,
    progress: Callable[[int], None] | None,
) -> tuple[list[ArchiveFile], int]:
    fs = location.fs
    merge = _Merge(location, directory)
    merge.inputs = [f.path for f in group]
    merge.note()  # before anything is written
    rows = 0
    schema: pa.Schema | None = None
    sink: pa.NativeFile | None = None
    writer: pq.ParquetWriter | None = None
    final = ""
    # A row group is written once this much Arrow data is pending (an output's size is
    # known only as its row groups are written).
    group_bytes = min(ROW_GROUP_BYTES, max(1, target_bytes // 2))

    def finish() -> None:
        nonlocal sink, writer
        assert sink is not None
        assert writer is not None
        assert merge.staged is not None
        writer.close()
        sink.close()
        merge.outputs.append(final)
        merge.note()  # named before it appears: a recovery knows it
        location.publish(merge.staged, final)
        merge.staged, sink, writer = None, None, None

    pending: list[pa.Table] = []
    try:
        for f in group:
            with fs.open_input_file(f.path) as source:
                table = pq.read_table(source)
            if schema is None:
                schema = table.schema
            elif table.schema != schema:
                table = table.cast(schema)
            pending.append(table)
            rows += table.num_rows
            last = f is group[-1]
            if last or sum(t.nbytes for t in pending) >= group_bytes:
                if writer is None:
                    final = location.new_file_path(directory)
                    merge.staged = location.staging_path(final)
                    merge.note()
                    sink = fs.open_output_stream(merge.staged)
                    writer = pq.ParquetWriter(sink, schema, compression=COMPRESSION)
                assert sink is not None
                writer.write_table(pa.concat_tables(pending), ROW_GROUP_ROWS)
                pending = []
                if last or sink.tell() >= target_bytes:
                    finish()
            if progress is not None:
                progress(f.size)
    except BaseException:
        if sink is not None:
            sink.close()
        raise  # the marker stays: the next run (recover) undoes this
    merge.complete = True
    merge.note()
    for path in merge.inputs:  # only now: every merged file is complete and visible
        location.discard(path)
    location.discard(merge.marker)
    return [ArchiveFile(p, int(fs.get_file_info(p).size or 0)) for p in merge.outputs], rows


def recover(location: ArchiveLocation, partition: Partition) -> int:
    """Finish or roll back compactions a crash interrupted here; how many there were."""
    fs = location.fs
    markers = location.hidden(partition.path, MARKER_PREFIX)
    for marker in markers:
        with fs.open_input_stream(marker) as source:
            note = json.loads(source.read().decode())
        outputs = note["outputs"]
        if note["complete"]:
            for path in note["inputs"]:
                location.discard(path)  # the merged files hold all their rows
        else:  # not all of it appeared: undo, the inputs stay
            for path in [*outputs, *([note["staged"]] if note["staged"] else [])]:
                location.discard(path)
        location.discard(marker)
    return len(markers)
