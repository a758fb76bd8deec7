"""Embedded ingest: JSON batch body -> validation -> windows -> store, on one process.

Fast path (the product's, as deployed): an ingest thread runs `decode_batch(body)` (what
the REST handler does) and publishes to the bus; the stream processor and its store
writer run on their own threads against a real DuckDB file in a temp folder; timed until
every event is windowed and written.
Peer in the same run: a plain per-event Python pipeline doing the same work the
usual way (json.loads, dict validation with datetime.fromisoformat, dict-of-dicts
1 and 5 minute windows, DuckDB executemany row by row), on a smaller sample.

PRODUCT.md §10 target: >= 500 000 events/s into windows on one process.

    .venv/bin/python bench/ingest_embedded.py            # 2 M events
    .venv/bin/python bench/ingest_embedded.py --quick    # 500 k events, < 60 s
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import orjson

from _common import console, fmt_int, header, table, verdict

TARGET_EPS = 500_000


# ---------------------------------------------------------------------------- data


def build_bodies(
    n_events: int, batch_size: int, segments: int, seed: int, interval_s: int = 30
) -> list[bytes]:
    """Simulator readings ending now, as `{"events": [...]}` JSON bodies (serialised once)."""
    from trafficcast.encoding import arrow_columns
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    cfg = SimulatorConfig(n_segments=segments, seed=seed, reading_interval_s=interval_s)
    sim = Simulator(cfg)
    per_hour = segments * 3600 // cfg.reading_interval_s
    hours = math.ceil(n_events / (per_hour * 0.97)) + 1
    end_ms = (int(time.time() * 1000) // 60_000) * 60_000 - 60_000
    start_ms = end_ms - hours * 3_600_000
    events = sim.events(start_ms, end_ms).slice(0, n_events)
    if events.num_rows < n_events:
        raise SystemExit(f"simulator gave only {events.num_rows} events")
    bodies: list[bytes] = []
    for off in range(0, n_events, batch_size):
        cols = arrow_columns(events.slice(off, min(batch_size, n_events - off)))
        rows = [
            {
                "segment_id": s,
                "timestamp": t,
                "speed": sp,
                "volume": v,
                "occupancy": o,
                "coordinates": {"latitude": la, "longitude": lo},
                "source": src,
                "quality_score": q,
            }
            for s, t, sp, v, o, la, lo, src, q in zip(
                cols["segment_id"],
                cols["timestamp"],
                cols["speed"],
                cols["volume"],
                cols["occupancy"],
                cols["latitude"],
                cols["longitude"],
                cols["source"],
                cols["quality_score"],
                strict=True,
            )
        ]
        bodies.append(orjson.dumps({"events": rows}))
    return bodies


def to_ndjson(body: bytes) -> bytes:
    """The same events, one JSON object per line (application/x-ndjson)."""
    return b"\n".join(orjson.dumps(e) for e in orjson.loads(body)["events"])


# ---------------------------------------------------------------------- fast path


def run_fast(bodies: list[bytes], profile: bool, ndjson: bool = False) -> dict[str, Any]:
    """The product's pipeline as deployed: an ingest thread decodes and validates
    each JSON body (as the REST handler does) and publishes it to the bus; the
    stream processor and its store writer run on their own threads. Timed until
    every event is windowed and written."""
    from trafficcast.config import Settings
    from trafficcast.domain.event_json import decode_batch, decode_ndjson

    decode = decode_ndjson if ndjson else decode_batch
    from trafficcast.runtime import Runtime

    with tempfile.TemporaryDirectory(prefix="tc-bench-ingest-") as tmp:
        runtime = Runtime(Settings(data_dir=Path(tmp)))
        store_calls = _time_store_methods(runtime.store)
        limits = runtime.limits
        decode_s = 0.0
        accepted = rejected = 0
        profiler = None
        if profile:
            try:
                from pyinstrument import Profiler
            except ImportError:
                console.print(
                    "[yellow]--profile needs pyinstrument: .venv/bin/pip install pyinstrument[/]"
                )
            else:
                profiler = Profiler(interval=0.001)
                profiler.start()
        runtime.processor.start()
        wall0 = time.perf_counter()
        for body in bodies:
            t0 = time.perf_counter()
            validated = decode(body, now_ms=int(time.time() * 1000), limits=limits)
            decode_s += time.perf_counter() - t0
            runtime.bus.publish(validated.events)  # blocks while the bus is full
            accepted += validated.events.num_rows
            rejected += validated.rejected_rows
        ingest_s = time.perf_counter() - wall0
        if not runtime.processor.wait_idle(600):
            raise SystemExit("the stream processor did not catch up within 10 minutes")
        wall = time.perf_counter() - wall0
        if profiler is not None:
            profiler.stop()
            out = Path(__file__).parent / "results" / "profile_ingest_embedded.txt"
            out.parent.mkdir(exist_ok=True)
            out.write_text(profiler.output_text(unicode=False, color=False, show_all=False))
            console.print(f"profile written to {out}")
        stats = runtime.processor.stats
        stored = runtime.store.count_events()
        result = {
            "wall_s": wall,
            "decode_s": decode_s,
            "ingest_s": ingest_s,
            "accepted": accepted,
            "rejected": rejected,
            "stored": stored,
            "windows": stats.windows_emitted,
            "predictions": stats.predictions,
            "duplicates": stats.duplicates,
            "late": stats.late,
            "cycles": stats.batches,
            "store_calls": store_calls,
        }
        runtime.stop()
    return result


def _time_store_methods(store: Any) -> dict[str, list[float]]:
    """Wrap the store's methods on this instance to total their time (no src change)."""
    calls: dict[str, list[float]] = {}
    # Every public method (the set changes as the store evolves), except the two below.
    names = [
        n
        for n in dir(type(store))
        if not n.startswith("_")
        and n not in ("transaction", "close")
        and callable(getattr(store, n))
    ]
    for name in names:
        inner = getattr(store, name)
        box = calls.setdefault(name, [0, 0.0, 0])  # calls, seconds, rows

        def wrapper(*a: Any, _inner: Any = inner, _box: list[float] = box, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return _inner(*a, **kw)
            finally:
                _box[0] += 1
                _box[1] += time.perf_counter() - t0
                if a and hasattr(a[0], "num_rows"):
                    _box[2] += a[0].num_rows

        setattr(store, name, wrapper)
    if hasattr(store, "transaction"):  # the COMMIT happens when the block ends
        inner_tx = store.transaction
        box = calls.setdefault("transaction (begin + commit)", [0, 0.0, 0])

        @contextlib.contextmanager
        def transaction(*a: Any, **kw: Any) -> Iterator[Any]:
            cm = inner_tx(*a, **kw)
            t0 = time.perf_counter()
            value = cm.__enter__()
            box[1] += time.perf_counter() - t0
            try:
                yield value
            except BaseException:
                if not cm.__exit__(*sys.exc_info()):
                    raise
            else:
                t1 = time.perf_counter()
                cm.__exit__(None, None, None)
                box[1] += time.perf_counter() - t1
            box[0] += 1

        store.transaction = transaction
    return calls


# --------------------------------------------------------------------- naive path

_NAIVE_DDL = """
CREATE TABLE events (
    event_id VARCHAR NOT NULL, segment_id VARCHAR NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL,
    speed DOUBLE, volume DOUBLE, occupancy DOUBLE, latitude DOUBLE, longitude DOUBLE,
    source VARCHAR, quality_score DOUBLE);
CREATE TABLE window_aggregates (
    segment_id VARCHAR NOT NULL, window_minutes INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL, window_end TIMESTAMPTZ NOT NULL,
    mean_speed DOUBLE, harmonic_mean_speed DOUBLE, volume DOUBLE, occupancy DOUBLE,
    count BIGINT NOT NULL, quality DOUBLE,
    PRIMARY KEY (segment_id, window_minutes, window_start));
CREATE TABLE latest_readings (
    segment_id VARCHAR PRIMARY KEY, "timestamp" TIMESTAMPTZ NOT NULL, speed DOUBLE,
    volume DOUBLE, occupancy DOUBLE, source VARCHAR);
"""


def _num(value: Any, name: str, lo: float, hi: float, required: bool) -> float | None:
    if value is None:
        if required:
            raise ValueError(f"{name}: missing")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name}: not a number")
    if not (lo <= value <= hi) or math.isnan(value):
        raise ValueError(f"{name}: out of range")
    return float(value)


