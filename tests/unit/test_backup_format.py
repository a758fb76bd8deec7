"""The backup format: manifest checks, member names, redaction, and hostile archives.

Archives are made by write_backup from a real DuckDB store, then altered the way a
damaged disk or an attacker would; open_backup must refuse each before restore
writes anything.
"""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from trafficcast.backup.archive import open_backup, restore_backup, write_backup
from trafficcast.backup.manifest import (
    FORMAT_VERSION,
    REDACTED,
    BackupError,
    Manifest,
    check_member_name,
    config_differences,
    redact_settings,
    redact_url,
    without_secret_state,
)
from trafficcast.cli import app
from trafficcast.config import Settings
from trafficcast.store.duckdb_store import DuckDBStore

SEGMENT = {
    "segment_id": "s1",
    "name": "Main St",
    "road": "I-5",
    "direction": "N",
    "latitude": 34.0,
    "longitude": -118.0,
    "free_flow_speed": 65.0,
    "length_miles": 0.5,
    "lanes": 3,
    "geometry": None,
}


@pytest.fixture
def backup_file(tmp_path: Path) -> Path:
    store = DuckDBStore(tmp_path / "src.duckdb")
    store.init_schema()
    store.upsert_segments(pa.Table.from_pylist([SEGMENT]))
    store.set_state("k", "v")
    store.set_state("auth.jwt_secret", "s" * 48)
    registry = tmp_path / "models"
    (registry / "gbm-1").mkdir(parents=True)
    (registry / "gbm-1" / "weights.bin").write_bytes(b"\x00\x01weights")
    (registry / "active.json").write_text('{"version": "gbm-1"}')
    out = tmp_path / "backup.tar"
    write_backup(store, registry, {"log_level": "INFO"}, out, batch_rows=1)
    store.close()
    return out


def rewrite(
    source: Path, target: Path, change: Callable[[str, bytes], tuple[str, bytes] | None]
) -> Path:
    """Copy a tar member by member through change(name, data) -> (name, data) or None (drop)."""
    with tarfile.open(source) as src, tarfile.open(target, "w") as dst:
        for entry in src.getmembers():
            data = src.extractfile(entry).read()  # type: ignore[union-attr]
            changed = change(entry.name, data)
            if changed is None:
                continue
            info = tarfile.TarInfo(changed[0])
            info.size = len(changed[1])
            dst.addfile(info, io.BytesIO(changed[1]))
    return target


