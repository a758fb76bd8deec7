"""What every `trafficcast` command shares: the Typer app, the console, options, settings."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)

from trafficcast.config import Settings

app = typer.Typer(
    help="trafficcast: live traffic ingest, windows, forecasts and a live map.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
console = Console(stderr=True)
log = logging.getLogger("trafficcast")

Host = Annotated[str | None, typer.Option(help="Listen address (default from settings)")]
Port = Annotated[int | None, typer.Option(help="Listen port (default from settings)")]
DataDir = Annotated[Path | None, typer.Option(help="Folder of the embedded database")]


def _settings(host: str | None, port: int | None, data_dir: Path | None) -> Settings:
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    return Settings(**overrides)  # type: ignore[arg-type]


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _fail(message: str) -> NoReturn:
    # Plain echo, not rich: messages quote names like ['15'] that rich would read as markup.
    typer.echo(typer.style("error:", fg="red", bold=True) + f" {message}", err=True)
    raise typer.Exit(1)
