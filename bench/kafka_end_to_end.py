"""Scaled out, end to end: POST /api/traffic/events/batch -> Kafka -> `trafficcast process`
-> PostgreSQL + Kafka live topics -> `trafficcast serve` -> WebSocket.

Starts a private Kafka and PostgreSQL (scripts/services/*.sh via tests/services.py), one
`trafficcast process` and one `trafficcast serve` (TRAFFICCAST_BUS=kafka://HOST:PORT?
partitions=4, TRAFFICCAST_DATABASE_URL, TRAFFICCAST_DATA_DIR in a temp folder), a
WebSocket client in its own process subscribed to "*" on /ws/traffic, and an open-loop
load generator posting live readings (timestamp = the wall time of the send).

Load: --segments simulated segments (default 2 000), each reporting once every --period
seconds (default 2 s), split into --posts-per-period groups posted one after the other
(default 8: 4 POSTs a second of 250 readings, 1 000 events/s). The server sends at most
one `traffic_event` per segment per second (live_interval_ms) with a timestamp of second
resolution; a segment reporting every 2 s is never held back by that, and (segment,
timestamp second) names one reading, so each reading's latency is exact:
    receive time of its first `traffic_event` - wall time at which its POST started.
Windows: a window closes when the processor's watermark (the newest event time) passes
its end, i.e. with the first POST whose readings are stamped at or after window_end;
window latency = receive time of the `window` message - start of that POST.

Target (PRODUCT.md §10): p99 < 1 s from ingest to the WebSocket `traffic_event`, every
reading delivered (>= 99 % matched).

    .venv/bin/python bench/kafka_end_to_end.py            # 40 s of load, ~1.5 min
    .venv/bin/python bench/kafka_end_to_end.py --quick    # 15 s of load, < 1 min
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from _common import (
    ROOT,
    Server,
    console,
    fmt_int,
    fmt_ms,
    header,
    src_digest,
    table,
    trafficcast_bin,
    verdict,
)
from trafficcast.api.background import free_port

sys.path.insert(0, str(ROOT))  # tests/services.py starts the private services

TARGET_P99_MS = 1000.0
MIN_MATCHED = 0.99
RESULTS = ROOT / "bench" / "results"


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# ------------------------------------------------------------------ ws client


async def ws_client(url: str, out: Path, stop_file: Path) -> None:
    """Subscribe to "*"; record (receive wall time, frame text) until stop_file appears."""
    from websockets.asyncio.client import connect

    received: list[tuple[float, str]] = []
    closed: dict[str, Any] = {}
    async with connect(url, max_size=None, max_queue=None) as ws:
        command = {"action": "subscribe", "segment_ids": ["*"], "format": "batch"}
        await ws.send(orjson.dumps(command).decode())
        while True:
            reply = orjson.loads(await ws.recv())
            if isinstance(reply, dict) and reply.get("type") == "subscribed":
                break
        print("ready", flush=True)
        try:
            while not stop_file.exists():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                received.append((time.time(), str(text)))
        except Exception as exc:  # the server closed us (e.g. 1013 client too slow)
            closed = {"error": repr(exc), "at": time.time()}
    out.write_bytes(pickle.dumps({"received": received, "closed": closed}))


# ------------------------------------------------------------------ load


def build_templates(segments: int, groups: int, slots: int, seed: int) -> list[list[bytes]]:
    """templates[slot][group]: a batch body of that group's readings with a placeholder time."""
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    sim = Simulator(
        SimulatorConfig(
            n_segments=segments, seed=seed, dropout_probability=0.0, noise_probability=0.0
        )
    )
    group_of = {s: i * groups // segments for i, s in enumerate(sim.segment_ids)}
    interval = sim.config.reading_interval_s * 1000
    start = (int(time.time() * 1000) // 3_600_000) * 3_600_000
    ev = sim.events(start, start + slots * interval)
    ts = ev.column("timestamp").cast("int64").to_numpy()
    seg = ev.column("segment_id").to_pylist()
    cols = {
        c: ev.column(c).to_numpy(zero_copy_only=False)
        for c in ("speed", "volume", "occupancy", "latitude", "longitude", "quality_score")
    }
    out: list[list[bytes]] = []
    for t in np.unique(ts):
        by_group: list[list[dict[str, Any]]] = [[] for _ in range(groups)]
        for i in np.flatnonzero(ts == t).tolist():
            by_group[group_of[seg[i]]].append(
                {
                    "segment_id": seg[i],
                    "timestamp": "__TS__",
                    "speed": float(cols["speed"][i]),
                    "volume": float(cols["volume"][i]),
                    "occupancy": float(cols["occupancy"][i]),
                    "coordinates": {
                        "latitude": float(cols["latitude"][i]),
                        "longitude": float(cols["longitude"][i]),
                    },
                    "source": "bench",
                    "quality_score": float(cols["quality_score"][i]),
                }
            )
        out.append([orjson.dumps({"events": rows}) for rows in by_group])
    return out


def iso_ms(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def load(
    url: str, templates: list[list[bytes]], groups: int, posts_per_s: float, seconds: float
) -> list[dict[str, Any]]:
    """Post on a fixed clock (open loop); one record per POST."""
    import aiohttp

    sent: list[dict[str, Any]] = []
    clock = time.perf_counter
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=16), timeout=aiohttp.ClientTimeout(total=30)
    ) as session:

        async def post(rec: dict[str, Any], body: bytes) -> None:
            try:
                async with session.post(
                    url, data=body, headers={"Content-Type": "application/json"}
                ) as r:
                    payload = await r.read()
                    rec["status"] = r.status
                    if r.status == 201:
                        rec["accepted"] = orjson.loads(payload).get("accepted", 0)
            except Exception as exc:
                rec["status"] = -1
                rec["error"] = repr(exc)
            rec["done"] = time.time()

        tasks = []
        start = clock() + 0.05
        for k in range(int(seconds * posts_per_s)):
            scheduled = start + k / posts_per_s
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            group = k % groups
            slot = (k // groups) % len(templates)
            now = time.time()
            stamp = iso_ms(now)
            body = templates[slot][group].replace(b'"__TS__"', b'"' + stamp.encode() + b'"')
            rec = {
                "k": k,
                "group": group,
                "slot": slot,
                "sent": now,
                "ts_ms": int(datetime.fromisoformat(stamp).timestamp() * 1000),
                "second": stamp[:19] + "Z",
                "status": 0,
                "accepted": 0,
                "lag": max(0.0, clock() - scheduled),
            }
            sent.append(rec)
            tasks.append(asyncio.create_task(post(rec, body)))
        await asyncio.gather(*tasks)
    return sent


# ------------------------------------------------------------------ helpers


def wait_until(what: str, done: Any, timeout: float, server: Server | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server is not None and not server.alive():
            raise SystemExit(f"{what}: the process exited; log tail:\n{server.log_tail()}")
        with contextlib.suppress(Exception):
            if done():
                return
        time.sleep(0.2)
    raise SystemExit(f"timed out waiting for {what}")


def _kill_if_running(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()


def pcts(values_s: list[float]) -> dict[str, float]:
    a = np.asarray(values_s, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {k: float("nan") for k in ("p50", "p95", "p99", "max")}
    p50, p95, p99 = np.percentile(a, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99), "max": float(a.max())}


def _segments_of_group(templates: list[list[bytes]], group: int) -> list[str]:
    body = orjson.loads(templates[0][group])
    return [e["segment_id"] for e in body["events"]]


# ------------------------------------------------------------------ main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=None, help="measured seconds (40; quick 15)")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring")
    p.add_argument("--segments", type=int, default=2000, help="simulated segments")
    p.add_argument(
        "--period",
        type=float,
        default=2.0,
        help="seconds between two readings of one segment (>= 2 keeps the 1 s "
        "coalescing of traffic_event from holding a reading back)",
    )
    p.add_argument(
        "--posts-per-period",
        type=int,
        default=8,
        help="POSTs per period; each carries segments / posts-per-period readings",
    )
    p.add_argument("--partitions", type=int, default=4)
    p.add_argument("--drain", type=float, default=5.0, help="seconds to listen after the load")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true", help="15 s of load")
    p.add_argument("--json", type=Path, default=RESULTS / "kafka_end_to_end.json")
    p.add_argument("--ws-client", nargs=3, metavar=("URL", "OUT", "STOP"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.ws_client:
        url, out, stop = args.ws_client
        _run(ws_client(url, Path(out), Path(stop)))
        return 0
    duration = args.duration or (15.0 if args.quick else 40.0)
    groups = args.posts_per_period
    posts_per_s = groups / args.period
    rate = args.segments / args.period

    header("kafka_end_to_end: POST -> Kafka -> trafficcast process -> Kafka -> serve -> WebSocket")
    from tests.services import start_service

    t0 = time.perf_counter()
    slots = 20
    templates = build_templates(args.segments, groups, slots, args.seed)
    console.print(
        f"built {slots} x {groups} batch templates in {time.perf_counter() - t0:.1f} s: "
        f"{args.segments:,} segments, each every {args.period:g} s; {posts_per_s:g} POSTs/s of "
        f"~{args.segments // groups:,} readings = {rate:,.0f} events/s"
    )
    group_segments = [_segments_of_group(templates, g) for g in range(groups)]

    services = []
    # Removed last: the services' state (pid files) is in it.
    tmp = Path(tempfile.mkdtemp(prefix="tc-bench-e2e-"))
    try:
        with contextlib.ExitStack() as stack:
            kafka = start_service("kafka", tmp / "services")
            services.append(kafka)
            pg = start_service("postgres", tmp / "services")
            services.append(pg)
            env = {
                "TRAFFICCAST_BUS": f"kafka://{kafka.url}?partitions={args.partitions}",
                "TRAFFICCAST_DATABASE_URL": pg.url,
                "TRAFFICCAST_DATA_DIR": str(tmp / "data"),
                "TRAFFICCAST_CONSUMER_GROUP": f"bench-processors-{uuid.uuid4().hex[:8]}",
                "TRAFFICCAST_LOG_LEVEL": "INFO",
            }
            processor = stack.enter_context(
                Server(
                    [trafficcast_bin(), "process", "--report-every", "5"],
                    tmp / "process.log",
                    env=env,
                )
            )
            wait_until(
                "the processor to own partitions",
                lambda: "assigned partitions" in processor.log_path.read_text(errors="replace"),
                90,
                processor,
            )
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            api = stack.enter_context(
                Server(
                    [trafficcast_bin(), "serve", "--port", str(port)], tmp / "serve.log", env=env
                )
            )
            import httpx

            wait_until(
                "the API",
                lambda: httpx.get(f"{base}/health", timeout=2).status_code in (200, 503),
                90,
                api,
            )
            out, stop = tmp / "ws.pickle", tmp / "stop"
            client = subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--ws-client",
                    f"ws://127.0.0.1:{port}/ws/traffic",
                    str(out),
                    str(stop),
                ],
                stdout=subprocess.PIPE,
                text=True,
                start_new_session=True,
            )
            stack.callback(_kill_if_running, client)
            assert client.stdout is not None
            if client.stdout.readline().strip() != "ready":
                console.print("[red]WebSocket client failed to subscribe")
                return 0

            t_load = time.time()
            batches = _run(
                load(
                    f"{base}/api/traffic/events/batch",
                    templates,
                    groups,
                    posts_per_s,
                    args.warmup + duration,
                )
            )
            time.sleep(args.drain)
            stop.touch()
            client.wait(60)
            data = pickle.loads(out.read_bytes())
            health: dict[str, Any] = {}
            with contextlib.suppress(Exception):
                health = httpx.get(f"{base}/health", timeout=5).json()
            alive = {"process": processor.alive(), "serve": api.alive()}
            tails = {"process": processor.log_tail(8), "serve": api.log_tail(8)}
    finally:  # the subprocesses have stopped (ExitStack); now the services go
        for service in reversed(services):
            with contextlib.suppress(Exception):
                service.destroy()
        shutil.rmtree(tmp, ignore_errors=True)

    # -------------------------------------------------------------- analysis
    m_start = t_load + args.warmup
    measured = [b for b in batches if b["sent"] >= m_start]
    sent_at: dict[tuple[str, str], float] = {}
    for b in measured:
        if b["status"] == 201:
            for seg in group_segments[b["group"]]:
                sent_at[(seg, b["second"])] = b["sent"]
    # Window closes: the first POST stamped at or after a window's end.
    stamps = [b["ts_ms"] for b in batches]
    messages: list[tuple[float, dict[str, Any]]] = []
    for recv, text in data["received"]:
        doc = orjson.loads(text)
        messages.extend((recv, m) for m in (doc if isinstance(doc, list) else [doc]))
    kinds: dict[str, int] = defaultdict(int)
    event_lat: dict[tuple[str, str], float] = {}
    window_lat: dict[int, list[float]] = defaultdict(list)
    seen_windows: set[tuple[str, int, str]] = set()
    for recv, msg in messages:
        kind = msg.get("type", "?")
        kinds[kind] += 1
        d = msg.get("data", {})
        if kind == "traffic_event":
            key = (msg["segment_id"], d["timestamp"])
            if key in sent_at and key not in event_lat:
                event_lat[key] = recv - sent_at[key]
        elif kind == "window":
            wkey = (msg["segment_id"], int(d["window_minutes"]), str(d["window_start"]))
            if wkey in seen_windows:
                continue  # a re-emission (late event)
            seen_windows.add(wkey)
            end_ms = int(datetime.fromisoformat(d["window_end"]).timestamp() * 1000)
            i = bisect.bisect_left(stamps, end_ms)
            if i < len(batches) and batches[i]["sent"] >= m_start:
                window_lat[int(d["window_minutes"])].append(recv - batches[i]["sent"])

    lat = list(event_lat.values())
    pct = pcts(lat)
    matched = len(lat) / max(1, len(sent_at))
    ok = bool(lat) and pct["p99"] < TARGET_P99_MS and matched >= MIN_MATCHED
    codes: dict[int, int] = defaultdict(int)
    for b in measured:
        codes[b["status"]] += 1
    post = pcts([b["done"] - b["sent"] for b in measured if b["status"] == 201])
    lag_max = max((b["lag"] for b in measured), default=0.0) * 1000
    accepted = sum(b["accepted"] for b in measured)

    console.print(
        table(
            f"Load: {duration:g} s measured after {args.warmup:g} s warm-up, open loop",
            ["what", "value"],
            [
                [
                    "rate",
                    f"{rate:,.0f} events/s: {args.segments:,} segments every {args.period:g} s, "
                    f"{posts_per_s:g} POSTs/s",
                ],
                [
                    "accepted (201)",
                    f"{fmt_int(accepted / duration)} events/s "
                    f"({codes.get(201, 0)}/{len(measured)} POSTs)",
                ],
                ["POST status codes", dict(codes)],
                [
                    "POST round trip p50 / p99 / max ms (includes the Kafka ack)",
                    f"{fmt_ms(post['p50'])} / {fmt_ms(post['p99'])} / {fmt_ms(post['max'])}",
                ],
                ["load generator max lag behind schedule", f"{lag_max:.1f} ms"],
                ["WebSocket messages by type", dict(kinds)],
                [
                    "readings posted (measured) / matched to a traffic_event",
                    f"{len(sent_at):,} / {len(lat):,} ({100 * matched:.2f} %)",
                ],
                ["WebSocket closed by server", data["closed"] or "no"],
            ],
        )
    )
    rows = [
        [
            "POST start -> traffic_event",
            fmt_int(len(lat)),
            fmt_ms(pct["p50"]),
            fmt_ms(pct["p95"]),
            fmt_ms(pct["p99"]),
            fmt_ms(pct["max"]),
            verdict(ok),
        ]
    ]
    window_pcts: dict[int, dict[str, float]] = {}
    for minutes in sorted(window_lat):
        w = window_pcts[minutes] = pcts(window_lat[minutes])
        rows.append(
            [
                f"closing POST start -> {minutes}-min window",
                fmt_int(len(window_lat[minutes])),
                fmt_ms(w["p50"]),
                fmt_ms(w["p95"]),
                fmt_ms(w["p99"]),
                fmt_ms(w["max"]),
                "-",
            ]
        )
    console.print(
        table(
            f"Latency with Kafka and PostgreSQL in the path; target p99 < {TARGET_P99_MS:,.0f} ms "
            f"and >= {100 * MIN_MATCHED:.0f} % of readings delivered",
            ["path", "messages", "p50 ms", "p95 ms", "p99 ms", "max ms", "result"],
            rows,
        )
    )
    if lat:
        keys = list(event_lat)
        at = np.asarray([sent_at[k] for k in keys]) - m_start
        values = np.asarray([event_lat[k] for k in keys])
        step = max(1.0, duration / 8)
        over = []
        for lo in np.arange(0.0, duration, step):
            sel = values[(at >= lo) & (at < lo + step)].tolist()
            if sel:
                q = pcts(sel)
                over.append(
                    [
                        f"{lo:4.0f}-{lo + step:.0f} s",
                        fmt_int(len(sel)),
                        fmt_ms(q["p50"]),
                        fmt_ms(q["p99"]),
                        fmt_ms(q["max"]),
                    ]
                )
        console.print(
            table(
                "traffic_event latency over the run (by POST start)",
                ["window", "readings", "p50 ms", "p99 ms", "max ms"],
                over,
            )
        )
    checks = health.get("checks", {})
    if checks:
        console.print(
            f"API /health after the run: {health.get('status')}; "
            + json.dumps(checks, default=str)[:600]
        )
    for name, up in alive.items():
        if not up:
            console.print(f"[red]{name} died; log tail:[/]\n{tails[name]}")

    result = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "src": src_digest(),
        "command": " ".join(sys.argv),
        "segments": args.segments,
        "period_s": args.period,
        "posts_per_s": posts_per_s,
        "events_per_s": rate,
        "duration_s": duration,
        "warmup_s": args.warmup,
        "partitions": args.partitions,
        "post_status": dict(codes),
        "post_ms": post,
        "messages": dict(kinds),
        "readings": len(sent_at),
        "matched": len(lat),
        "traffic_event_ms": pct,
        "window_ms": {str(k): v for k, v in window_pcts.items()},
        "window_counts": {str(k): len(v) for k, v in window_lat.items()},
        "ws_closed": data["closed"],
        "pass": ok,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2, default=str))
    console.print(f"results written to {args.json}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
