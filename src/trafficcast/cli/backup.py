"""`trafficcast backup` and `trafficcast restore`: the store, model registry and settings,
with the Parquet archive's file list (not its files)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.progress import TaskID

from trafficcast.backup.archive import (
    BATCH_ROWS,
    Backup,
    ProgressFn,
    check_target,
    open_backup,
    restore_backup,
    write_backup,
)
from trafficcast.backup.listing import current_files, take_snapshot
from trafficcast.backup.manifest import (
    ARCHIVE,
    REGISTRY,
    BackupError,
    config_differences,
    redact_settings,
    redact_url,
)
from trafficcast.backup.snapshot import REPORT_LIMIT, ArchiveSnapshot, compare, report
from trafficcast.cli.common import DataDir, _fail, _progress, _settings, app
from trafficcast.config import Settings
from trafficcast.store.base import StoreUnavailable

BatchRows = Annotated[
    int, typer.Option(min=1, help="Rows per batch read from or written to the store")
]


def _load_settings(data_dir: Path | None) -> Settings:
    try:
        return _settings(None, None, data_dir)
    except ValidationError as exc:
        _fail(f"invalid settings: {exc}")


@contextmanager
def _bars() -> Iterator[ProgressFn]:
    """A progress bar per table (rich, on stderr)."""
    tasks: dict[str, TaskID] = {}
    with _progress() as progress:

        def update(table: str, done: int, total: int) -> None:
            if table not in tasks:
                tasks[table] = progress.add_task(table, total=total)
            progress.update(tasks[table], completed=done, total=total)

        yield update


@app.command()
def backup(
    output: Annotated[Path, typer.Argument(help="The backup file to write (a .tar)")],
    data_dir: DataDir = None,
    batch_rows: BatchRows = BATCH_ROWS,
) -> None:
    """Back up every store table, the model registry and the settings (secrets redacted)."""
    from trafficcast.runtime import open_store

    settings = _load_settings(data_dir)
    started = time.monotonic()
    try:
        store = open_store(settings)
    except StoreUnavailable as exc:
        _fail(f"cannot open the store: {exc}")
    try:
        config = redact_settings(settings.model_dump(mode="json"))
        # The archive's files are listed, not copied (they live on their own storage).
        snapshot = take_snapshot(settings.archive_url) if settings.archive_url else None
        with _bars() as progress:
            manifest = write_backup(
                store,
                settings.registry_path,
                config,
                output,
                batch_rows=batch_rows,
                progress=progress,
                archive=snapshot,
            )
    except (BackupError, StoreUnavailable, OSError) as exc:
        _fail(f"backup failed: {exc}")
    finally:
        store.close()
    rows = sum(t.rows for t in manifest.tables)
    files = sum(1 for m in manifest.members if m.name.startswith("registry/"))
    typer.echo(
        f"backed up {rows:,} rows in {len(manifest.tables)} tables and {files} registry files "
        f"of the {manifest.store_kind} store (schema {manifest.schema_revision}) to {output} "
        f"({output.stat().st_size:,} bytes, {time.monotonic() - started:.1f} s)"
    )
    if snapshot is None:
        typer.echo("no archive is configured (TRAFFICCAST_ARCHIVE_URL): no archive list in it")
        return
    typer.echo(
        f"listed {len(snapshot.files):,} archive files ({snapshot.rows:,} rows, "
        f"{sum(f.size for f in snapshot.files):,} bytes) at {snapshot.url} in {ARCHIVE}; "
        "the archive itself is not copied: keep it on its own durable storage"
    )
    for f in snapshot.unreadable[:REPORT_LIMIT]:
        typer.echo(f"  warning: archive file {f.path} is unreadable (recorded as such): {f.error}")
    if len(snapshot.unreadable) > REPORT_LIMIT:
        typer.echo(f"  … and {len(snapshot.unreadable) - REPORT_LIMIT:,} more unreadable files")


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `trafficcast backup`")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the rows and models already there")
    ] = False,
    batch_rows: BatchRows = BATCH_ROWS,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Check the backup and print what would be restored, writing nothing",
        ),
    ] = False,
) -> None:
    """Restore a backup into an empty store and registry; settings are compared, not written;
    the archive is compared with the backup's list of it."""
    from trafficcast.runtime import open_store

    settings = _load_settings(data_dir)
    started = time.monotonic()
    if dry_run:
        _dry_run(backup_file, settings, force)
        return
    try:
        with open_backup(backup_file) as opened:  # every checksum checked here, first
            try:
                store = open_store(settings)
                store.init_schema()
            except StoreUnavailable as exc:
                _fail(f"cannot open the store: {exc}")
            try:
                with _bars() as progress:
                    restore_backup(
                        opened,
                        store,
                        settings.registry_path,
                        force=force,
                        batch_rows=batch_rows,
                        progress=progress,
                    )
            finally:
                store.close()
            manifest, backed_up, snapshot = opened.manifest, opened.config, opened.archive
    except (BackupError, StoreUnavailable, OSError) as exc:
        _fail(f"restore failed: {exc}")
    rows = sum(t.rows for t in manifest.tables)
    typer.echo(
        f"restored {rows:,} rows in {len(manifest.tables)} tables from {backup_file} "
        f"(made {manifest.created_at} by trafficcast {manifest.trafficcast_version}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    _echo_settings(backed_up, settings)
    _echo_archive(snapshot, settings)


def _echo_settings(backed_up: dict[str, object], settings: Settings) -> None:
    differences = config_differences(backed_up, redact_settings(settings.model_dump(mode="json")))
    if differences:
        typer.echo("settings differ from the backup's (settings come from the environment):")
        for line in differences:
            typer.echo(f"  {line}")
    else:
        typer.echo("settings are the same as the backup's")


def _echo_archive(snapshot: ArchiveSnapshot | None, settings: Settings) -> None:
    """The archive now against the backup's list of it; never fails (only reports)."""
    if snapshot is None:
        typer.echo("archive: the backup holds no archive list (none was configured then)")
        return
    if not settings.archive_url:
        typer.echo(
            f"archive: the backup lists {len(snapshot.files):,} files at {snapshot.url}; "
            "no archive is configured here (TRAFFICCAST_ARCHIVE_URL), so it is not compared"
        )
        return
    try:
        now = current_files(settings.archive_url, snapshot)
    except BackupError as exc:
        typer.echo(f"archive: not compared with the backup's list: {exc}")
        return
    url = redact_url(settings.archive_url)
    if url != snapshot.url:
        typer.echo(f"archive: the backup's list is of {snapshot.url}; comparing with {url}")
    for line in report(snapshot, now, compare(snapshot.files, now)):
        typer.echo(line)


def _dry_run(backup_file: Path, settings: Settings, force: bool) -> None:
    """Check the backup and the target; print what a restore would do; write nothing."""
    try:
        with open_backup(backup_file) as opened:  # every checksum checked here
            _echo_plan(opened)
            problem = _target_problem(opened, settings, force)
    except (BackupError, StoreUnavailable, OSError) as exc:
        _fail(f"dry run failed: {exc}")
    _echo_settings(opened.config, settings)
    _echo_archive(opened.archive, settings)
    if problem:
        _fail(f"dry run: the restore would fail: {problem}")
    if force:
        typer.echo("dry run: --force: the rows and models in the target would be replaced")
    typer.echo("dry run: every checksum matches; nothing was written")


def _echo_plan(opened: Backup) -> None:
    m = opened.manifest
    typer.echo(
        f"dry run: {opened.path} (made {m.created_at} by trafficcast {m.trafficcast_version}, "
        f"{m.store_kind} store, schema {m.schema_revision}) would restore:"
    )
    for t in m.tables:
        typer.echo(f"  {t.name}: {t.rows:,} rows")
    registry = [x for x in m.members if x.name.startswith(REGISTRY)]
    typer.echo(
        f"  model registry: {len(registry):,} files ({sum(x.size for x in registry):,} bytes)"
    )


def _target_problem(opened: Backup, settings: Settings, force: bool) -> str | None:
    """Why restoring into the configured store and registry would fail; None if it would
    not. Nothing is made: a DuckDB file that is not there yet is stood in for in memory,
    a PostgreSQL database without the schema is compared with the migrations' head."""
    from trafficcast.runtime import open_store
    from trafficcast.store import migrate
    from trafficcast.store.duckdb_store import DuckDBStore

    revision: str | None = None
    if settings.uses_postgres:
        store = open_store(settings)
        if migrate.current(settings.database_url) is None:
            revision = migrate.head() or "none"
    elif Path(settings.database_path).exists():
        store = open_store(settings)
    else:
        store = DuckDBStore(":memory:")
        store.init_schema()
    try:
        check_target(opened.manifest, store, settings.registry_path, force=force, revision=revision)
    except BackupError as exc:
        return str(exc)
    finally:
        store.close()
    return None
