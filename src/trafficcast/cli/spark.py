"""`trafficcast spark backfill|train|features`: Spark jobs over the Parquet archive.

The master URL is TRAFFICCAST_SPARK_MASTER (default local[2]) or --master, so the
same command runs the job on a cluster (spark://host:7077, yarn, k8s://...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

import pyarrow as pa
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
    from trafficcast.spark.session import job_session

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
        with job_session(settings, master, "trafficcast-backfill") as spark:
            typer.echo(
                f"spark: master {spark.sparkContext.master}, "
                f"windows {list(settings.window_minutes)} min, {first} .. {last} -> {to}"
            )
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
        store.close()


Start = Annotated[str, typer.Option(help="First UTC date of windows (YYYY-MM-DD)")]
End = Annotated[str, typer.Option(help="Last UTC date of windows, included (YYYY-MM-DD)")]
Groups = Annotated[
    int, typer.Option(min=1, help="Segment groups (connected stretches of road), a task each")
]
Archive = Annotated[
    str | None, typer.Option(help="Archive folder or URL (default TRAFFICCAST_ARCHIVE_URL)")
]
TestFraction = Annotated[
    float,
    typer.Option(min=0.0, max=0.9, help="Last share of the steps held out as test (0 = none)"),
]
ValidationFraction = Annotated[
    float,
    typer.Option(
        min=0.01, max=0.9, help="Share of the steps before test that choose and calibrate"
    ),
]
Master = Annotated[
    str | None, typer.Option(help="Spark master URL (default TRAFFICCAST_SPARK_MASTER)")
]


@dataclass(frozen=True)
class _Inputs:
    settings: Settings
    url: str
    first: date
    last: date
    links: pa.Table


def _inputs(
    start: str, end: str, archive: str | None, test_fraction: float, validation_fraction: float
) -> _Inputs:
    """What every job over archived windows checks and reads first."""
    from trafficcast.runtime import open_store

    settings = Settings()
    first, last = _day(start, "--start"), _day(end, "--end")
    if last < first:
        _fail("--end is before --start")
    if test_fraction + validation_fraction >= 0.9:
        _fail("--test-fraction / --validation-fraction: must leave 10 % of the data to train on")
    url = archive or settings.archive_url
    if not url:
        _fail("no archive: set TRAFFICCAST_ARCHIVE_URL or pass --archive")
    try:
        store = open_store(settings)
    except Exception as exc:
        _fail(f"cannot open the store (the road links come from it): {exc}")
    try:
        links = store.links()
    finally:
        store.close()
    return _Inputs(settings, url, first, last, links)


@app.command("train")
def train_command(
    start: Start,
    end: End,
    groups: Groups = 4,
    archive: Archive = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same model")] = 0,
    test_fraction: TestFraction = 0.1,
    validation_fraction: ValidationFraction = 0.1,
    models: Annotated[
        str, typer.Option(help="Candidate models, comma-separated; the best on validation wins")
    ] = "gbm,persistence,profile",
    promote: Annotated[
        bool | None,
        typer.Option(
            "--promote/--no-promote",
            help="Make it the active model (default: only when none is promoted yet)",
            show_default=False,
        ),
    ] = None,
    master: Master = None,
) -> None:
    """Train one forecaster per segment group in parallel from the archived windows and
    register the result, as `trafficcast train --groups N` does in one process."""
    from trafficcast.cli.forecasting import candidate_models, clean_errors, report_grouped
    from trafficcast.forecast.models.gbm import GbmParams
    from trafficcast.forecast.registry import ModelRegistry
    from trafficcast.forecast.training import TrainConfig
    from trafficcast.spark.session import job_session
    from trafficcast.spark.training import train_on_spark

    config = TrainConfig(candidates=candidate_models(models), gbm=GbmParams(seed=seed))
    given = _inputs(start, end, archive, test_fraction, validation_fraction)
    registry = ModelRegistry(given.settings.registry_path)
    with clean_errors(), job_session(given.settings, master, "trafficcast-train") as spark:
        typer.echo(f"spark: master {spark.sparkContext.master}, windows {start} .. {end}")
        done = train_on_spark(
            spark,
            given.url,
            given.first,
            given.last,
            links=given.links,
            groups=groups,
            config=config,
            test_fraction=test_fraction,
            validation_fraction=validation_fraction,
            timezone=given.settings.timezone,
            registry=registry,
            seed=seed,
            promote=registry.active() is None if promote is None else promote,
            progress=typer.echo,
        )
    report_grouped(
        done.record.version, done.record.metadata, done.record.promoted, registry.root, done.seconds
    )


@app.command("features")
def features_command(
    start: Start,
    end: End,
    to: Annotated[str, typer.Option(help="Folder or URL to write the feature table to")],
    quantity: Annotated[str, typer.Option(help="speed or volume")] = "speed",
    groups: Groups = 4,
    archive: Archive = None,
    test_fraction: TestFraction = 0.1,
    validation_fraction: ValidationFraction = 0.1,
    master: Master = None,
) -> None:
    """Write the training features of the archived windows as Parquet (by quantity and
    date): what `spark train` with the same groups and fractions learns from."""
    from trafficcast.cli.forecasting import clean_errors
    from trafficcast.spark.features import features_on_spark
    from trafficcast.spark.session import job_session

    if quantity not in ("speed", "volume"):
        _fail(f"--quantity: speed or volume, not {quantity!r}")
    given = _inputs(start, end, archive, test_fraction, validation_fraction)
    with clean_errors(), job_session(given.settings, master, "trafficcast-features") as spark:
        typer.echo(f"spark: master {spark.sparkContext.master}, windows {start} .. {end}")
        features_on_spark(
            spark,
            given.url,
            given.first,
            given.last,
            to,
            links=given.links,
            groups=groups,
            quantity=quantity,
            test_fraction=test_fraction,
            validation_fraction=validation_fraction,
            timezone=given.settings.timezone,
            progress=typer.echo,
        )