def naive_validate(ev: dict[str, Any], now_ms: int) -> tuple[Any, ...]:
    seg = ev.get("segment_id")
    if not isinstance(seg, str) or not 0 < len(seg) <= 128:
        raise ValueError("segment_id")
    ts_text = ev.get("timestamp")
    if not isinstance(ts_text, str):
        raise ValueError("timestamp: missing")
    ts = datetime.fromisoformat(ts_text)
    if ts.tzinfo is None:
        raise ValueError("timestamp: no time zone")
    ts_ms = int(ts.timestamp() * 1000)
    if ts_ms < 946_684_800_000 or ts_ms > now_ms + 300_000:
        raise ValueError("timestamp: out of range")
    speed = _num(ev.get("speed"), "speed", 0.0, 150.0, True)
    volume = _num(ev.get("volume"), "volume", 0.0, 100_000.0, False)
    occ = _num(ev.get("occupancy"), "occupancy", 0.0, 100.0, False)
    coords = ev.get("coordinates")
    lat = lon = None
    if coords is not None:
        lat = _num(coords.get("latitude"), "latitude", -90.0, 90.0, True)
        lon = _num(coords.get("longitude"), "longitude", -180.0, 180.0, True)
    q = _num(ev.get("quality_score"), "quality_score", 0.0, 1.0, False)
    source = ev.get("source") or "api"
    if not isinstance(source, str) or len(source) > 64:
        raise ValueError("source")
    event_id = ev.get("event_id") or f"{source}/{seg}/{ts_ms}"
    return (event_id, seg, ts, ts_ms, speed, volume, occ, lat, lon, source, 1.0 if q is None else q)


