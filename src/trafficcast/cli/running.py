"""`trafficcast version / serve / demo / replay / simulate`: run the pipeline and its sources."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import httpx
import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import typer
import uvicorn

from trafficcast import __version__
from trafficcast.cli.common import DataDir, Host, Port, _fail, _progress, _settings, app, console
from trafficcast.config import Settings
from trafficcast.encoding import arrow_columns
from trafficcast.logging_setup import configure_logging
from trafficcast.sources.dataset import Dataset, DatasetError, load_dataset
from trafficcast.sources.feeds import ReplayFeed, SimulatorFeed
from trafficcast.sources.simulator import Simulator, SimulatorConfig

if TYPE_CHECKING:
    # Only for annotations: importing it for real loads LightGBM and SciPy (through the live
    # forecaster), and `trafficcast --help` should not wait.
    from trafficcast.runtime import Runtime


def _serve(runtime: Runtime) -> None:
    from trafficcast.api.app import server_config

    s = runtime.settings
    uvicorn.Server(server_config(runtime, s.host, s.port, s.log_level.lower())).run()


def _start_runtime(settings: Settings) -> Runtime:
    """The runtime, or a one-line error when its store or bus cannot be reached."""
    from trafficcast.bus.base import BusUnavailable
    from trafficcast.runtime import Runtime
    from trafficcast.store.base import StoreUnavailable

    try:
        return Runtime(settings)
    except (BusUnavailable, StoreUnavailable) as exc:
        _fail(str(exc))


@app.command()
def version() -> None:
    """Print the version."""
    typer.echo(__version__)


@app.command()
def serve(host: Host = None, port: Port = None, data_dir: DataDir = None) -> None:
    """Run the API, WebSocket, web page and stream processor; ingest through the REST API."""

    settings = _settings(host, port, data_dir)
    configure_logging(settings.log_level)
    runtime = _start_runtime(settings)
    if not any(u.role == "admin" and not u.disabled for u in runtime.store.users()):
        console.print(
            "no admin yet: add one with `trafficcast users add NAME --role admin` "
            "(with the embedded store, stop the server first)"
        )
    _serve(runtime)


@app.command()
def demo(
    replay: Annotated[
        Path | None,
        typer.Option(
            help="Replay a recorded dataset folder (e.g. ../shared/data/los-loop) instead of the "
            "simulator"
        ),
    ] = None,
    speed: Annotated[
        float | None,
        typer.Option(help="Clock speed-up: replay default 60, simulator default 1 (real time)"),
    ] = None,
    segments: Annotated[int, typer.Option(help="Simulated segments")] = 300,
    seed: Annotated[int, typer.Option(help="Simulator seed")] = 42,
    history_hours: Annotated[
        float, typer.Option(help="Simulated history to load at start, so forecasts show at once")
    ] = 6.0,
    train_days: Annotated[
        float,
        typer.Option(
            help="Simulator: train a forecasting model on this many days of simulated history "
            "in the background, then serve it (0 = interim forecaster only)"
        ),
    ] = 7.0,
    keep: Annotated[bool, typer.Option(help="Keep the previous demo database and models")] = False,
    host: Host = None,
    port: Port = None,
    data_dir: DataDir = None,
) -> None:
    """One process: a live source (simulator or replay), processing, forecasts, API and map."""
    import shutil

    settings = _settings(host, port, data_dir)
    configure_logging(settings.log_level)
    if settings.uses_kafka or settings.uses_postgres:
        console.print(
            "the demo is one process with its own store and in-process bus; "
            "TRAFFICCAST_BUS and TRAFFICCAST_DATABASE_URL are ignored here"
        )
        settings.bus = "memory://"
    name = "demo-replay" if replay else "demo-simulator"
    settings.database_url = f"duckdb://{settings.data_dir / name}.duckdb"
    settings.models_dir = str(settings.data_dir / f"{name}-models")
    if not keep:
        # Each demo starts clean: event time restarts with the source.
        for suffix in ("", ".wal"):
            Path(settings.database_path + suffix).unlink(missing_ok=True)
        shutil.rmtree(settings.registry_path, ignore_errors=True)
    runtime = _start_runtime(settings)
    if replay is not None:
        try:
            dataset = load_dataset(replay, timezone=settings.timezone)
        except DatasetError as exc:
            raise typer.BadParameter(str(exc), param_hint="--replay") from exc
        runtime.register_segments(dataset.segments, dataset.links)
        feed = ReplayFeed(runtime.bus, dataset, speed=60.0 if speed is None else speed)
        feed.on_finish = runtime.processor.request_flush
        what = f"replaying {dataset.name} ({dataset.events.num_rows:,} readings) at {feed.speed:g}x"
    else:
        sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed))
        runtime.register_segments(sim.segments, sim.links)
        sim_feed = SimulatorFeed(
            runtime.bus, sim, speed=1.0 if speed is None else speed, history_hours=history_hours
        )
        runtime.add_feed(sim_feed)
        what = f"simulating {segments} segments (seed {seed})"
        if train_days > 0 and runtime.processor.model is None:
            from trafficcast.demo_model import train_in_background

            # Its own simulator: the same data, no state shared with the live feed's.
            train_in_background(
                runtime, Simulator(sim.config), sim_feed.history_start_ms, train_days, seed
            )
            what += f"; training a forecaster on {train_days:g} simulated days in the background"
    if replay is not None:
        runtime.add_feed(feed)
    console.print(f"[bold]trafficcast {__version__}[/] demo: {what}")
    console.print(f"  map        http://{settings.host}:{settings.port}/")
    _demo_admin(runtime, settings)
    console.print(f"  API docs   http://{settings.host}:{settings.port}/docs")
    console.print(f"  database   {settings.database_path}")
    _serve(runtime)


ApiKey = Annotated[
    str | None,
    typer.Option(
        envvar="TRAFFICCAST_API_KEY",
        help="API key (role api or admin) for --url; `trafficcast keys create` makes one",
        show_default=False,
    ),
]


def _demo_admin(runtime: Runtime, settings: Settings) -> None:
    """No default password: the demo makes an admin with a random one, printed once."""
    from trafficcast.auth import service
    from trafficcast.auth.roles import Role, Tier

    if any(u.role is Role.ADMIN and not u.disabled for u in runtime.store.users()):
        console.print(
            "  sign in    as an existing admin (new password: stop the demo, then "
            f"TRAFFICCAST_DATABASE_URL=duckdb://{settings.database_path} "
            "trafficcast users set-password admin --random-password)"
        )
        return
    password = service.random_password()
    name = "admin" if service.find_user(runtime.store, "admin") is None else "demo-admin"
    service.create_user(runtime.store, name, password, Role.ADMIN, Tier.PREMIUM)
    # Plain echo: the password must not be taken for rich markup.
    typer.echo(f"  sign in    user {name}, password {password}  (shown once)")


@app.command("replay")
def replay_cmd(
    path: Annotated[Path, typer.Argument(help="Dataset folder or long-form CSV/Parquet file")],
    url: Annotated[
        str | None,
        typer.Option(
            help="Post to a running server (e.g. http://127.0.0.1:8000) instead of the local store"
        ),
    ] = None,
    speed: Annotated[float, typer.Option(help="Clock speed-up; 0 = as fast as possible")] = 0.0,
    batch_size: Annotated[int, typer.Option(help="Events per request with --url")] = 10_000,
    api_key: ApiKey = None,
    data_dir: DataDir = None,
) -> None:
    """Load a recorded dataset: into the local store, or through a server's REST API."""

    settings = _settings(None, None, data_dir)
    configure_logging(settings.log_level)
    try:
        dataset = load_dataset(path, timezone=settings.timezone)
    except DatasetError as exc:
        raise typer.BadParameter(str(exc), param_hint="path") from exc
    total = dataset.events.num_rows
    if url is not None:
        _post_events(url, dataset.events, batch_size, f"posting {dataset.name}", api_key)
        return
    if settings.uses_kafka:
        _publish_to_bus(settings, dataset, speed)
        return
    runtime = _start_runtime(settings)
    runtime.register_segments(dataset.segments, dataset.links)
    with _progress() as progress:
        task = progress.add_task(f"replaying {dataset.name}", total=total)
        feed = ReplayFeed(
            runtime.bus,
            dataset,
            speed=speed,
            progress=lambda done, _: progress.update(task, completed=done),
        )
        runtime.add_feed(feed)
        runtime.start()
        feed.finished.wait()
    runtime.processor.request_flush()
    runtime.processor.wait_idle(timeout=600)
    stats = runtime.processor.stats
    console.print(
        f"processed {stats.events_processed:,} events, {stats.windows_emitted:,} windows,"
        f" {stats.predictions:,} forecasts into {settings.database_path}"
    )
    runtime.stop()


