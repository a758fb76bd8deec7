"""Write, check and restore backups: the store and file I/O around backup/manifest.py.

Tables are streamed: read from the store batch by batch into a Parquet file
beside the output, hashed, added to the tar and deleted, so neither the events
table nor the archive is ever held in memory. The tar is written under a
temporary name and renamed when complete, so a backup file is never half-made.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from trafficcast import __version__
from trafficcast.backup.manifest import (
    ARCHIVE,
    CONFIG,
    MANIFEST,
    REGISTRY,
    BackupError,
    Manifest,
    Member,
    TableEntry,
    check_member_name,
    table_member,
    without_secret_state,
)
from trafficcast.backup.snapshot import ArchiveSnapshot
from trafficcast.store.base import STORE_TABLES, Store

BATCH_ROWS = 100_000
_CHUNK = 1 << 20

# (table, rows done, rows in all) after each batch
ProgressFn = Callable[[str, int, int], None]


def _no_progress(_table: str, _done: int, _total: int) -> None:
    return None


def store_kind(store: Store) -> str:
    return "postgresql" if type(store).__name__ == "PostgresStore" else "duckdb"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _add(tar: tarfile.TarFile, path: Path, name: str) -> Member:
    member = Member(name, path.stat().st_size, _sha256(path))
    info = tarfile.TarInfo(name)
    info.size = member.size
    info.mtime = int(path.stat().st_mtime)
    info.mode = 0o644
    with path.open("rb") as fh:
        tar.addfile(info, fh)
    return member


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> Member:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    info.mode = 0o644
    tar.addfile(info, _BytesReader(data))
    return Member(name, len(data), hashlib.sha256(data).hexdigest())


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._data, self._at = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self._data) if n < 0 else self._at + n
        chunk, self._at = self._data[self._at : end], min(end, len(self._data))
        return chunk


def _registry_files(root: Path) -> list[tuple[Path, str]]:
    """(file, member name) for every regular file under the registry folder."""
    if not root.is_dir():
        return []
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            raise BackupError(f"the model registry holds a symbolic link, not backed up: {path}")
        if path.is_file():
            found.append((path, check_member_name(REGISTRY + path.relative_to(root).as_posix())))
    return found


def write_backup(
    store: Store,
    registry: Path,
    config: dict[str, Any],
    output: Path,
    *,
    batch_rows: int = BATCH_ROWS,
    progress: ProgressFn = _no_progress,
    archive: ArchiveSnapshot | None = None,
) -> Manifest:
    """Back up every store table, the registry folder and the (redacted) config into output,
    with the archive's file list when there is one (backup/snapshot.py)."""
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    members: list[Member] = []
    tables: list[TableEntry] = []
    try:
        with (
            tempfile.TemporaryDirectory(dir=output.parent, prefix=".backup-") as staging,
            tarfile.open(partial, "w", format=tarfile.PAX_FORMAT) as tar,
        ):
            for table in STORE_TABLES:
                path = Path(staging) / f"{table}.parquet"
                total = store.count_rows(table)
                rows = 0
                progress(table, 0, total)
                writer: pq.ParquetWriter | None = None
                try:
                    for batch in store.read_table(table, batch_rows):
                        if table == "processor_state":
                            batch = without_secret_state(batch)
                        if writer is None:
                            writer = pq.ParquetWriter(path, batch.schema, compression="zstd")
                        writer.write_batch(batch)
                        rows += batch.num_rows
                        progress(table, rows, max(total, rows))
                finally:
                    if writer is not None:
                        writer.close()
                progress(table, rows, rows)
                members.append(_add(tar, path, table_member(table)))
                tables.append(TableEntry(table, rows, table_member(table)))
                path.unlink()
            for path, name in _registry_files(registry):
                members.append(_add(tar, path, name))
            members.append(_add_bytes(tar, CONFIG, json.dumps(config, indent=2).encode()))
            if archive is not None:
                members.append(_add_bytes(tar, ARCHIVE, archive.to_json()))
            manifest = Manifest(
                trafficcast_version=__version__,
                created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                store_kind=store_kind(store),
                schema_revision=store.schema_revision(),
                tables=tuple(tables),
                members=tuple(members),
            )
            _add_bytes(tar, MANIFEST, manifest.to_json())
        os.replace(partial, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return manifest


@dataclass
class Backup:
    """An opened, fully checked backup (BackupError from open_backup otherwise)."""

    path: Path
    manifest: Manifest
    config: dict[str, Any]
    archive: ArchiveSnapshot | None  # the archive's file list; None: no archive then
    _tar: tarfile.TarFile = field(repr=False)

    @contextlib.contextmanager
    def open_member(self, name: str) -> Iterator[IO[bytes]]:
        fh = self._tar.extractfile(name)
        if fh is None:
            raise BackupError(f"member {name!r} is not a file")
        with fh:
            yield fh

    def close(self) -> None:
        self._tar.close()


@contextlib.contextmanager
def open_backup(path: Path) -> Iterator[Backup]:
    """Open a backup and check every member against the manifest before anything is used."""
    if not path.is_file():
        raise BackupError(f"no backup file at {path}")
    try:
        tar = tarfile.open(path, "r:")  # noqa: SIM115 - closed below, after the checks
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(
            f"{path} is not a readable backup (truncated or not a tar): {exc}"
        ) from exc
    try:
        backup = _checked(path, tar)
        yield backup
    finally:
        tar.close()


def _checked(path: Path, tar: tarfile.TarFile) -> Backup:
    try:
        entries = tar.getmembers()  # reads the whole archive: a truncated one fails here
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"{path} is truncated or damaged: {exc}") from exc
    found: dict[str, tarfile.TarInfo] = {}
    for entry in entries:
        check_member_name(entry.name)
        if not entry.isreg():
            raise BackupError(f"member {entry.name!r} is not a regular file (refused)")
        if entry.name in found:
            raise BackupError(f"member {entry.name!r} appears twice in the backup")
        found[entry.name] = entry
    if MANIFEST not in found:
        raise BackupError(f"{path} has no {MANIFEST}: truncated, or not a trafficcast backup")
    manifest = Manifest.from_json(_read_all(tar, found[MANIFEST]))
    listed = {m.name for m in manifest.members}
    extra = sorted(set(found) - listed - {MANIFEST})
    if extra:
        raise BackupError(f"member {extra[0]!r} is not listed in the manifest (refused)")
    for member in manifest.members:
        if member.name not in found:
            raise BackupError(f"member {member.name!r} is missing from the backup")
        digest = hashlib.sha256()
        fh = tar.extractfile(found[member.name])
        assert fh is not None
        size = 0
        try:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BackupError(f"member {member.name!r} is truncated: {exc}") from exc
        if size != member.size or digest.hexdigest() != member.sha256:
            raise BackupError(
                f"member {member.name!r} does not match its checksum in the manifest "
                "(damaged or altered): nothing was restored"
            )
    config = json.loads(_read_all(tar, found[CONFIG])) if CONFIG in found else {}
    archive = (
        ArchiveSnapshot.from_json(_read_all(tar, found[ARCHIVE])) if ARCHIVE in found else None
    )
    return Backup(path, manifest, config, archive, tar)