def edit_manifest(edit: Callable[[dict], None]) -> Callable[[str, bytes], tuple[str, bytes]]:
    def change(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "manifest.json":
            body = json.loads(data)
            edit(body)
            data = json.dumps(body).encode()
        return name, data

    return change


def refused(path: Path, match: str) -> None:
    with pytest.raises(BackupError, match=match), open_backup(path):
        pass


def test_a_good_backup_opens_and_lists_every_member(backup_file: Path) -> None:
    with open_backup(backup_file) as backup:
        m = backup.manifest
        assert m.store_kind == "duckdb"
        assert m.schema_revision.startswith("duckdb-")
        rows = {t.name: t.rows for t in m.tables}
        assert rows["segments"] == 1
        assert rows["processor_state"] == 1  # the stored JWT key is left out
        names = {x.name for x in m.members}
        assert {"registry/gbm-1/weights.bin", "registry/active.json", "config.json"} <= names
        assert backup.config == {"log_level": "INFO"}
    assert b"s" * 48 not in backup_file.read_bytes()


def test_a_tampered_member_is_refused_by_name(backup_file: Path, tmp_path: Path) -> None:
    def flip(name: str, data: bytes) -> tuple[str, bytes]:
        return name, (b"\x00\x02weights" if name == "registry/gbm-1/weights.bin" else data)

    refused(
        rewrite(backup_file, tmp_path / "t.tar", flip),
        r"'registry/gbm-1/weights.bin' does not match",
    )


def test_a_missing_member_is_refused(backup_file: Path, tmp_path: Path) -> None:
    def drop(name: str, data: bytes) -> tuple[str, bytes] | None:
        return None if name == "tables/events.parquet" else (name, data)

    refused(rewrite(backup_file, tmp_path / "m.tar", drop), r"'tables/events.parquet' is missing")


def test_a_member_not_in_the_manifest_is_refused(backup_file: Path, tmp_path: Path) -> None:
    added = {"done": False}

    def add(name: str, data: bytes) -> tuple[str, bytes]:
        if name == "registry/active.json" and not added["done"]:
            added["done"] = True
            return "registry/extra.json", data
        return name, data

    refused(rewrite(backup_file, tmp_path / "x.tar", add), "not listed in the manifest")


def test_another_format_version_is_refused(backup_file: Path, tmp_path: Path) -> None:
    def newer(body: dict) -> None:
        body["format_version"] = FORMAT_VERSION + 1

    refused(
        rewrite(backup_file, tmp_path / "v.tar", edit_manifest(newer)),
        "format version 2 is not supported",
    )


def test_an_unknown_table_in_the_manifest_is_refused(backup_file: Path, tmp_path: Path) -> None:
    def unknown(body: dict) -> None:
        body["tables"].append(
            {"name": "pg_authid", "rows": 1, "member": "tables/pg_authid.parquet"}
        )

    refused(
        rewrite(backup_file, tmp_path / "u.tar", edit_manifest(unknown)),
        "unknown table 'pg_authid'",
    )


@pytest.mark.parametrize(
    "bad",
    [
        "registry/../../etc/cron.d/x",
        "/etc/passwd",
        "registry/a/../../b",
        "tables/x/y.parquet",
        "other.txt",
        "registry\\..\\x",
    ],
)
def test_unsafe_member_paths_are_refused(backup_file: Path, tmp_path: Path, bad: str) -> None:
    def traverse(name: str, data: bytes) -> tuple[str, bytes]:
        return (bad, data) if name == "registry/active.json" else (name, data)

    target = tmp_path / "p.tar"
    rewrite(backup_file, target, traverse)
    with tarfile.open(target) as tar:
        assert bad in tar.getnames() or bad.lstrip("/") in tar.getnames()
    with pytest.raises(BackupError, match="refused"), open_backup(target):
        pass
    assert not (tmp_path / "etc").exists()


def test_a_traversing_path_listed_in_the_manifest_is_refused() -> None:
    body = {
        "format": "trafficcast-backup",
        "format_version": FORMAT_VERSION,
        "trafficcast_version": "0.1.0",
        "created_at": "2026-01-01T00:00:00+00:00",
        "store_kind": "duckdb",
        "schema_revision": "x",
        "tables": [],
        "members": [{"name": "registry/../x", "size": 1, "sha256": "0" * 64}],
    }
    with pytest.raises(BackupError, match=r"unsafe member path 'registry/../x'"):
        Manifest.from_json(json.dumps(body).encode())


def test_a_truncated_archive_is_refused(backup_file: Path, tmp_path: Path) -> None:
    data = backup_file.read_bytes()
    with tarfile.open(backup_file) as tar:
        manifest = tar.getmember("manifest.json")
        weights = tar.getmember("registry/gbm-1/weights.bin")
    # Inside the manifest, inside a registry file, within the tables, inside the first header.
    inside = [manifest.offset_data + manifest.size // 2, weights.offset_data + 4]
    for cut in (*inside, len(data) // 3, 100):
        target = tmp_path / f"cut-{cut}.tar"
        target.write_bytes(data[:cut])
        refused(target, "truncated|no manifest.json|not a readable backup")


def test_a_missing_or_foreign_file_is_refused(tmp_path: Path) -> None:
    refused(tmp_path / "nothing.tar", "no backup file")
    (tmp_path / "notes.txt").write_text("hello")
    refused(tmp_path / "notes.txt", "not a readable backup")


def test_restore_refuses_a_store_of_the_other_kind_or_schema(
    backup_file: Path, tmp_path: Path
) -> None:
    def other(body: dict) -> None:
        body["schema_revision"] = "duckdb-000000000000"

    target = rewrite(backup_file, tmp_path / "s.tar", edit_manifest(other))
    store = DuckDBStore(tmp_path / "dst.duckdb")
    store.init_schema()
    with open_backup(target) as backup, pytest.raises(BackupError, match="schema revision"):
        restore_backup(backup, store, tmp_path / "models")
    assert store.count_rows("segments") == 0
    store.close()


def test_member_names() -> None:
    assert check_member_name("registry/gbm-1/model.json") == "registry/gbm-1/model.json"
    assert check_member_name("tables/events.parquet") == "tables/events.parquet"
    for bad in ("", "registry/", "registry//x", "./manifest.json", "tables/../x", "a\x00b"):
        with pytest.raises(BackupError):
            check_member_name(bad)


def test_secrets_are_redacted_and_urls_lose_their_passwords() -> None:
    settings = Settings(
        database_url="postgresql://app:hunter2@db:5432/traffic",
        jwt_secret="j" * 40,
        webhook_secret="w" * 20,
        smtp_password="p" * 10,
        redis_url="redis://:r3dis@cache:6379/0",
    )
    redacted = redact_settings(settings.model_dump(mode="json"))
    text = json.dumps(redacted)
    for secret in ("hunter2", "j" * 40, "w" * 20, "p" * 10, "r3dis"):
        assert secret not in text
    assert redacted["jwt_secret"] == REDACTED
    assert redacted["database_url"] == f"postgresql://app:{REDACTED}@db:5432/traffic"
    assert redacted["access_token_minutes"] == settings.access_token_minutes
    assert redact_url("http://example.com/x") == "http://example.com/x"
    assert redact_settings({"smtp_password": ""}) == {"smtp_password": ""}


def test_config_differences_name_each_changed_setting() -> None:
    assert config_differences({"a": 1, "b": "x"}, {"a": 1, "b": "y", "c": True}) == [
        'b: "x" -> "y"',
        'c: "<unset>" -> true',
    ]
    assert config_differences({"a": 1}, {"a": 1}) == []


def test_secret_state_rows_are_dropped() -> None:
    batch = pa.RecordBatch.from_pylist(
        [
            {"key": "auth.jwt_secret", "value": "s"},
            {"key": "k", "value": None},
            {"key": None, "value": "n"},
        ]
    )
    assert without_secret_state(batch).column("key").to_pylist() == ["k", None]


def test_the_restore_command_refuses_a_damaged_backup_before_writing(
    backup_file: Path, tmp_path: Path
) -> None:
    def flip(name: str, data: bytes) -> tuple[str, bytes]:
        return name, (data[:-1] + b"?" if name == "tables/segments.parquet" else data)

    damaged = rewrite(backup_file, tmp_path / "d.tar", flip)
    target = tmp_path / "target"
    env = {
        "TRAFFICCAST_DATA_DIR": str(target),
        "TRAFFICCAST_DATABASE_URL": "",
        "TRAFFICCAST_MODELS_DIR": None,
    }
    result = CliRunner().invoke(app, ["restore", str(damaged)], env=env)
    assert result.exit_code == 1
    assert "'tables/segments.parquet' does not match its checksum" in result.output
    assert not target.exists()  # no store file, no registry
