"""Kafka consumer throughput of one processor process, against the raw read and the usual way.

Starts a private Kafka and PostgreSQL (scripts/services/*.sh via tests/services.py),
pre-fills `traffic-events` through `KafkaBus.publish` with Simulator readings (records
keyed by segment, each holding that segment's events of one published batch), then,
in the same run and on the same topic, each from the start with a fresh consumer group:

  a. raw read: a confluent_kafka Consumer that only reads the records
     (`consume` in batches of 10 000, touching each value: its length and event count);
  b. trafficcast: `Runtime(role="processor")`, i.e. what `trafficcast process` runs:
     KafkaBus.poll (decode + validate) -> StreamProcessor.process (dedupe, 1 and 5 min
     windows, forecasts at the default horizons, live messages to the Kafka live topics)
     -> PostgresStore (COPY + upsert, one transaction per cycle) -> commit; until every
     record is read and everything it produced is written;
  c. the usual way, on a sample: one JSON record per event on a separate topic (written
     first, not timed), `consumer.poll()` one message at a time, `json.loads`, a dict of
     per-(segment, 5 min window) aggregates, one psycopg INSERT per event, a database
     commit (and an offset commit) every 1 000 rows.

Every clock starts when the consumer's partitions are assigned (group join excluded;
shown) and stops when the last event is read (a), stored and committed (b, c).

Targets: (b) >= 200 000 events/s and >= 50 % of (a).

    .venv/bin/python bench/kafka_consumer.py            # 2 M events, ~3 min
    .venv/bin/python bench/kafka_consumer.py --quick    # 500 k events, ~1.5 min
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from _common import ROOT, console, fmt_int, header, src_digest, table, verdict

sys.path.insert(0, str(ROOT))  # tests/services.py starts the private services

TARGET_EPS = 200_000
TARGET_SHARE = 0.5
NAIVE_TOPIC = "bench-naive-events"
NAIVE_COMMIT_EVERY = 1_000
RAW_BATCH = 10_000
RESULTS = ROOT / "bench" / "results"


# ---------------------------------------------------------------------------- data


def simulate(n_events: int, segments: int, interval_s: int, seed: int) -> tuple[Any, pa.Table]:
    """The last n_events Simulator readings before the current minute."""
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed, reading_interval_s=interval_s))
    per_hour = segments * 3600 // interval_s
    hours = math.ceil(n_events / (per_hour * 0.97)) + 1
    end_ms = (int(time.time() * 1000) // 60_000) * 60_000
    events = sim.events(end_ms - hours * 3_600_000, end_ms)
    if events.num_rows < n_events:
        raise SystemExit(f"simulator gave only {events.num_rows} events")
    return sim, events.slice(events.num_rows - n_events)


def prefill(bootstrap: str, events: pa.Table, batch_size: int, partitions: int) -> dict[str, Any]:
    """Publish the events through KafkaBus.publish, batch by batch (acks=all)."""
    from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig

    bus = KafkaBus(KafkaBusConfig(bootstrap=bootstrap, partitions=partitions))
    t0 = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("pre-fill traffic-events", total=events.num_rows)
        for off in range(0, events.num_rows, batch_size):
            batch = events.slice(off, batch_size)
            bus.publish(batch)
            progress.advance(task, batch.num_rows)
    seconds = time.perf_counter() - t0
    bus.close()
    return {"seconds": seconds, "events": events.num_rows}


def watermarks(bootstrap: str, topic: str) -> dict[int, tuple[int, int]]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-probe-{uuid.uuid4().hex}"})
    try:
        meta = c.list_topics(topic, timeout=10)
        return {
            p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            for p in sorted(meta.topics[topic].partitions)
        }
    finally:
        c.close()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


# ------------------------------------------------------------------ (a) raw read


def _fresh_consumer(bootstrap: str, group_prefix: str) -> Any:
    """A consumer of a group of its own, reading the topic from its start."""
    from confluent_kafka import Consumer

    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"{group_prefix}-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )


def run_raw(bootstrap: str, topic: str, records: int) -> dict[str, Any]:

    c = _fresh_consumer(bootstrap, "bench-raw")
    assigned: list[float] = []
    t_sub = time.perf_counter()
    c.subscribe([topic], on_assign=lambda *_: assigned.append(time.perf_counter()))
    n_records = n_events = n_bytes = 0
    with _progress() as progress:
        task = progress.add_task("(a) raw read", total=records)
        while n_records < records:
            msgs = c.consume(num_messages=RAW_BATCH, timeout=1.0)
            got = 0
            for m in msgs:
                if m.error() is not None:
                    continue
                value = m.value() or b""
                n_bytes += len(value)
                n_events += value.count(b"\n") + 1
                got += 1
            n_records += got
            progress.advance(task, got)
    t_end = time.perf_counter()
    c.close()
    seconds = t_end - assigned[0]
    return {
        "records": n_records,
        "events": n_events,
        "bytes": n_bytes,
        "seconds": seconds,
        "join_s": assigned[0] - t_sub,
        "events_per_s": n_events / seconds,
        "records_per_s": n_records / seconds,
    }


# ------------------------------------------------------------- (b) trafficcast


def _fresh_database(server_url: str, name: str) -> str:
    import psycopg
    from psycopg import sql
    from tests.services import database_url

    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return database_url(server_url, name)


def _timed(box: list[float], inner: Callable[..., Any]) -> Callable[..., Any]:
    """Count calls and seconds in box[0:2]; box[2:4] the same for calls that returned data."""

    def wrapper(*a: Any, **kw: Any) -> Any:
        t0 = time.perf_counter()
        result = None
        try:
            result = inner(*a, **kw)
            return result
        finally:
            box[0] += 1
            box[1] += time.perf_counter() - t0
            if result:
                box[2] += 1
                box[3] += time.perf_counter() - t0

    return wrapper


def _runtime(
    bootstrap: str, db_url: str, data_dir: Path, partitions: int, sim: Any, lateness_s: int
) -> Any:
    from trafficcast.config import Settings
    from trafficcast.runtime import Runtime

    settings = Settings(
        bus=f"kafka://{bootstrap}?partitions={partitions}",
        database_url=db_url,
        consumer_group=f"bench-processors-{uuid.uuid4().hex[:8]}",
        data_dir=data_dir,
        log_level="WARNING",
        allowed_lateness_s=lateness_s,
    )
    runtime = Runtime(settings, role="processor")
    runtime.register_segments(sim.segments, sim.links)  # as `trafficcast demo` does
    return runtime


def _read_all(bus: Any, ends: dict[int, int]) -> bool:
    from trafficcast.bus import topics

    position = bus.position()
    return all(position.get((topics.EVENTS, p), 0) >= end for p, end in ends.items() if end)


def run_trafficcast(
    bootstrap: str,
    db_url: str,
    data_dir: Path,
    partitions: int,
    sim: Any,
    ends: dict[int, int],
    total_events: int,
    lateness_s: int,
) -> dict[str, Any]:
    from ingest_embedded import _time_store_methods

    runtime = _runtime(bootstrap, db_url, data_dir, partitions, sim, lateness_s)
    proc, bus = runtime.processor, runtime.bus
    store_calls = _time_store_methods(runtime.store)
    poll_box: list[float] = [0, 0.0, 0, 0.0]
    process_box: list[float] = [0, 0.0, 0, 0.0]
    bus.poll = _timed(poll_box, bus.poll)
    proc.process = _timed(process_box, proc.process)
    live_box: list[float] = [0, 0.0, 0, 0.0]
    if proc.publish is not None:
        proc.publish = _timed(live_box, proc.publish)
    t_start = time.perf_counter()
    runtime.start()
    while not bus.assigned:
        time.sleep(0.005)
    t_assigned = time.perf_counter()
    with _progress() as progress:
        task = progress.add_task("(b) trafficcast processor", total=total_events)
        while not _read_all(bus, ends):
            if proc.failure is not None and proc.stats.errors > 20:
                raise SystemExit(f"processor failing: {proc.failure!r}")
            progress.update(task, completed=proc.stats.events_in)
            time.sleep(0.02)
        t_read = time.perf_counter()
        if not proc.wait_idle(600):
            raise SystemExit("the processor did not finish writing within 10 minutes")
    t_end = time.perf_counter()
    stats = proc.stats
    stored = runtime.store.count_events()
    late_stored = runtime.store._scalar("SELECT count(*) FROM late_events")
    windows = runtime.store._scalar("SELECT count(*) FROM window_aggregates")
    predictions = runtime.store._scalar(
        "SELECT coalesce(sum(cardinality(horizon_minutes)), 0) FROM predictions"
    )  # one row per issue, an array of horizons
    dead = bus.dead_letters
    horizons = list(runtime.settings.horizons_min)
    runtime.stop()
    del runtime, proc, bus
    gc.collect()  # the producers go now, not after the broker is destroyed
    seconds = t_end - t_assigned
    return {
        "events": stats.events_in,
        "seconds": seconds,
        "read_s": t_read - t_assigned,
        "join_s": t_assigned - t_start,
        "events_per_s": stats.events_in / seconds,
        "events_processed": stats.events_processed,
        "stored_events": stored,
        "late": stats.late,
        "late_stored": late_stored,
        "duplicates": stats.duplicates,
        "dead_letters": dead,
        "windows_emitted": stats.windows_emitted,
        "window_rows": windows,
        "predictions": stats.predictions,
        "prediction_rows": predictions,
        "cycles": stats.batches,
        "horizons": horizons,
        "poll": poll_box,
        "process": process_box,
        "live_publish": live_box,
        "store_calls": store_calls,
    }


def profile_trafficcast(
    bootstrap: str,
    db_url: str,
    data_dir: Path,
    partitions: int,
    sim: Any,
    ends: dict[int, int],
    out: Path,
    lateness_s: int,
) -> dict[str, Any]:
    """(b) again under pyinstrument, which samples one thread: the processor's loop
    (StreamProcessor._run's body) runs on this thread; the store writer keeps its own
    thread, timed by wrapping the store's methods."""
    from pyinstrument import Profiler

    from ingest_embedded import _time_store_methods

    runtime = _runtime(bootstrap, db_url, data_dir, partitions, sim, lateness_s)
    proc, bus = runtime.processor, runtime.bus
    store_calls = _time_store_methods(runtime.store)
    bus.set_rebalance_listener(proc._partitions_revoked, proc._partitions_assigned)
    writer = threading.Thread(target=proc._write_loop, name="store-writer", daemon=True)
    proc._writer = writer
    writer.start()
    profiler = Profiler(interval=0.001)
    t0 = time.perf_counter()
    profiler.start()
    while not _read_all(bus, ends):
        batches = bus.poll(proc.config.max_batch_events, proc.config.poll_timeout_s)
        proc._position = bus.position()
        if batches:
            proc.process(pa.concat_tables(batches))
        proc.tick()
    proc._writes.join()
    profiler.stop()
    seconds = time.perf_counter() - t0
    events = proc.stats.events_in
    out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
    runtime.stop()
    del runtime, proc, bus
    gc.collect()
    return {"seconds": seconds, "events": events, "store_calls": store_calls}


# ------------------------------------------------------------- (c) the usual way


_NAIVE_DDL = """
CREATE TABLE IF NOT EXISTS naive_events (
    event_id text PRIMARY KEY, segment_id text NOT NULL, "timestamp" timestamptz NOT NULL,
    speed float8 NOT NULL, volume float8, occupancy float8, latitude float8, longitude float8,
    source text NOT NULL, quality_score float8 NOT NULL)
"""
_NAIVE_INSERT = (
    "INSERT INTO naive_events VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
    "ON CONFLICT (event_id) DO NOTHING"
)


def prefill_naive(bootstrap: str, events: pa.Table, partitions: int) -> int:
    """The sample as one JSON object per record (not timed)."""
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    from trafficcast.encoding import arrow_columns

    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
        [NewTopic(NAIVE_TOPIC, num_partitions=partitions, replication_factor=1)]
    ).values():
        future.result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "compression.type": "lz4"})
    cols = arrow_columns(events)
    for i in range(events.num_rows):
        ev = {
            "event_id": cols["event_id"][i],
            "segment_id": cols["segment_id"][i],
            "timestamp": cols["timestamp"][i],
            "speed": cols["speed"][i],
            "volume": cols["volume"][i],
            "occupancy": cols["occupancy"][i],
            "coordinates": {"latitude": cols["latitude"][i], "longitude": cols["longitude"][i]},
            "source": cols["source"][i],
            "quality_score": cols["quality_score"][i],
        }
        while True:
            try:
                producer.produce(NAIVE_TOPIC, json.dumps(ev).encode(), ev["segment_id"].encode())
                break
            except BufferError:
                producer.poll(0.05)
    producer.flush(60)
    return int(events.num_rows)