def _read_all(tar: tarfile.TarFile, entry: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(entry)
    assert fh is not None
    try:
        return fh.read()
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise BackupError(f"member {entry.name!r} is truncated: {exc}") from exc


def occupied_tables(store: Store) -> dict[str, int]:
    """Tables that hold rows, with their counts."""
    counts = {t: store.count_rows(t) for t in STORE_TABLES}
    return {t: n for t, n in counts.items() if n}


def check_target(
    manifest: Manifest,
    store: Store,
    registry: Path,
    *,
    force: bool = False,
    revision: str | None = None,
) -> None:
    """BackupError unless the backup can be restored into this store and registry: the same
    store kind and schema revision, and an empty target unless `force`. `revision`: the
    one the store will have, for a store whose schema is not made yet (its tables are
    then not counted: there are none)."""
    kind = store_kind(store)
    if manifest.store_kind != kind:
        raise BackupError(
            f"the backup is of a {manifest.store_kind} store; this store is {kind}: "
            "their tables are laid out differently, restore into a store of the same kind"
        )
    made = revision is None
    revision = revision or store.schema_revision()
    if manifest.schema_revision != revision:
        raise BackupError(
            f"the backup's schema revision is {manifest.schema_revision}, this store's is "
            f"{revision}: restore with the trafficcast version that made it"
        )
    occupied = occupied_tables(store) if made else {}
    registry_files = [p for p in registry.rglob("*") if p.is_file()] if registry.is_dir() else []
    if (occupied or registry_files) and not force:
        what = [f"{t} ({n:,} rows)" for t, n in occupied.items()]
        if registry_files:
            what.append(f"model registry {registry} ({len(registry_files)} files)")
        raise BackupError(
            "the target is not empty: " + ", ".join(what) + "; pass --force to replace it"
        )


def restore_backup(
    backup: Backup,
    store: Store,
    registry: Path,
    *,
    force: bool = False,
    batch_rows: int = BATCH_ROWS,
    progress: ProgressFn = _no_progress,
) -> None:
    """Restore a checked backup into a store with its schema made, and the registry folder."""
    manifest = backup.manifest
    check_target(manifest, store, registry, force=force)
    with store.transaction():
        if force:
            for table in STORE_TABLES:
                store.delete_rows(table)
        for entry in manifest.tables:
            progress(entry.name, 0, entry.rows)
            done = 0
            with backup.open_member(entry.member) as fh:
                parquet = pq.ParquetFile(fh)
                for batch in parquet.iter_batches(batch_size=batch_rows):
                    if batch.num_rows:
                        store.append_rows(entry.name, batch)
                    done += batch.num_rows
                    progress(entry.name, done, entry.rows)
            if done != entry.rows:
                raise BackupError(
                    f"table {entry.name}: {done} rows read, manifest says {entry.rows}"
                )
    _restore_registry(backup, registry)


def _restore_registry(backup: Backup, registry: Path) -> None:
    """Write the registry files into a new folder beside the target, then swap it in."""
    names = [m.name for m in backup.manifest.members if m.name.startswith(REGISTRY)]
    registry = registry.resolve()
    registry.parent.mkdir(parents=True, exist_ok=True)
    fresh = Path(tempfile.mkdtemp(dir=registry.parent, prefix=f".{registry.name}-restoring-"))
    try:
        for name in names:
            target = (fresh / check_member_name(name).removeprefix(REGISTRY)).resolve()
            if not target.is_relative_to(fresh.resolve()):  # check_member_name already refuses
                raise BackupError(f"unsafe member path {name!r} in the backup (refused)")
            target.parent.mkdir(parents=True, exist_ok=True)
            with backup.open_member(name) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst, _CHUNK)
        if registry.exists():
            old = registry.with_name(f".{registry.name}-replaced")
            shutil.rmtree(old, ignore_errors=True)
            registry.rename(old)
            shutil.rmtree(old)
        fresh.rename(registry)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)


def read_table_member(backup: Backup, table: str) -> pa.Table:
    """One backed-up table whole (for small tables and tests)."""
    with backup.open_member(table_member(table)) as fh:
        return pq.read_table(fh)
