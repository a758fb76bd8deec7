"""The archive snapshot list in a backup (`archive.json`), without I/O.

The Parquet archive is not copied into a backup: it is large and lives on durable
storage of its own. A backup records instead which archive files existed when it was
made (dataset, day, path under the archive root, size, rows from the Parquet footer),
so whoever restores it can see what history the restored store goes with and what has
changed since. `compare` sets a snapshot against the archive as it is now:

- unchanged: the same path with the same size (and rows);
- changed: the same path with another size or row count;
- missing / added: paths only in the snapshot / only now;
- compacted: a partition whose files were replaced by others holding the same total
  rows. Compaction writes new `part-<uuid>.parquet` files and deletes its inputs, so
  by path alone it looks like files lost and files added; equal row totals per
  partition say nothing was lost.

A file whose footer could not be read when the backup was made is recorded with
`rows` null and its `error`; it can be unchanged or missing, never part of a
compaction (its rows are not known).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from trafficcast.backup.manifest import ARCHIVE, BackupError

SNAPSHOT_FORMAT = "trafficcast-archive-list"
SNAPSHOT_VERSION = 1
# Files named one by one in a report; beyond, a count.
REPORT_LIMIT = 20


@dataclass(frozen=True)
class SnapshotFile:
    dataset: str
    day: str  # the partition's date, YYYY-MM-DD
    path: str  # relative to the archive root: events/date=2026-01-05/part-….parquet
    size: int
    rows: int | None  # None: the footer could not be read (see error)
    error: str | None = None

    @property
    def partition(self) -> tuple[str, str]:
        return (self.dataset, self.day)


@dataclass(frozen=True)
class ArchiveSnapshot:
    url: str  # redacted: no password
    taken_at: str
    files: tuple[SnapshotFile, ...]

    @property
    def rows(self) -> int:
        return sum(f.rows or 0 for f in self.files)

    @property
    def unreadable(self) -> tuple[SnapshotFile, ...]:
        return tuple(f for f in self.files if f.rows is None)

    def to_json(self) -> bytes:
        body = {
            "format": SNAPSHOT_FORMAT,
            "format_version": SNAPSHOT_VERSION,
            "url": self.url,
            "taken_at": self.taken_at,
            "files": [
                {
                    "dataset": f.dataset,
                    "day": f.day,
                    "path": f.path,
                    "size": f.size,
                    "rows": f.rows,
                    **({"error": f.error} if f.error is not None else {}),
                }
                for f in self.files
            ],
        }
        return json.dumps(body, indent=1).encode()

    @classmethod
    def from_json(cls, data: bytes) -> ArchiveSnapshot:
        """Parse and check `archive.json`; BackupError naming the first bad field."""
        try:
            body = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"{ARCHIVE} is not JSON: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != SNAPSHOT_FORMAT:
            raise BackupError(f"{ARCHIVE} is not a trafficcast archive list (field 'format')")
        if body.get("format_version") != SNAPSHOT_VERSION:
            raise BackupError(
                f"{ARCHIVE}: format_version {body.get('format_version')!r} is not supported "
                f"(this trafficcast reads version {SNAPSHOT_VERSION})"
            )
        url = _field(body, "url", str, ARCHIVE)
        taken_at = _field(body, "taken_at", str, ARCHIVE)
        entries = _field(body, "files", list, ARCHIVE)
        files = []
        seen: set[str] = set()
        for i, entry in enumerate(entries):
            where = f"{ARCHIVE}: files[{i}]"
            if not isinstance(entry, dict):
                raise BackupError(f"{where} is not an object")
            dataset = _field(entry, "dataset", str, where)
            day = _field(entry, "day", str, where)
            try:
                date.fromisoformat(day)
            except ValueError:
                raise BackupError(f"{where}.day {day!r} is not a date (YYYY-MM-DD)") from None
            path = _field(entry, "path", str, where)
            if not path or path.startswith("/") or ".." in path.split("/"):
                raise BackupError(f"{where}.path {path!r} is not a path under the archive root")
            if path in seen:
                raise BackupError(f"{where}.path {path!r} is listed twice")
            seen.add(path)
            size = _field(entry, "size", int, where)
            rows = entry.get("rows")
            if rows is not None and (
                not isinstance(rows, int) or isinstance(rows, bool) or rows < 0
            ):
                raise BackupError(f"{where}.rows must be a whole number or null, not {rows!r}")
            if size < 0:
                raise BackupError(f"{where}.size must not be negative")
            error = entry.get("error")
            if error is not None and not isinstance(error, str):
                raise BackupError(f"{where}.error must be text or absent")
            files.append(SnapshotFile(dataset, day, path, size, rows, error))
        return cls(url, taken_at, tuple(files))


def _field(body: dict[str, Any], name: str, kind: type, where: str) -> Any:
    if name not in body:
        raise BackupError(f"{where}: field {name!r} is missing")
    value = body[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BackupError(
            f"{where}.{name} must be {'a whole number' if kind is int else kind.__name__}, "
            f"not {value!r}"
        )
    return value


@dataclass(frozen=True)
class Compaction:
    dataset: str
    day: str
    files_before: int  # the snapshot's files that are gone
    files_after: int  # the files that replaced them
    rows: int  # rows in the partition, before and after


@dataclass(frozen=True)
class ArchiveComparison:
    unchanged: tuple[SnapshotFile, ...]
    missing: tuple[SnapshotFile, ...]
    changed: tuple[tuple[SnapshotFile, SnapshotFile], ...]  # (in the snapshot, now)
    added: tuple[SnapshotFile, ...]
    compacted: tuple[Compaction, ...]

    @property
    def same(self) -> bool:
        return not (self.missing or self.changed or self.added or self.compacted)


def compare(before: Sequence[SnapshotFile], after: Sequence[SnapshotFile]) -> ArchiveComparison:
    """The archive now (`after`) against a snapshot (`before`), partition by partition."""
    parts: dict[tuple[str, str], tuple[list[SnapshotFile], list[SnapshotFile]]] = defaultdict(
        lambda: ([], [])
    )
    for f in before:
        parts[f.partition][0].append(f)
    for f in after:
        parts[f.partition][1].append(f)
    unchanged: list[SnapshotFile] = []
    missing: list[SnapshotFile] = []
    changed: list[tuple[SnapshotFile, SnapshotFile]] = []
    added: list[SnapshotFile] = []
    compacted: list[Compaction] = []
    for key in sorted(parts):
        old, new = parts[key]
        now = {f.path: f for f in new}
        then = {f.path: f for f in old}
        for f in old:
            if f.path in now:
                g = now[f.path]
                same_rows = f.rows is None or g.rows is None or f.rows == g.rows
                if f.size == g.size and same_rows:
                    unchanged.append(f)
                else:
                    changed.append((f, g))
        gone = [f for f in old if f.path not in now]
        fresh = [f for f in new if f.path not in then]
        if gone and fresh and _known(old) and _known(new) and _total(old) == _total(new):
            compacted.append(Compaction(key[0], key[1], len(gone), len(fresh), _total(new)))
        else:
            missing.extend(gone)
            added.extend(fresh)
    return ArchiveComparison(
        tuple(unchanged), tuple(missing), tuple(changed), tuple(added), tuple(compacted)
    )


def _known(files: Iterable[SnapshotFile]) -> bool:
    return all(f.rows is not None for f in files)


def _total(files: Iterable[SnapshotFile]) -> int:
    return sum(f.rows or 0 for f in files)


def _rows(n: int | None) -> str:
    return "rows unknown" if n is None else f"{n:,} rows"


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def report(
    snapshot: ArchiveSnapshot,
    after: Sequence[SnapshotFile],
    comparison: ArchiveComparison,
    limit: int = REPORT_LIMIT,
) -> list[str]:
    """Lines for an operator: what of the backup's archive list is there now, and what not."""
    c = comparison
    lines = [
        f"archive: the backup lists {_plural(len(snapshot.files), 'file')} "
        f"({snapshot.rows:,} rows) at {snapshot.url}, taken {snapshot.taken_at}; "
        f"now {_plural(len(after), 'file')} ({_total(after):,} rows)"
    ]
    if c.same:
        lines.append("  the archive is as the backup lists it: every file present and unchanged")
        return lines
    lines.append(f"  present and unchanged: {_plural(len(c.unchanged), 'file')}")
    if c.missing:
        lines.append(
            f"  MISSING since the backup: {_plural(len(c.missing), 'file')} "
            f"({_total(c.missing):,} rows known); the archive no longer holds their rows:"
        )
        present_days = {f.partition for f in after}
        for f in c.missing[:limit]:
            whole = "" if f.partition in present_days else " (whole day gone: retention?)"
            lines.append(f"    {f.path} ({f.size:,} bytes, {_rows(f.rows)}){whole}")
        if len(c.missing) > limit:
            lines.append(f"    … and {len(c.missing) - limit:,} more")
    if c.changed:
        lines.append(f"  CHANGED in size or rows: {_plural(len(c.changed), 'file')}:")
        for old, new in c.changed[:limit]:
            lines.append(
                f"    {old.path}: {old.size:,} -> {new.size:,} bytes, "
                f"{_rows(old.rows)} -> {_rows(new.rows)}"
            )
        if len(c.changed) > limit:
            lines.append(f"    … and {len(c.changed) - limit:,} more")
    for k in c.compacted:
        lines.append(
            f"  compacted: {k.dataset}/date={k.day}: {_plural(k.files_before, 'file')} "
            f"replaced by {_plural(k.files_after, 'file')}, {k.rows:,} rows before and after "
            "(compaction renames files; nothing lost)"
        )
    if c.added:
        by_partition: dict[tuple[str, str], list[SnapshotFile]] = defaultdict(list)
        for f in c.added:
            by_partition[f.partition].append(f)
        listed_days = {f.partition for f in snapshot.files}
        lines.append(
            f"  added since the backup: {_plural(len(c.added), 'file')} "
            f"({_total(c.added):,} rows) in {_plural(len(by_partition), 'partition')}:"
        )
        for (dataset, day), files in list(by_partition.items())[:limit]:
            new_day = " (new day)" if (dataset, day) not in listed_days else ""
            lines.append(
                f"    {dataset}/date={day}: {_plural(len(files), 'file')}, "
                f"{_total(files):,} rows{new_day}"
            )
        if len(by_partition) > limit:
            lines.append(f"    … and {len(by_partition) - limit:,} more partitions")
    return lines
