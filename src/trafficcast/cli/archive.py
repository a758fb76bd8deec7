"""`trafficcast archive compact|retention|list`: upkeep of the Parquet archive.

The archive is TRAFFICCAST_ARCHIVE_URL (or --url). These commands touch only the
archive's files, never the store, so they run beside a live server: compaction
merges only the closed days' files it listed (a file the writer adds meanwhile is
left for the next run), and retention deletes only whole old partitions.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer
from rich.table import Table

from trafficcast.archive.location import DATASETS, ArchiveLocation, open_archive
from trafficcast.archive.maintenance import (
    apply_retention,
    closed_partitions,
    compact_partition,
    parse_retention,
    summary,
    today_utc,
)
from trafficcast.archive.setup import compact_target_bytes
from trafficcast.cli.common import _fail, _progress, console
from trafficcast.config import Settings

app = typer.Typer(
    help="The Parquet archive: compact small files, apply retention, list partitions.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

Url = Annotated[
    str | None, typer.Option(help="Archive folder or URL (default TRAFFICCAST_ARCHIVE_URL)")
]
Dataset = Annotated[
    list[str] | None, typer.Option("--dataset", help="events or windows (default: both)")
]


def _location(url: str | None) -> ArchiveLocation:
    url = url or Settings().archive_url
    if not url:
        _fail("no archive: set TRAFFICCAST_ARCHIVE_URL or pass --url")
    try:
        return open_archive(url)
    except (OSError, ValueError) as exc:
        _fail(f"cannot open the archive {url!r}: {exc}")


def _datasets(names: list[str] | None) -> list[str]:
    names = names or list(DATASETS)
    unknown = [n for n in names if n not in DATASETS]
    if unknown:
        _fail(f"unknown dataset {unknown}: use {', '.join(DATASETS)}")
    return names


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: not an ISO date (YYYY-MM-DD): {text!r}")


@app.command("compact")
def compact(
    url: Url = None,
    dataset: Dataset = None,
    target_mb: Annotated[
        float | None,
        typer.Option(
            help="Size of merged files in MB (default TRAFFICCAST_ARCHIVE_COMPACT_TARGET_MB)"
        ),
    ] = None,
    before: Annotated[
        str | None, typer.Option(help="Compact days before this date (default: today, UTC)")
    ] = None,
) -> None:
    """Merge the small files of closed days into files of about the target size."""
    location = _location(url)
    target = int(target_mb * 1024 * 1024) if target_mb else compact_target_bytes(Settings())
    partitions = closed_partitions(location, _datasets(dataset), _day(before, "--before"))
    total = sum(f.size for p in partitions for f in location.files(p.path))
    inputs = outputs = 0
    with _progress() as progress:
        task = progress.add_task("compacting", total=total)
        for partition in partitions:
            progress.update(task, description=f"{partition.dataset} {partition.day}")
            before_size = sum(f.size for f in location.files(partition.path))
            result = compact_partition(
                location, partition, target, lambda n: progress.advance(task, n)
            )
            # Files left as they are count as done too.
            progress.advance(task, before_size - result.bytes_in)
            inputs += result.inputs
            outputs += result.outputs
    typer.echo(f"compacted {inputs} files into {outputs} in {len(partitions)} closed partitions")


@app.command("retention")
def retention(
    url: Url = None,
    days: Annotated[
        str | None,
        typer.Option(
            help="e.g. events=90,windows=730 (default TRAFFICCAST_ARCHIVE_RETENTION_DAYS)"
        ),
    ] = None,
    today: Annotated[str | None, typer.Option(help="Count days back from (default: today)")] = None,
) -> None:
    """Delete whole partitions older than each dataset's retention."""
    location = _location(url)
    try:
        keep = parse_retention(days if days is not None else Settings().archive_retention_days)
    except ValueError as exc:
        _fail(str(exc))
    if not any(keep.values()):
        typer.echo("no retention set: nothing deleted")
        return
    with _progress() as progress:
        task = progress.add_task("retention", total=len(keep))
        deleted = []
        for name, n in keep.items():
            progress.update(task, description=f"{name}: keep {n} days" if n else name)
            deleted += apply_retention(location, {name: n}, _day(today, "--today") or today_utc())
            progress.advance(task)
    for p in deleted:
        typer.echo(f"deleted {p.dataset} {p.day}")
    typer.echo(f"deleted {len(deleted)} partitions")


@app.command("list")
def list_partitions(url: Url = None, dataset: Dataset = None) -> None:
    """Every partition: its files, bytes and rows."""
    location = _location(url)
    table = Table("dataset", "date", "files", "MB", "rows")
    rows = summary(location, _datasets(dataset))
    for row in rows:
        table.add_row(
            row.dataset,
            row.day.isoformat(),
            str(row.files),
            f"{row.bytes / 1e6:.1f}",
            str(row.rows),
        )
    console.print(table)
    typer.echo(
        f"{len(rows)} partitions, {sum(r.files for r in rows)} files, "
        f"{sum(r.rows for r in rows)} rows, {sum(r.bytes for r in rows)} bytes"
    )