def run_naive(bootstrap: str, db_url: str, n_events: int) -> dict[str, Any]:
    import psycopg

    conn = psycopg.connect(db_url)
    conn.execute(_NAIVE_DDL)
    conn.commit()
    c = _fresh_consumer(bootstrap, "bench-naive")
    assigned: list[float] = []
    t_sub = time.perf_counter()
    c.subscribe([NAIVE_TOPIC], on_assign=lambda *_: assigned.append(time.perf_counter()))
    windows: dict[tuple[str, int], list[float]] = {}
    n = rejected = 0
    db_s = 0.0
    cur = conn.cursor()
    with _progress() as progress:
        task = progress.add_task("(c) per-message consumer", total=n_events)
        while n + rejected < n_events:
            m = c.poll(1.0)
            if m is None or m.error() is not None:
                continue
            ev = json.loads(m.value() or b"{}")
            try:
                ts = datetime.fromisoformat(ev["timestamp"])
                speed = float(ev["speed"])
                if not 0.0 <= speed <= 150.0 or ts.tzinfo is None:
                    raise ValueError("out of range")
            except (KeyError, ValueError, TypeError):
                rejected += 1
                continue
            ts_ms = int(ts.timestamp() * 1000)
            key = (ev["segment_id"], ts_ms - ts_ms % 300_000)
            acc = windows.get(key)
            if acc is None:
                acc = windows[key] = [0, 0.0, 0.0]
            acc[0] += 1
            acc[1] += speed
            acc[2] += ev.get("volume") or 0.0
            coords = ev.get("coordinates") or {}
            td = time.perf_counter()
            cur.execute(
                _NAIVE_INSERT,
                (
                    ev["event_id"],
                    ev["segment_id"],
                    ts,
                    speed,
                    ev.get("volume"),
                    ev.get("occupancy"),
                    coords.get("latitude"),
                    coords.get("longitude"),
                    ev.get("source") or "kafka",
                    ev.get("quality_score", 1.0),
                ),
            )
            n += 1
            if n % NAIVE_COMMIT_EVERY == 0:
                conn.commit()
                c.commit(asynchronous=True)
            db_s += time.perf_counter() - td
            if n % NAIVE_COMMIT_EVERY == 0:
                progress.advance(task, NAIVE_COMMIT_EVERY)
        td = time.perf_counter()
        conn.commit()
        c.commit(asynchronous=False)
        db_s += time.perf_counter() - td
    t_end = time.perf_counter()
    stored = conn.execute("SELECT count(*) FROM naive_events").fetchone()
    conn.close()
    c.close()
    seconds = t_end - assigned[0]
    return {
        "events": n,
        "rejected": rejected,
        "seconds": seconds,
        "db_s": db_s,
        "join_s": assigned[0] - t_sub,
        "events_per_s": n / seconds,
        "windows": len(windows),
        "stored": int(stored[0]) if stored else 0,
        "commit_every": NAIVE_COMMIT_EVERY,
    }


