"""`trafficcast backup` and `restore` round-trip a populated system, on DuckDB and PostgreSQL.

The source system is filled by the real pipeline: three hours of simulated readings and
three hours of speeds that swing every five minutes (so forecasts miss and accuracy
alerts open) go through a Runtime's stream processor; a user, an API key, an alert
rule, late events, notification attempts and a promoted model are added through
their own services. The backup is restored into a fresh data folder or database and
every table is compared row for row, every registry file byte for byte. A Parquet
archive of the same rows is listed by the backup; between backup and restore one of
its days is deleted, one compacted and one added, and restore must report each.
"""

from __future__ import annotations

import json
import tarfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
from psycopg import sql
from typer.testing import CliRunner, Result

from tests.services import Service, database_url
from trafficcast.alerts.accuracy_rule import AccuracyRuleConfig
from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.alerts.rules import state_key
from trafficcast.archive.location import open_archive
from trafficcast.archive.maintenance import compact_partition
from trafficcast.auth import service
from trafficcast.auth.credentials import Authenticator
from trafficcast.auth.directory import AccountDirectory
from trafficcast.auth.roles import Role, Tier
from trafficcast.auth.tokens import TokenIssuer
from trafficcast.backup.manifest import SECRET_STATE_KEYS
from trafficcast.cli import app
from trafficcast.config import Settings
from trafficcast.domain.schema import EVENT_SCHEMA
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.runtime import Runtime, open_store
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store import migrate
from trafficcast.store.base import STORE_TABLES, AlertQuery, Store

runner = CliRunner()
MIN = 60_000
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
PASSWORD = "correct horse battery staple"
SECRETS = {
    "TRAFFICCAST_JWT_SECRET": "jwt-secret-that-must-not-leak-0123456789",
    "TRAFFICCAST_WEBHOOK_SECRET": "webhook-secret-that-must-not-leak",
    "TRAFFICCAST_SMTP_PASSWORD": "smtp-password-that-must-not-leak",
}


def env(data_dir: Path, database_url: str = "") -> dict[str, str | None]:
    return {
        "TRAFFICCAST_DATA_DIR": str(data_dir),
        "TRAFFICCAST_DATABASE_URL": database_url,
        "TRAFFICCAST_MODELS_DIR": None,
        **SECRETS,
    }


def cli(environment: dict[str, str | None], *args: str) -> Result:
    return runner.invoke(app, list(args), env=environment)


