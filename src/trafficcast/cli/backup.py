"""`trafficcast backup` and `trafficcast restore`: the store, model registry and settings."""

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
    ProgressFn,
    open_backup,
    restore_backup,
    write_backup,
)
from trafficcast.backup.manifest import BackupError, config_differences, redact_settings
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
        with _bars() as progress:
            manifest = write_backup(
                store,
                settings.registry_path,
                config,
                output,
                batch_rows=batch_rows,
                progress=progress,
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


@app.command()
def restore(
    backup_file: Annotated[Path, typer.Argument(help="A file written by `trafficcast backup`")],
    data_dir: DataDir = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace the rows and models already there")
    ] = False,
    batch_rows: BatchRows = BATCH_ROWS,
) -> None:
    """Restore a backup into an empty store and registry; settings are compared, not written."""
    from trafficcast.runtime import open_store

    settings = _load_settings(data_dir)
    started = time.monotonic()
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
            manifest, backed_up = opened.manifest, opened.config
    except (BackupError, StoreUnavailable, OSError) as exc:
        _fail(f"restore failed: {exc}")
    rows = sum(t.rows for t in manifest.tables)
    typer.echo(
        f"restored {rows:,} rows in {len(manifest.tables)} tables from {backup_file} "
        f"(made {manifest.created_at} by trafficcast {manifest.trafficcast_version}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    differences = config_differences(backed_up, redact_settings(settings.model_dump(mode="json")))
    if differences:
        typer.echo("settings differ from the backup's (settings come from the environment):")
        for line in differences:
            typer.echo(f"  {line}")
    else:
        typer.echo("settings are the same as the backup's")
