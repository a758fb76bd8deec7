"""`trafficcast report performance …`: the performance report from the local store.

Same report as GET /api/reports/performance, written to a file or standard output.
The embedded DuckDB file admits one process at a time: stop an embedded server first
(or use the API); with PostgreSQL both work at once.
"""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, BinaryIO

import orjson
import typer
from pydantic import ValidationError

from trafficcast.analytics.csv_export import csv_chunks
from trafficcast.analytics.operations import TooManyAlerts
from trafficcast.analytics.report import MAX_SPAN_DAYS, performance_report, report_json
from trafficcast.cli.common import DataDir, _fail, _progress, _settings
from trafficcast.domain.periods import DAY_MS, Period
from trafficcast.quality.detector_health import HealthRules
from trafficcast.runtime import open_store
from trafficcast.store.base import StoreUnavailable

app = typer.Typer(
    help="Traffic-engineering reports from the store: performance (JSON, CSV or PDF).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _instant(text: str, option: str) -> int:
    """Epoch ms of an ISO 8601 date or time; UTC when it names no zone."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            _fail(f"{option}: not an ISO 8601 date or time: {text!r}")
        value = datetime(day.year, day.month, day.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp() * 1000)


@app.command("performance")
def performance(
    start: Annotated[str, typer.Option(help="Inclusive ISO 8601 date or time (UTC if no zone)")],
    end: Annotated[str, typer.Option(help="Exclusive ISO 8601 date or time (UTC if no zone)")],
    period: Annotated[str, typer.Option(help="day, week or month")] = "day",
    format: Annotated[str, typer.Option("--format", help="json, csv or pdf")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
    segment_ids: Annotated[
        str | None, typer.Option(help="Comma-separated segment ids (default: all)")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """VMT, VHT, delay, TTI, congestion, ranking, bottlenecks, incidents, accuracy, system."""
    if period not in ("day", "week", "month"):
        _fail(f"--period: {period!r} is not day, week or month")
    if format not in ("json", "csv", "pdf"):
        _fail(f"--format: {format!r} is not json, csv or pdf")
    start_ms, end_ms = _instant(start, "--start"), _instant(end, "--end")
    if end_ms <= start_ms:
        _fail("--end: not after --start")
    if end_ms - start_ms > MAX_SPAN_DAYS * DAY_MS:
        _fail(f"--end: the range spans more than {MAX_SPAN_DAYS} days")
    if format == "pdf" and out is None and sys.stdout.isatty():
        _fail("--out: give a file for a PDF (it is binary)")
    ids = tuple(s.strip() for s in (segment_ids or "").split(",") if s.strip())
    try:
        settings = _settings(None, None, data_dir)
    except ValidationError as exc:
        _fail(f"invalid settings: {exc}")
    try:
        store = open_store(settings)
    except StoreUnavailable as exc:
        _fail(f"cannot open the store: {exc} (stop an embedded server, or use the API)")
    try:
        with _progress() as progress:
            task = progress.add_task("reading windows (days)", total=None)

            def advance(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            p: Period = period  # type: ignore[assignment]
            rules = HealthRules(expected_interval_s=settings.detector_interval_s)
            report = performance_report(
                store,
                start_ms,
                end_ms,
                p,
                settings.timezone,
                ids,
                progress=advance,
                health_rules=rules,
            )
    except TooManyAlerts as exc:
        _fail(f"--end: {exc}: give a shorter range")
    finally:
        store.close()
    body = report_json(report)
    if out is None:
        _write(sys.stdout.buffer, body, format)
        sys.stdout.buffer.flush()
    else:
        with out.open("wb") as file:
            _write(file, body, format)
        typer.echo(f"wrote {out} ({out.stat().st_size:,} bytes)", err=True)


def _write(file: BinaryIO, body: dict[str, object], format: str) -> None:
    if format == "json":
        file.write(orjson.dumps(body, option=orjson.OPT_INDENT_2) + b"\n")
    elif format == "csv":
        for chunk in csv_chunks(body):  # chunk by chunk: a long report never sits whole
            file.write(chunk.encode())
    else:
        # Imported here: matplotlib would slow every other command's start.
        from trafficcast.analytics.pdf import render_pdf

        file.write(render_pdf(body))
