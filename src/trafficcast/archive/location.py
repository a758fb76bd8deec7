"""Where the archive lives: a pyarrow filesystem and a root, its layout and its file writes.

Any URL pyarrow.fs understands works: a plain path or file:// (local), s3://, gs://,
hdfs://, abfs://. Files are written invisibly first and then appear whole: on a
local or HDFS filesystem under a hidden temporary name renamed into place; on an
object store the upload of one object is atomic by itself. Readers (DuckDB's
`*.parquet` globs, pyarrow datasets) never see a partial file, since names starting
with "." or "_" and names not ending in ".parquet" are skipped by both.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

# Dataset -> the timestamp column whose UTC date partitions it.
DATASETS: dict[str, str] = {"events": "timestamp", "windows": "window_start"}
PARTITION_PREFIX = "date="
COMPRESSION = "zstd"
DAY_MS = 86_400_000
EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class ArchiveFile:
    path: str
    size: int


@dataclass(frozen=True)
class Partition:
    dataset: str
    day: date
    path: str


class ArchiveLocation:
    def __init__(self, fs: pafs.FileSystem, root: str) -> None:
        self.fs = fs
        self.root = root.rstrip("/")
        # Object stores have no rename worth the name, but a single PUT is atomic.
        self.renames = fs.type_name in ("local", "hdfs")

    def dataset_dir(self, dataset: str) -> str:
        if dataset not in DATASETS:
            raise ValueError(f"unknown archive dataset {dataset!r} (known: {', '.join(DATASETS)})")
        return f"{self.root}/{dataset}"

    def partition_dir(self, dataset: str, day: date) -> str:
        return f"{self.dataset_dir(dataset)}/{PARTITION_PREFIX}{day.isoformat()}"

    def partitions(self, dataset: str) -> list[Partition]:
        """The dataset's date partitions, oldest first (folders not named date=... ignored)."""
        selector = pafs.FileSelector(self.dataset_dir(dataset), allow_not_found=True)
        found = []
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.Directory or not info.base_name.startswith(
                PARTITION_PREFIX
            ):
                continue
            try:
                day = date.fromisoformat(info.base_name[len(PARTITION_PREFIX) :])
            except ValueError:
                continue
            found.append(Partition(dataset, day, info.path))
        return sorted(found, key=lambda p: p.day)

    def files(self, partition_path: str) -> list[ArchiveFile]:
        """The visible Parquet files of a partition, smallest first."""
        selector = pafs.FileSelector(partition_path, allow_not_found=True)
        found = [
            ArchiveFile(info.path, int(info.size or 0))
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File and visible(info.base_name)
        ]
        return sorted(found, key=lambda f: (f.size, f.path))

    def hidden(self, partition_path: str, prefix: str) -> list[str]:
        selector = pafs.FileSelector(partition_path, allow_not_found=True)
        return sorted(
            info.path
            for info in self.fs.get_file_info(selector)
            if info.type == pafs.FileType.File and info.base_name.startswith(prefix)
        )

    def new_file_path(self, directory: str) -> str:
        return f"{directory}/part-{uuid.uuid4().hex}.parquet"

    def staging_path(self, final: str) -> str:
        """Where `final` is written before it appears (itself on an object store)."""
        if not self.renames:
            return final
        folder, _, name = final.rpartition("/")
        return f"{folder}/.{name}.tmp"

    def publish(self, staged: str, final: str) -> None:
        if staged != final:
            self.fs.move(staged, final)

    def write_table(self, directory: str, table: pa.Table) -> ArchiveFile:
        """Write `table` as one new Parquet file in `directory`; it appears only whole."""
        final = self.new_file_path(directory)
        staged = self.staging_path(final)
        self.fs.create_dir(directory, recursive=True)
        try:
            with self.fs.open_output_stream(staged) as sink:
                pq.write_table(table, sink, compression=COMPRESSION)
            self.publish(staged, final)
        except BaseException:
            self.discard(staged)
            raise
        return ArchiveFile(final, int(self.fs.get_file_info(final).size or 0))

    def discard(self, path: str) -> None:
        with contextlib.suppress(OSError):  # FileNotFoundError is an OSError
            self.fs.delete_file(path)


def visible(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def open_archive(url: str) -> ArchiveLocation:
    """The archive at `url`: a path (made absolute) or any URL pyarrow.fs knows."""
    if "://" not in url:
        path = Path(url).expanduser().resolve()
        return ArchiveLocation(pafs.LocalFileSystem(), path.as_posix())
    fs, root = pafs.FileSystem.from_uri(url)
    return ArchiveLocation(fs, root)


def day_numbers(table: pa.Table, column: str) -> np.ndarray:
    """Each row's UTC day (days since 1970-01-01) from a timestamp column."""
    ms = table.column(column).cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    return np.asarray(ms.to_numpy(), dtype=np.int64) // DAY_MS


def split_by_day(table: pa.Table, column: str) -> list[tuple[date, pa.Table]]:
    """The rows of each UTC date of `column`, oldest date first (rows keep their order)."""
    if table.num_rows == 0:
        return []
    days = day_numbers(table, column)
    first, last = int(days.min()), int(days.max())
    if first == last:
        return [(EPOCH + timedelta(days=first), table)]
    order = np.argsort(days, kind="stable")
    ordered = table.take(pa.array(order))
    sorted_days = days[order]
    unique, starts = np.unique(sorted_days, return_index=True)
    ends = np.append(starts[1:], len(sorted_days))
    return [
        (EPOCH + timedelta(days=int(d)), ordered.slice(int(s), int(e - s)))
        for d, s, e in zip(unique, starts, ends, strict=True)
    ]
