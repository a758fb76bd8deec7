"""`trafficcast models`: list, inspect, promote and roll back trained forecasting models."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from trafficcast.cli.common import _fail
from trafficcast.config import Settings
from trafficcast.forecast.registry import ModelRecord, ModelRegistry, RegistryError

app = typer.Typer(
    help="Trained forecasting models: list, show, promote, roll back.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

HORIZONS = ("15", "30", "60")
NONE = "\N{EN DASH}"  # shown where a metric is absent
# Wide enough for every column unwrapped when the output goes to a file or pipe, where
# rich would otherwise assume 80 columns and fold the version names.
_PIPE_WIDTH = 200

Version = Annotated[str, typer.Argument(help="Model version, or 'latest'")]


@contextmanager
def _registry() -> Iterator[ModelRegistry]:
    """The configured registry; registry and settings errors become one line and exit 1."""
    try:
        yield ModelRegistry(Settings().registry_path)
    except (RegistryError, OSError) as exc:
        _fail(str(exc))
    except ValidationError as exc:
        _fail(f"invalid settings: {exc}")


def _dig(metadata: dict[str, Any], *keys: str) -> Any:
    value: Any = metadata
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def _mae(metadata: dict[str, Any], split: str) -> str:
    table = _dig(metadata, split, "speed", "mae")
    cells = []
    for h in HORIZONS:
        value = table.get(h) if isinstance(table, dict) else None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        cells.append(f"{value:.2f}" if ok else NONE)
    return " / ".join(cells)


def _when(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return NONE
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value  # show what the trainer wrote rather than hide it
    if (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M")


def _window(metadata: dict[str, Any]) -> str:
    start = _dig(metadata, "training_window", "start")
    end = _dig(metadata, "training_window", "end")
    if start is None and end is None:
        return NONE
    return f"{_when(start)} → {_when(end)}"


def _created(record: ModelRecord) -> str:
    return record.created_at.replace("T", " ").removesuffix("Z") or NONE


@app.command("list")
def list_cmd() -> None:
    """List the trained models, newest first."""
    with _registry() as registry:
        records = registry.list()
        if not records:
            typer.echo(f"no models in {registry.root} yet: train one with `trafficcast train`")
            return
        table = Table(title=f"models in {registry.root}", title_justify="left")
        table.add_column("version", no_wrap=True)
        table.add_column("kind")
        table.add_column("created (UTC)", no_wrap=True)
        table.add_column("training window")
        table.add_column("val MAE 15/30/60 min", justify="right")
        table.add_column("test MAE 15/30/60 min", justify="right")
        table.add_column("promoted", justify="center")
        for r in records:
            table.add_row(
                r.version,
                r.kind,
                _created(r),
                _window(r.metadata),
                _mae(r.metadata, "validation"),
                _mae(r.metadata, "test"),
                "✓" if r.promoted else "",
            )
        out = Console(highlight=False)
        if not out.is_terminal:
            out.width = max(out.width, _PIPE_WIDTH)
        out.print(table)


@app.command()
def show(version: Version) -> None:
    """Print a model's metadata (its model.json) as JSON."""
    with _registry() as registry:
        record = registry.resolve(version)
        typer.echo(json.dumps(record.metadata, indent=2, ensure_ascii=False))


@app.command()
def promote(version: Version) -> None:
    """Make a model the active one (what `latest` means)."""
    with _registry() as registry:
        before = registry.active()
        record = registry.promote(registry.resolve(version).version)
        if before is not None and before.version == record.version:
            typer.echo(f"{record.version} is already the promoted model")
        else:
            was = f" (was {before.version})" if before is not None else ""
            typer.echo(f"promoted {record.version}{was}")


@app.command()
def rollback() -> None:
    """Re-promote the model that was active before the current one."""
    with _registry() as registry:
        before = registry.active()
        record = registry.rollback()
        was = f" (was {before.version})" if before is not None else ""
        typer.echo(f"rolled back to {record.version}{was}")