def run_naive(bodies: list[bytes]) -> dict[str, Any]:
    """The usual per-event way: dicts, datetime, dict-of-dicts windows, executemany."""
    lateness_ms = 300_000
    with tempfile.TemporaryDirectory(prefix="tc-bench-naive-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "naive.duckdb"))
        con.execute(_NAIVE_DDL)
        windows: dict[int, dict[tuple[str, int], dict[str, float]]] = {1: {}, 5: {}}
        seen: set[str] = set()
        max_ts = -1
        events = rejected = n_windows = 0
        db_s = 0.0
        t0 = time.perf_counter()
        for body in bodies:
            now_ms = int(time.time() * 1000)
            doc = json.loads(body)
            rows = []
            latest: dict[str, tuple[Any, ...]] = {}
            for ev in doc["events"]:
                try:
                    (eid, seg, ts, ts_ms, speed, volume, occ, lat, lon, source, q) = naive_validate(
                        ev, now_ms
                    )
                except (ValueError, TypeError, AttributeError):
                    rejected += 1
                    continue
                if eid in seen:
                    continue
                seen.add(eid)
                late = True
                for minutes, open_windows in windows.items():
                    wms = minutes * 60_000
                    start = ts_ms - ts_ms % wms
                    if max_ts >= 0 and start + wms + lateness_ms <= max_ts:
                        continue  # too late for this window size
                    late = False
                    acc = open_windows.get((seg, start))
                    if acc is None:
                        acc = open_windows[(seg, start)] = {
                            "count": 0,
                            "speed": 0.0,
                            "inv": 0.0,
                            "inv_n": 0,
                            "volume": 0.0,
                            "volume_n": 0,
                            "occ": 0.0,
                            "occ_n": 0,
                            "quality": 0.0,
                        }
                    acc["count"] += 1
                    acc["speed"] += speed
                    if speed > 0:
                        acc["inv"] += 1.0 / speed
                        acc["inv_n"] += 1
                    if volume is not None:
                        acc["volume"] += volume
                        acc["volume_n"] += 1
                    if occ is not None:
                        acc["occ"] += occ
                        acc["occ_n"] += 1
                    acc["quality"] += q
                if late:
                    continue
                max_ts = max(max_ts, ts_ms)
                rows.append((eid, seg, ts, speed, volume, occ, lat, lon, source, q))
                prev = latest.get(seg)
                if prev is None or prev[1] <= ts:
                    latest[seg] = (seg, ts, speed, volume, occ, source)
            td = time.perf_counter()
            con.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            db_s += time.perf_counter() - td
            events += len(rows)
            # Close windows the watermark has passed; drop them after the lateness.
            for minutes, open_windows in windows.items():
                wms = minutes * 60_000
                closed = []
                for (seg, start), acc in list(open_windows.items()):
                    if start + wms <= max_ts:
                        n = acc["count"]
                        closed.append(
                            (
                                seg,
                                minutes,
                                datetime.fromtimestamp(start / 1000).astimezone(),
                                datetime.fromtimestamp((start + wms) / 1000).astimezone(),
                                acc["speed"] / n,
                                acc["inv_n"] / acc["inv"] if acc["inv"] else None,
                                acc["volume"] if acc["volume_n"] else None,
                                acc["occ"] / acc["occ_n"] if acc["occ_n"] else None,
                                n,
                                acc["quality"] / n,
                            )
                        )
                        del open_windows[(seg, start)]
                td = time.perf_counter()
                if closed:
                    con.executemany(
                        "INSERT OR REPLACE INTO window_aggregates "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        closed,
                    )
                db_s += time.perf_counter() - td
                n_windows += len(closed)
            td = time.perf_counter()
            con.executemany(
                "INSERT OR REPLACE INTO latest_readings VALUES (?, ?, ?, ?, ?, ?)",
                list(latest.values()),
            )
            db_s += time.perf_counter() - td
        wall = time.perf_counter() - t0
        con.close()
    return {
        "wall_s": wall,
        "db_s": db_s,
        "events": events,
        "rejected": rejected,
        "windows": n_windows,
    }


# --------------------------------------------------------------------------- main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--events",
        type=int,
        default=None,
        help="events through the fast path (default 2 000 000; quick 500 000)",
    )
    p.add_argument("--batch-size", type=int, default=10_000, help="events per JSON body")
    p.add_argument("--segments", type=int, default=300, help="simulated segments")
    p.add_argument(
        "--format",
        choices=["json", "ndjson"],
        default="json",
        help='body format of the fast path: {"events": [...]} or one event per line',
    )
    p.add_argument(
        "--interval",
        type=int,
        default=30,
        help="seconds between readings of one sensor (30: loop detectors; "
        "fewer: probe or camera feeds, fewer windows per event)",
    )
    p.add_argument(
        "--naive-events",
        type=int,
        default=None,
        help="events through the plain per-event pipeline, the peer "
        "(default 20 000; quick 4 000: its row-by-row writes are slow)",
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true", help="500 k events; finishes in < 60 s")
    p.add_argument(
        "--profile",
        action="store_true",
        help="profile the fast path with pyinstrument "
        "(writes bench/results/profile_ingest_embedded.txt)",
    )
    args = p.parse_args()
    n_events = args.events or (500_000 if args.quick else 2_000_000)
    if args.naive_events is None:
        args.naive_events = 4_000 if args.quick else 20_000

    header("ingest_embedded: JSON batch -> validate -> windows -> store (one process)")
    t0 = time.perf_counter()
    n_body = max(n_events, args.naive_events)
    bodies = build_bodies(n_body, args.batch_size, args.segments, args.seed, args.interval)
    mb = sum(len(b) for b in bodies) / 1e6
    console.print(
        f"built {len(bodies)} bodies of {args.batch_size:,} events "
        f"({args.segments} segments reporting every {args.interval} s, "
        f"{mb:,.0f} MB JSON) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    fast_bodies = bodies[: math.ceil(n_events / args.batch_size)]
    naive_bodies = bodies[: math.ceil(args.naive_events / args.batch_size)]
    gc.collect()

    if args.format == "ndjson":
        fast_bodies = [to_ndjson(b) for b in fast_bodies]
    fast = run_fast(fast_bodies, args.profile, ndjson=args.format == "ndjson")
    gc.collect()
    naive = run_naive(naive_bodies)

    n = fast["accepted"]
    eps = n / fast["wall_s"]
    stage_rows = [
        [
            "decode + validate (decode_batch), ingest thread busy",
            f"{fast['decode_s']:.2f}",
            fmt_int(n / fast["decode_s"]),
            f"{100 * fast['decode_s'] / fast['wall_s']:.0f} %",
        ],
        [
            "all bodies handed to the bus",
            f"{fast['ingest_s']:.2f}",
            fmt_int(n / fast["ingest_s"]),
            f"{100 * fast['ingest_s'] / fast['wall_s']:.0f} %",
        ],
        [
            "[bold]until every event is windowed and written[/]",
            f"{fast['wall_s']:.2f}",
            f"[bold]{fmt_int(eps)}[/]",
            "100 %",
        ],
    ]
    console.print(
        table(
            f"Fast path: {n:,} events in {len(fast_bodies)} JSON bodies, "
            f"{fast['cycles']} processor cycles",
            ["stage", "seconds", "events/s", "share of wall"],
            stage_rows,
        )
    )
    console.print(
        f"stored {fast['stored']:,} events, rejected {fast['rejected']:,}, duplicates "
        f"{fast['duplicates']:,}, late {fast['late']:,}; {fast['windows']:,} windows, "
        f"{fast['predictions']:,} forecasts"
    )
    store_rows = [
        [name, fmt_int(c), f"{sec:.2f}", f"{100 * sec / fast['wall_s']:.0f} %", fmt_int(rows)]
        for name, (c, sec, rows) in sorted(fast["store_calls"].items(), key=lambda kv: -kv[1][1])
        if c
    ]
    console.print(
        table(
            "Fast path: time inside store calls (DuckDB, on the writer thread, "
            "overlapping the rest)",
            ["store method", "calls", "seconds", "share of wall", "rows"],
            store_rows,
        )
    )
    naive_eps = naive["events"] / naive["wall_s"]
    compare = [
        [
            "trafficcast (REST decode -> bus -> processor -> store)",
            fmt_int(n),
            f"{fast['wall_s']:.2f}",
            fmt_int(eps),
        ],
        [
            "plain per-event Python (json + datetime + dicts + executemany)",
            fmt_int(naive["events"]),
            f"{naive['wall_s']:.2f}",
            fmt_int(naive_eps),
        ],
        [
            "  plain, without its DuckDB executemany time",
            fmt_int(naive["events"]),
            f"{naive['wall_s'] - naive['db_s']:.2f}",
            fmt_int(naive["events"] / (naive["wall_s"] - naive["db_s"])),
        ],
        ["[bold]ratio trafficcast / plain[/]", "", "", f"[bold]{eps / naive_eps:,.1f}x[/]"],
    ]
    console.print(
        table(
            "Same run, beside the usual way", ["pipeline", "events", "seconds", "events/s"], compare
        )
    )
    console.print(
        table(
            "Target (PRODUCT.md §10)",
            ["what", "target", "measured", "result"],
            [
                [
                    "ingest, embedded, batch path",
                    f">= {TARGET_EPS:,} events/s",
                    f"{fmt_int(eps)} events/s",
                    verdict(eps >= TARGET_EPS),
                ]
            ],
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
