"""`trafficcast process`: one stream processor of a Kafka consumer group.

Start as many as there are cores to spare; Kafka spreads the partitions of
`traffic-events` over them and moves a stopped one's partitions to the others.
"""

from __future__ import annotations

import signal
import threading
import time
from types import FrameType
from typing import Annotated

import typer

from trafficcast.cli.common import _fail, app, console
from trafficcast.config import Settings
from trafficcast.logging_setup import configure_logging


@app.command()
def process(
    report_every: Annotated[
        float, typer.Option(help="Seconds between progress lines (0 = quiet)")
    ] = 10.0,
    metrics_port: Annotated[
        int, typer.Option(help="Serve Prometheus metrics on METRICS_HOST:PORT (0 = off)")
    ] = 0,
    metrics_host: Annotated[
        str,
        typer.Option(help="Address of the metrics server (0.0.0.0 in a container, for Prometheus)"),
    ] = "127.0.0.1",
) -> None:
    """Run a stream processor of the consumer group (needs TRAFFICCAST_BUS=kafka://...)."""
    from trafficcast.bus.base import BusUnavailable
    from trafficcast.runtime import Runtime
    from trafficcast.store.base import StoreUnavailable

    settings = Settings()
    configure_logging(settings.log_level)
    if not settings.uses_kafka:
        _fail(
            "`trafficcast process` reads from Kafka: set TRAFFICCAST_BUS=kafka://HOST:PORT "
            "(with the in-process bus, `trafficcast serve` processes events itself)"
        )
    try:
        runtime = Runtime(settings, role="processor")
    except (BusUnavailable, StoreUnavailable) as exc:
        _fail(f"cannot start the processor: {exc}")
    stop = threading.Event()

    def _request_stop(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _request_stop)
    signal.signal(signal.SIGINT, _request_stop)
    runtime.start()
    if metrics_port:
        from prometheus_client import CollectorRegistry, start_http_server

        from trafficcast.api.metrics import PipelineCollector

        registry = CollectorRegistry()
        registry.register(PipelineCollector(runtime))
        start_http_server(metrics_port, addr=metrics_host, registry=registry)
    console.print(
        f"processing [bold]{settings.bus}[/] as group [bold]{settings.consumer_group}[/] "
        f"into {settings.database_url or settings.database_path}"
    )
    stats = runtime.processor.stats
    last, last_t = stats.events_processed, time.monotonic()
    while not stop.wait(report_every if report_every > 0 else None):
        now = time.monotonic()
        rate = (stats.events_processed - last) / max(now - last_t, 1e-9)
        last, last_t = stats.events_processed, now
        console.print(
            f"{stats.events_processed:,} events ({rate:,.0f}/s), {stats.duplicates:,} duplicates, "
            f"{stats.windows_emitted:,} windows, partitions "
            f"{sorted(getattr(runtime.bus, 'assigned', set()))}"
        )
    # Graceful: the last results are written and their offsets committed, then the group
    # hands the partitions to the others at once.
    runtime.stop()
    console.print("stopped")