def swinging_events(start: int, minutes: int) -> pa.Table:
    rows = [
        (f"S{s}-{m}", f"S{s}", start + m * MIN, 62.0 if (m // 5) % 2 else 15.0)
        for m in range(minutes)
        for s in range(3)
    ]
    n = len(rows)
    return pa.table(
        {
            "event_id": [r[0] for r in rows],
            "segment_id": [r[1] for r in rows],
            "timestamp": pa.array([r[2] for r in rows]).cast(pa.timestamp("ms", tz="UTC")),
            "speed": [r[3] for r in rows],
            "volume": [None] * n,
            "occupancy": [None] * n,
            "latitude": [None] * n,
            "longitude": [None] * n,
            "source": ["t"] * n,
            "quality_score": [1.0] * n,
        }
    ).cast(EVENT_SCHEMA)


def populate(settings: Settings) -> str:
    """Fill a system through the pipeline and services; returns the API key made."""
    runtime = Runtime(settings)
    store = runtime.store
    rule = AccuracyRuleConfig(mae_mph=5.0, reference_ratio=None, hold_minutes=15)
    store.set_state(state_key("forecast_accuracy"), rule.dumps())
    sim = Simulator(SimulatorConfig(n_segments=8, seed=3, dropout_probability=0.0))
    runtime.register_segments(sim.segments, sim.links)
    runtime.processor.process(swinging_events(T0, 180))
    runtime.processor.process(sim.events(T0 + 180 * MIN, T0 + 300 * MIN))
    runtime.processor.flush()
    late = sim.events(T0 - 60 * MIN, T0 - 55 * MIN)
    store.write_late_events(late, "too_late")
    service.create_user(store, "olga", PASSWORD, Role.ANALYST)
    key, _ = service.create_key(store, "ingest box", Role.API, Tier.PREMIUM, "olga")
    service.token_secret(store, "")  # the stored signing key: must not be backed up
    (alert_id,) = store.query_alerts(AlertQuery(limit=1)).column("alert_id").to_pylist()
    store.add_notification_attempts(
        [
            NotificationAttempt(
                alert_id, "incident", "opened", "webhook:x", 1, T0, 12, 500, "e", False
            ),
            NotificationAttempt(
                alert_id, "incident", "opened", "webhook:x", 2, T0 + 9, 8, 200, None, True
            ),
        ]
    )
    runtime.stop()
    registry = ModelRegistry(settings.registry_path)
    record = registry.register(
        "gbm",
        {"note": "backup test"},
        lambda folder: (folder / "weights.bin").write_bytes(bytes(range(256)) * 40),
    )
    registry.promote(record.version)
    return key


def everything(store: Store) -> dict[str, pa.Table]:
    tables = {}
    for table in STORE_TABLES:
        rows = pa.Table.from_batches(list(store.read_table(table, 10_000)))
        keys = [
            (n, "ascending")
            for n, t in zip(rows.schema.names, rows.schema.types, strict=True)
            if not pa.types.is_list(t)
        ]
        tables[table] = rows.sort_by(keys)
    return tables


def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def fill_archive(store: Store, root: Path) -> dict[str, str]:
    """An archive of the store's events and windows, as the archive writer lays it out:
    events of 2026-01-05 in two files (to compact), a few of them a day earlier (to
    delete), the windows in one file. Returns the paths of note."""
    location = open_archive(str(root))
    events = pa.Table.from_batches(list(store.read_table("events", 10_000)))
    windows = pa.Table.from_batches(list(store.read_table("window_aggregates", 10_000)))
    day = date(2026, 1, 5)
    half = events.num_rows // 2
    for part in (events.slice(0, half), events.slice(half)):
        location.write_table(location.partition_dir("events", day), part)
    earlier = events.slice(0, 40)
    ts = earlier.column("timestamp")
    earlier = earlier.set_column(
        earlier.schema.get_field_index("timestamp"),
        "timestamp",
        pc.subtract(ts, pa.scalar(timedelta(days=1), pa.duration("ms"))).cast(ts.type),
    )
    deleted = location.write_table(
        location.partition_dir("events", day - timedelta(days=1)), earlier
    )
    location.write_table(location.partition_dir("windows", day), windows)
    return {
        "deleted": deleted.path.removeprefix(location.root + "/"),
        "windows": str(windows.num_rows),
    }


def change_archive(root: Path, deleted: str) -> None:
    """What happens to an archive after a backup: retention, compaction, new days."""
    location = open_archive(str(root))
    (root / deleted).unlink()
    (events_day,) = [p for p in location.partitions("events") if p.day == date(2026, 1, 5)]
    assert compact_partition(location, events_day).inputs == 2
    (windows_day,) = location.partitions("windows")
    (windows_file,) = location.files(windows_day.path)
    with location.fs.open_input_file(windows_file.path) as source:
        table = pq.read_table(source)
    location.write_table(location.partition_dir("windows", date(2026, 1, 6)), table.slice(0, 9))


def round_trip(
    source: dict[str, str | None],
    target: dict[str, str | None],
    tmp_path: Path,
    timings: Callable[[str, float], None],
) -> None:
    source_settings = Settings(
        data_dir=Path(str(source["TRAFFICCAST_DATA_DIR"])),
        database_url=source["TRAFFICCAST_DATABASE_URL"] or "",
    )
    target_settings = Settings(
        data_dir=Path(str(target["TRAFFICCAST_DATA_DIR"])),
        database_url=target["TRAFFICCAST_DATABASE_URL"] or "",
    )
    key = populate(source_settings)
    archive = tmp_path / "backup.tar"
    # The Parquet archive lives on its own storage: the same for both systems.
    parquet = tmp_path / "parquet-archive"
    source = {**source, "TRAFFICCAST_ARCHIVE_URL": str(parquet)}
    target = {**target, "TRAFFICCAST_ARCHIVE_URL": str(parquet)}
    store = open_store(source_settings)
    try:
        noted = fill_archive(store, parquet)
    finally:
        store.close()

    started = time.monotonic()
    result = cli(source, "backup", str(archive), "--batch-rows", "500")
    timings("backup", time.monotonic() - started)
    assert result.exit_code == 0, result.output
    raw = archive.read_bytes()
    for secret in SECRETS.values():
        assert secret.encode() not in raw
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        config = json.loads(tar.extractfile("config.json").read())  # type: ignore[union-attr]
    assert config["jwt_secret"] == "<redacted>"
    assert "listed 4 archive files" in result.output
    assert "archive.json" in {m["name"] for m in manifest["members"]}
    counts = {t["name"]: t["rows"] for t in manifest["tables"]}
    for table in (
        "events",
        "window_aggregates",
        "predictions",
        "alerts",
        "users",
        "api_keys",
        "late_events",
        "notification_attempts",
        "segments",
        "segment_links",
        "processor_state",
    ):
        assert counts[table] > 0, table

    change_archive(parquet, noted["deleted"])
    # A dry run reports the same and writes nothing: no store file, no schema, no registry.
    dry = cli(target, "restore", str(archive), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert f"  events: {counts['events']:,} rows" in dry.output
    assert "compacted: events/date=2026-01-05" in dry.output
    assert "nothing was written" in dry.output
    if target["TRAFFICCAST_DATABASE_URL"]:
        assert migrate.current(str(target["TRAFFICCAST_DATABASE_URL"])) is None
    assert not target_settings.data_dir.exists()
    started = time.monotonic()
    result = cli(
        {**target, "TRAFFICCAST_LOG_LEVEL": "DEBUG"}, "restore", str(archive), "--batch-rows", "700"
    )
    timings("restore", time.monotonic() - started)
    assert result.exit_code == 0, result.output
    assert 'log_level: "INFO" -> "DEBUG"' in result.output
    # The archive against the backup's list of it: one day deleted, one compacted, one new.
    assert "present and unchanged: 1 file\n" in result.output  # the windows of 2026-01-05
    assert "MISSING since the backup: 1 file (40 rows known)" in result.output
    assert f"    {noted['deleted']} (" in result.output
    assert "(whole day gone: retention?)" in result.output
    assert "compacted: events/date=2026-01-05: 2 files replaced by 1 file" in result.output
    assert "windows/date=2026-01-06: 1 file, 9 rows (new day)" in result.output

    before_store, after_store = open_store(source_settings), open_store(target_settings)
    try:
        before, after = everything(before_store), everything(after_store)
        state = before["processor_state"]
        secret_rows = pc.is_in(state.column("key"), pa.array(sorted(SECRET_STATE_KEYS)))
        assert pc.any(secret_rows).as_py()
        before["processor_state"] = state.filter(pc.invert(secret_rows))
        for table in STORE_TABLES:
            assert after[table].num_rows == counts[table], table
            assert after[table].equals(before[table]), table
        # The restored accounts still work.
        assert service.authenticate(after_store, "olga", PASSWORD) is not None
        directory = AccountDirectory(after_store)
        directory.reload()
        issuer = TokenIssuer(str(SECRETS["TRAFFICCAST_JWT_SECRET"]), 60, 60)
        principal = Authenticator(directory, issuer, None).api_key(key)
        assert principal.role == Role.API
    finally:
        before_store.close()
        after_store.close()
    assert files(target_settings.registry_path) == files(source_settings.registry_path)
    assert ModelRegistry(target_settings.registry_path).active() is not None

    # Restoring again refuses: the target is no longer empty, and the message names what is there.
    again = cli(target, "restore", str(archive))
    assert again.exit_code == 1
    assert "not empty" in again.output
    assert "events (" in again.output
    forced = cli(target, "restore", str(archive), "--force")
    assert forced.exit_code == 0, forced.output


def report(kind: str) -> Callable[[str, float], None]:
    def timings(step: str, seconds: float) -> None:
        print(f"{kind} {step}: {seconds:.2f} s")

    return timings


@pytest.mark.slow
def test_duckdb_backup_restores_into_a_fresh_data_folder(tmp_path: Path) -> None:
    round_trip(env(tmp_path / "a"), env(tmp_path / "b"), tmp_path, report("duckdb"))


@pytest.fixture
def another_postgres_database(postgres_service: Service) -> Iterator[str]:
    """A second fresh database beside postgres_database's, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin_url = database_url(postgres_service.url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(postgres_service.url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


@pytest.mark.slow
def test_postgres_backup_restores_into_a_fresh_database(
    tmp_path: Path, postgres_database: str, another_postgres_database: str
) -> None:
    round_trip(
        env(tmp_path / "a", postgres_database),
        env(tmp_path / "b", another_postgres_database),
        tmp_path,
        report("postgres"),
    )
