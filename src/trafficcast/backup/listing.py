"""List the Parquet archive for a backup's `archive.json` (the I/O around backup/snapshot.py).

Only names, sizes and Parquet footers are read (one small read per file), never the
data. A missing archive folder lists no files. A file whose footer cannot be read
(damaged, or not Parquet) is recorded with its error rather than failing the backup:
the backup's job is the store; the list says which archive file needs looking at.
A file deleted while being listed (compaction, retention) is left out. An archive
that cannot be listed at all (storage unreachable) is a BackupError.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.parquet as pq

from trafficcast.archive.location import DATASETS, ArchiveFile, ArchiveLocation, open_archive
from trafficcast.backup.manifest import REDACTED, BackupError, redact_url
from trafficcast.backup.snapshot import ArchiveSnapshot, SnapshotFile


def open_location(url: str) -> ArchiveLocation:
    try:
        return open_archive(url)
    except (OSError, ValueError, pa.ArrowException) as exc:
        # pyarrow's messages repeat the URL, password and all.
        message = str(exc).replace(url, redact_url(url))
        password = _password(url)
        if password:
            message = message.replace(password, REDACTED)
        raise BackupError(f"cannot open the archive {redact_url(url)}: {message}") from None


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def list_archive(
    location: ArchiveLocation, known: Mapping[str, SnapshotFile] | None = None
) -> list[SnapshotFile]:
    """Every visible Parquet file of every dataset. A file in `known` (by relative path)
    with the same size keeps its known row count: its footer is not read again."""
    known = known or {}
    found = []
    try:
        for dataset in DATASETS:
            for partition in location.partitions(dataset):
                day = partition.day.isoformat()
                for file in location.files(partition.path):
                    path = _relative(location, file.path)
                    before = known.get(path)
                    if before is not None and before.size == file.size and before.rows is not None:
                        found.append(SnapshotFile(dataset, day, path, file.size, before.rows))
                        continue
                    entry = _read(location, dataset, day, path, file)
                    if entry is not None:
                        found.append(entry)
    except (OSError, pa.ArrowException) as exc:
        raise BackupError(f"cannot list the archive at {location.root}: {exc}") from exc
    return sorted(found, key=lambda f: (f.dataset, f.day, f.path))


def _relative(location: ArchiveLocation, path: str) -> str:
    prefix = location.root + "/"
    return path[len(prefix) :] if path.startswith(prefix) else path


def _read(
    location: ArchiveLocation, dataset: str, day: str, path: str, file: ArchiveFile
) -> SnapshotFile | None:
    try:
        with location.fs.open_input_file(file.path) as source:
            rows = int(pq.read_metadata(source).num_rows)
    except FileNotFoundError:
        return None  # deleted since it was listed
    except (OSError, pa.ArrowException) as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return SnapshotFile(dataset, day, path, file.size, None, message)
    return SnapshotFile(dataset, day, path, file.size, rows)


def take_snapshot(url: str) -> ArchiveSnapshot:
    """The archive at `url` as a snapshot list for a backup (the URL without its password)."""
    files = list_archive(open_location(url))
    taken = datetime.now(UTC).isoformat(timespec="seconds")
    return ArchiveSnapshot(redact_url(url), taken, tuple(files))


def current_files(url: str, snapshot: ArchiveSnapshot) -> list[SnapshotFile]:
    """The archive at `url` now; footers are read only for files the snapshot does not
    already know with the same size."""
    return list_archive(open_location(url), {f.path: f for f in snapshot.files})