@app.command()
def simulate(
    hours: Annotated[float, typer.Option(help="Hours of readings to generate")] = 1.0,
    segments: Annotated[int, typer.Option(help="Simulated segments")] = 300,
    seed: Annotated[int, typer.Option(help="Simulator seed")] = 42,
    start: Annotated[
        str | None, typer.Option(help="Start time, ISO 8601 (default: now minus --hours)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write to a .csv or .parquet file")] = None,
    url: Annotated[str | None, typer.Option(help="Post to a running server")] = None,
    bus: Annotated[
        bool, typer.Option("--bus", help="Publish to the Kafka bus of TRAFFICCAST_BUS")
    ] = False,
    batch_size: Annotated[int, typer.Option(help="Events per request with --url")] = 10_000,
    api_key: ApiKey = None,
) -> None:
    """Generate simulated readings into a file, a running server or the Kafka bus."""
    if sum((out is not None, url is not None, bus)) != 1:
        raise typer.BadParameter("give exactly one of --out, --url or --bus")
    settings = Settings()
    if bus and not settings.uses_kafka:
        raise typer.BadParameter(
            f"TRAFFICCAST_BUS is {settings.bus!r}; --bus needs kafka://HOST:PORT",
            param_hint="--bus",
        )
    sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed))
    if start is None:
        end_ms = int(time.time() * 1000)
        start_ms = end_ms - int(hours * 3600_000)
    else:
        try:
            parsed = datetime.fromisoformat(start)
        except ValueError as exc:
            raise typer.BadParameter(
                f"not an ISO 8601 time: {start}", param_hint="--start"
            ) from exc
        start_ms = int(parsed.replace(tzinfo=parsed.tzinfo or UTC).timestamp() * 1000)
        end_ms = start_ms + int(hours * 3600_000)
    events = sim.events(start_ms, end_ms)
    if out is not None:
        if out.suffix == ".parquet":
            pq.write_table(events, out, compression="zstd")
        else:
            pacsv.write_csv(events, out)
        console.print(f"wrote {events.num_rows:,} readings of {segments} segments to {out}")
    elif bus:
        _publish_to_bus(settings, Dataset("simulator", events, sim.segments, sim.links), 0.0)
    else:
        assert url is not None
        _post_events(url, events, batch_size, "posting simulated readings", api_key)