# --------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--events",
        type=int,
        default=None,
        help="events pre-filled into traffic-events (default 2 000 000; quick 500 000)",
    )
    p.add_argument("--segments", type=int, default=1000, help="simulated segments")
    p.add_argument("--interval", type=int, default=30, help="seconds between a sensor's readings")
    p.add_argument(
        "--batch-size",
        type=int,
        default=20_000,
        help="events per KafkaBus.publish (one record per segment per publish: "
        "batch-size / segments events per record)",
    )
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument(
        "--allowed-lateness-s",
        type=int,
        default=300,
        help="the processor's allowed lateness (default: the live default, 300 s; the "
        "stream clock waits for the slowest partition, so a backlog is not late)",
    )
    p.add_argument(
        "--naive-events",
        type=int,
        default=None,
        help="events through the per-message consumer (default 50 000; quick 20 000)",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true", help="500 k events")
    p.add_argument(
        "--profile",
        choices=["auto", "always", "never"],
        default="auto",
        help="profile (b) with pyinstrument: auto = only when it misses the target",
    )
    p.add_argument("--json", type=Path, default=RESULTS / "kafka_consumer.json")
    p.add_argument("--keep-services", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    n_events = args.events or (500_000 if args.quick else 2_000_000)
    n_naive = args.naive_events or (20_000 if args.quick else 50_000)

    header("kafka_consumer: traffic-events -> one consumer process (raw / trafficcast / usual)")
    from tests.services import start_service

    from trafficcast.bus import topics

    t0 = time.perf_counter()
    sim, events = simulate(n_events, args.segments, args.interval, args.seed)
    console.print(
        f"simulated {events.num_rows:,} readings of {args.segments} segments every "
        f"{args.interval} s ({events.num_rows / (args.segments * 3600 / args.interval):.1f}"
        f" h of event time) in {time.perf_counter() - t0:.1f} s"
    )
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "src": src_digest(),
        "command": " ".join(sys.argv),
        "events": n_events,
        "segments": args.segments,
        "interval_s": args.interval,
        "batch_size": args.batch_size,
        "partitions": args.partitions,
        "allowed_lateness_s": args.allowed_lateness_s,
    }
    services = []
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tc-bench-kc-")))
        try:
            kafka = start_service("kafka", tmp / "services")
            services.append(kafka)
            pg = start_service("postgres", tmp / "services")
            services.append(pg)
            bootstrap = kafka.url

            from trafficcast.bus.topics import ensure_topics

            ensure_topics(bootstrap, args.partitions)
            fill = prefill(bootstrap, events, args.batch_size, args.partitions)
            marks = watermarks(bootstrap, topics.EVENTS)
            records = sum(hi - lo for lo, hi in marks.values())
            ends = {p: hi for p, (_lo, hi) in marks.items()}
            console.print(
                f"pre-filled {fill['events']:,} events as {records:,} records "
                f"({fill['events'] / records:.1f} events/record, partitions "
                f"{[hi - lo for lo, hi in marks.values()]}) in {fill['seconds']:.1f} s "
                f"({fmt_int(fill['events'] / fill['seconds'])} events/s published)"
            )
            result["prefill"] = {**fill, "records": records}

            raw = run_raw(bootstrap, topics.EVENTS, records)
            console.print(f"(a) {raw['events']:,} events in {raw['seconds']:.2f} s")
            tc = run_trafficcast(
                bootstrap,
                _fresh_database(pg.url, "bench_b"),
                tmp / "data-b",
                args.partitions,
                sim,
                ends,
                n_events,
                args.allowed_lateness_s,
            )
            console.print(f"(b) {tc['events']:,} events in {tc['seconds']:.2f} s")
            prefill_naive(bootstrap, events.slice(0, n_naive), args.partitions)
            naive = run_naive(bootstrap, _fresh_database(pg.url, "bench_c"), n_naive)
            console.print(f"(c) {naive['events']:,} events in {naive['seconds']:.2f} s")
            prof = None
            if args.profile == "always" or (
                args.profile == "auto" and tc["events_per_s"] < TARGET_EPS
            ):
                out = RESULTS / "profile_kafka_consumer.txt"
                prof = profile_trafficcast(
                    bootstrap,
                    _fresh_database(pg.url, "bench_p"),
                    tmp / "data-p",
                    args.partitions,
                    sim,
                    ends,
                    out,
                    args.allowed_lateness_s,
                )
                console.print(
                    f"profile of (b) ({prof['events'] / prof['seconds']:,.0f} events/s "
                    f"under the profiler) written to {out}"
                )
        finally:
            if not args.keep_services:
                for s in reversed(services):
                    with contextlib.suppress(Exception):
                        s.destroy()

    result.update({"raw": raw, "trafficcast": {k: v for k, v in tc.items()}, "naive": naive})
    if prof is not None:
        result["profile"] = {
            "seconds": prof["seconds"],
            "events": prof["events"],
            "store_calls": prof["store_calls"],
        }
    share = tc["events_per_s"] / raw["events_per_s"]
    vs_naive = tc["events_per_s"] / naive["events_per_s"]
    result["ratios"] = {"b_over_a": share, "b_over_c": vs_naive}
    ok_eps, ok_share = tc["events_per_s"] >= TARGET_EPS, share >= TARGET_SHARE
    result["pass"] = {"events_per_s": ok_eps, "share_of_raw": ok_share}

    rows = [
        [
            "(a) raw read: consume() x 10 000, touch each value",
            fmt_int(raw["events"]),
            fmt_int(raw["records"]),
            f"{raw['seconds']:.2f}",
            fmt_int(raw["records_per_s"]),
            f"[bold]{fmt_int(raw['events_per_s'])}[/]",
        ],
        [
            "(b) trafficcast processor: poll+decode -> windows+forecasts -> PostgreSQL -> commit",
            fmt_int(tc["events"]),
            fmt_int(records),
            f"{tc['seconds']:.2f}",
            fmt_int(records / tc["seconds"]),
            f"[bold]{fmt_int(tc['events_per_s'])}[/]",
        ],
        [
            f"(c) per message: poll, json.loads, dict windows, INSERT, commit/{NAIVE_COMMIT_EVERY}",
            fmt_int(naive["events"]),
            fmt_int(naive["events"]),
            f"{naive['seconds']:.2f}",
            fmt_int(naive["events_per_s"]),
            f"[bold]{fmt_int(naive['events_per_s'])}[/]",
        ],
        ["[bold]ratio b / a[/]", "", "", "", "", f"[bold]{100 * share:.0f} %[/]"],
        ["[bold]ratio b / c[/]", "", "", "", "", f"[bold]{vs_naive:,.1f}x[/]"],
    ]
    console.print(
        table(
            f"One consumer process, {args.partitions} partitions, clocks from partition assignment "
            f"(group join: a {raw['join_s']:.2f} s, b {tc['join_s']:.2f} s, "
            f"c {naive['join_s']:.2f} s)",
            ["consumer", "events", "records", "seconds", "records/s", "events/s"],
            rows,
        )
    )
    wall = tc["seconds"]
    breakdown = [
        [
            "KafkaBus.poll that returned events (consume + decode + validate), processor thread",
            fmt_int(tc["poll"][2]),
            f"{tc['poll'][3]:.2f}",
            f"{100 * tc['poll'][3] / wall:.0f} %",
        ],
        [
            "KafkaBus.poll, all calls (with empty ones waiting out the 0.1 s timeout)",
            fmt_int(tc["poll"][0]),
            f"{tc['poll'][1]:.2f}",
            f"{100 * tc['poll'][1] / wall:.0f} %",
        ],
        [
            "StreamProcessor.process (dedupe, windows, forecasts, messages), processor thread",
            fmt_int(tc["process"][0]),
            f"{tc['process'][1]:.2f}",
            f"{100 * tc['process'][1] / wall:.0f} %",
        ],
        [
            "live messages to Kafka (publish_messages), writer + processor threads",
            fmt_int(tc["live_publish"][0]),
            f"{tc['live_publish'][1]:.2f}",
            f"{100 * tc['live_publish'][1] / wall:.0f} %",
        ],
    ] + [
        [
            f"store.{name} (writer thread; segments & co. at assignment)",
            fmt_int(c),
            f"{sec:.2f}",
            f"{100 * sec / wall:.0f} %",
        ]
        for name, (c, sec, _rows) in sorted(tc["store_calls"].items(), key=lambda kv: -kv[1][1])
        if c
    ]
    console.print(
        table(
            f"(b) where the time goes ({wall:.2f} s wall; threads overlap)",
            ["part", "calls", "seconds", "share of wall"],
            breakdown,
        )
    )
    console.print(
        "store.insert_windows calls store.upsert_windows on PostgreSQL: its time shows in both "
        "rows. The store writer is one thread, so its total is what bounds the rate."
    )
    console.print(
        f"(b) allowed lateness {args.allowed_lateness_s} s; read all records after "
        f"{tc['read_s']:.2f} s; {tc['cycles']:,} cycles; "
        f"{tc['events_processed']:,} events windowed, {tc['stored_events']:,} stored, "
        f"{tc['late']:,} late ({tc['late_stored']:,} in late_events), {tc['duplicates']:,} "
        f"duplicates, {tc['dead_letters']:,} dead letters; {tc['windows_emitted']:,} windows "
        f"({tc['window_rows']:,} rows), {tc['predictions']:,} forecasts ({tc['prediction_rows']:,} "
        f"rows) at horizons {tc['horizons']}"
    )
    console.print(
        f"(c) {naive['events']:,} events, {naive['rejected']:,} rejected, {naive['stored']:,} "
        f"rows stored, {naive['windows']:,} 5-min windows in the dict; {naive['db_s']:.2f} s of "
        f"{naive['seconds']:.2f} s in INSERT/commit"
    )
    console.print(
        table(
            "Targets",
            ["what", "target", "measured", "result"],
            [
                [
                    "(b) events/s, one consumer process",
                    f">= {TARGET_EPS:,}",
                    fmt_int(tc["events_per_s"]),
                    verdict(ok_eps),
                ],
                [
                    "(b) / (a) raw read",
                    f">= {100 * TARGET_SHARE:.0f} %",
                    f"{100 * share:.0f} %",
                    verdict(ok_share),
                ],
            ],
        )
    )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
