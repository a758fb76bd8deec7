"""`trafficcast spark backfill`: Spark jobs over the Parquet archive.

The master URL is TRAFFICCAST_SPARK_MASTER (default local[2]) or --master, so the
same command runs the job on a cluster (spark://host:7077, yarn, k8s://...).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from trafficcast.cli.common import _fail
from trafficcast.config import Settings

app = typer.Typer(
    help="Spark jobs over the Parquet archive (needs the `spark` extra and Java 17+).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@app.callback()
def spark_jobs() -> None:
    """Spark jobs over the Parquet archive (a group even with one job, for spark/submit.py)."""


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        _fail(f"{option}: not an ISO date (YYYY-MM-DD): {text!r}")


@app.command("backfill")
def backfill_command(
    start: Annotated[str, typer.Option(help="First UTC date of events (YYYY-MM-DD)")],
    end: Annotated[str, typer.Option(help="Last UTC date of events, included (YYYY-MM-DD)")],
    archive: Annotated[
        str | None, typer.Option(help="Archive folder or URL (default TRAFFICCAST_ARCHIVE_URL)")
    ] = None,
    to: Annotated[
        str, typer.Option(help="store: upsert into the store; archive: the windows dataset")
    ] = "store",
    master: Annotated[
        str | None, typer.Option(help="Spark master URL (default TRAFFICCAST_SPARK_MASTER)")
    ] = None,
) -> None:
    """Recompute window aggregates from archived raw events, as the stream processor does."""
    from trafficcast.runtime import open_store
    from trafficcast.spark.backfill import backfill
    from trafficcast.spark.session import session_from_settings

    settings = Settings()
    first, last = _day(start, "--start"), _day(end, "--end")
    if last < first:
        _fail("--end is before --start")
    if to not in ("store", "archive"):
        _fail(f"--to: store or archive, not {to!r}")
    url = archive or settings.archive_url
    if not url:
        _fail("no archive: set TRAFFICCAST_ARCHIVE_URL or pass --archive")
    try:
        store = open_store(settings)
    except Exception as exc:
        _fail(f"cannot open the store (segments' free-flow speeds come from it): {exc}")
    try:
        segments = store.segments()
        spark = session_from_settings(settings, master, "trafficcast-backfill")
        typer.echo(
            f"spark: master {spark.sparkContext.master}, "
            f"windows {list(settings.window_minutes)} min, {first} .. {last} -> {to}"
        )
        try:
            backfill(
                spark,
                url,
                first,
                last,
                settings.window_minutes,
                segments,
                to="store" if to == "store" else "archive",
                store=store if to == "store" else None,
                progress=typer.echo,
            )
        finally:
            spark.stop()
    finally:
        store.close()