def _publish_to_bus(settings: Settings, dataset: Dataset, speed: float) -> None:
    """Scaled out: register the segments in the store, then produce the readings to Kafka,
    where `trafficcast process` picks them up."""
    from trafficcast.bus.base import BusUnavailable
    from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig
    from trafficcast.runtime import open_store
    from trafficcast.store.base import StoreUnavailable

    try:
        store = open_store(settings)
        store.init_schema()
        store.upsert_segments(dataset.segments)
        if dataset.links is not None and dataset.links.num_rows:
            store.upsert_links(dataset.links)
        store.close()
        bus = KafkaBus(KafkaBusConfig.from_url(settings.bus))
    except (BusUnavailable, StoreUnavailable) as exc:
        _fail(str(exc))
    try:
        with _progress() as progress:
            task = progress.add_task(f"publishing {dataset.name}", total=dataset.events.num_rows)
            ReplayFeed(
                bus, dataset, speed, progress=lambda done, _: progress.update(task, completed=done)
            ).run()
    finally:
        bus.close()
    console.print(
        f"published {dataset.events.num_rows:,} readings to traffic-events ({settings.bus})"
    )


def _post_events(
    url: str, events: pa.Table, batch_size: int, label: str, api_key: str | None
) -> None:
    endpoint = url.rstrip("/") + "/api/traffic/events/batch"
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["X-API-Key"] = api_key
    accepted = rejected = 0
    with _progress() as progress, httpx.Client(timeout=60) as client:
        task = progress.add_task(label, total=events.num_rows)
        for offset in range(0, events.num_rows, batch_size):
            chunk = events.slice(offset, batch_size)
            cols = arrow_columns(chunk)
            lat, lon = cols.pop("latitude"), cols.pop("longitude")
            rows = [dict(zip(cols, r, strict=True)) for r in zip(*cols.values(), strict=True)]
            for row, la, lo in zip(rows, lat, lon, strict=True):
                if la is not None and lo is not None:
                    row["coordinates"] = {"latitude": la, "longitude": lo}
            body = orjson.dumps({"events": rows})
            for attempt in range(10):
                response = client.post(endpoint, content=body, headers=headers)
                if response.status_code != 503:
                    break
                time.sleep(min(2**attempt * 0.1, 5))  # the server asked us to slow down
            if response.status_code not in (201, 422):
                raise typer.Exit(_report_http_error(response))
            result = response.json()
            accepted += result.get("accepted", 0)
            rejected += len(result.get("rejected", result.get("error", {}).get("details") or []))
            progress.update(task, advance=chunk.num_rows)
    console.print(f"accepted {accepted:,}, rejected {rejected:,}")


def _report_http_error(response: httpx.Response) -> int:
    console.print(f"[red]server answered {response.status_code}[/]: {response.text[:500]}")
    return 1


# ---- train and evaluate --------------------------------------------------------------------
