"""The backup format, without I/O: the manifest, member names, redaction, differences.

A backup is one uncompressed tar (its members are compressed already):

    tables/<table>.parquet    every row of one store table (zstd)
    registry/<path>           every file of the model registry folder
    config.json               the effective settings, secrets redacted
    archive.json              the Parquet archive's file list (when one is configured;
                              the archive itself is not copied: backup/snapshot.py)
    manifest.json             what the rest is; written last, read first

The manifest names every other member with its size and SHA-256, so restore
checks the whole archive before it writes anything. Member names are checked
here (no absolute paths, no `..`, only the folders above): restore never
trusts a name from the archive to say where a file goes.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.store.base import STORE_TABLES

FORMAT = "trafficcast-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CONFIG = "config.json"
ARCHIVE = "archive.json"
TABLES = "tables/"
REGISTRY = "registry/"
REDACTED = "<redacted>"

# Settings that are secrets whatever their value; URLs lose their passwords too.
SECRET_SETTINGS = frozenset({"jwt_secret", "webhook_secret", "smtp_password"})
# processor_state rows that hold secrets (the JWT key made when none is configured):
# left out, so a restored system makes a new key and users sign in again.
SECRET_STATE_KEYS = frozenset({"auth.jwt_secret"})
_SHA256 = re.compile(r"[0-9a-f]{64}")


class BackupError(Exception):
    """A backup that cannot be written, read or restored; the message says why."""


@dataclass(frozen=True)
class Member:
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class TableEntry:
    name: str
    rows: int
    member: str


@dataclass(frozen=True)
class Manifest:
    trafficcast_version: str
    created_at: str
    store_kind: str  # "duckdb" or "postgresql"
    schema_revision: str
    tables: tuple[TableEntry, ...]
    members: tuple[Member, ...]
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def member(self, name: str) -> Member:
        for m in self.members:
            if m.name == name:
                return m
        raise BackupError(f"manifest lists no member {name!r}")

    def to_json(self) -> bytes:
        body = asdict(self)
        return json.dumps(body, indent=2, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        """Parse and check a manifest; BackupError naming the first problem."""
        try:
            body = json.loads(data)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BackupError(f"{MANIFEST} is not JSON: {exc}") from exc
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            raise BackupError(f"{MANIFEST} is not a trafficcast backup manifest")
        version = body.get("format_version")
        if version != FORMAT_VERSION:
            raise BackupError(
                f"backup format version {version!r} is not supported "
                f"(this trafficcast reads version {FORMAT_VERSION})"
            )
        try:
            members = tuple(
                Member(str(m["name"]), int(m["size"]), str(m["sha256"])) for m in body["members"]
            )
            tables = tuple(
                TableEntry(str(t["name"]), int(t["rows"]), str(t["member"])) for t in body["tables"]
            )
            manifest = cls(
                trafficcast_version=str(body["trafficcast_version"]),
                created_at=str(body["created_at"]),
                store_kind=str(body["store_kind"]),
                schema_revision=str(body["schema_revision"]),
                tables=tables,
                members=members,
                extra=dict(body.get("extra") or {}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise BackupError(f"{MANIFEST} is incomplete or malformed: {exc!r}") from exc
        manifest.check()
        return manifest

    def check(self) -> None:
        names = [m.name for m in self.members]
        if len(names) != len(set(names)):
            raise BackupError(f"{MANIFEST} lists a member twice")
        for m in self.members:
            check_member_name(m.name)
            if m.name == MANIFEST:
                raise BackupError(f"{MANIFEST} lists itself")
            if not _SHA256.fullmatch(m.sha256) or m.size < 0:
                raise BackupError(f"{MANIFEST}: bad checksum or size for {m.name!r}")
        if self.store_kind not in ("duckdb", "postgresql"):
            raise BackupError(f"{MANIFEST}: unknown store kind {self.store_kind!r}")
        for t in self.tables:
            if t.name not in STORE_TABLES:
                raise BackupError(f"{MANIFEST} names an unknown table {t.name!r}")
            if t.member != table_member(t.name) or t.member not in names:
                raise BackupError(f"{MANIFEST}: table {t.name} has no member {t.member!r}")


def table_member(table: str) -> str:
    return f"{TABLES}{table}.parquet"


def check_member_name(name: str) -> str:
    """The name if it is a plain relative path under a known folder; else BackupError."""
    parts = name.split("/")
    if (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or any(p in ("", ".", "..") for p in parts)
    ):
        raise BackupError(f"unsafe member path {name!r} in the backup (refused)")
    if name not in (MANIFEST, CONFIG, ARCHIVE) and not (
        (name.startswith(TABLES) and len(parts) == 2)
        or (name.startswith(REGISTRY) and len(parts) >= 2)
    ):
        raise BackupError(f"unexpected member {name!r} in the backup (refused)")
    return name


def redact_url(url: str) -> str:
    """The URL without its password (user names and hosts are kept)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    netloc = f"{parts.username or ''}:{REDACTED}@{host}"
    return urlunsplit(parts._replace(netloc=netloc))


def redact_settings(values: dict[str, Any]) -> dict[str, Any]:
    """Settings as JSON values with every secret replaced: safe to write into a backup."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key in SECRET_SETTINGS or key.endswith(("_secret", "_password")):
            out[key] = REDACTED if value else ""
        elif isinstance(value, str) and "://" in value:
            out[key] = redact_url(value)
        else:
            out[key] = value
    return out


def config_differences(backed_up: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """One line per setting that differs: `name: backup value -> current value`."""
    lines = []
    for key in sorted(set(backed_up) | set(current)):
        old, new = backed_up.get(key, "<unset>"), current.get(key, "<unset>")
        if old != new:
            lines.append(f"{key}: {json.dumps(old)} -> {json.dumps(new)}")
    return lines


def without_secret_state(batch: pa.RecordBatch) -> pa.RecordBatch:
    """processor_state rows without the secret ones."""
    keys = batch.column(batch.schema.get_field_index("key"))
    keep = pc.invert(pc.is_in(keys, pa.array(sorted(SECRET_STATE_KEYS), keys.type)))
    return batch.filter(pc.fill_null(keep, True))
