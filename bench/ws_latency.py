"""Event to dashboard: from the POST that carried a reading to its WebSocket `traffic_event`.

Starts `trafficcast serve` as a subprocess, a WebSocket client (websockets
library, own process, subscribed to all segments) and a load generator that
posts simulator readings to `POST /api/traffic/events/batch` on a fixed clock:
by default 10 batches of 5 000 events a second (50 000 events/s), each batch one
reading for each of 5 000 segments with timestamp = the wall time it is sent.

The server coalesces `traffic_event` to at most one message per segment per
second and sends the newest reading, so each message is matched to the POST
that carried the very reading it holds: by (segment_id, timestamp second, speed
rounded as the server rounds it). Latency = receive time - wall time at which
that POST was sent.

PRODUCT.md §10 target: p99 < 1 s from ingest to the WebSocket `traffic_event`.

    .venv/bin/python bench/ws_latency.py            # 30 s of load
    .venv/bin/python bench/ws_latency.py --quick    # 10 s of load; < 60 s
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pickle
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from _common import (
    Server,
    console,
    fmt_int,
    fmt_ms,
    free_port,
    header,
    percentiles_ms,
    table,
    trafficcast_bin,
    verdict,
    wait_http,
)

TARGET_P99_MS = 1000.0


def _run(coro: Any) -> Any:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# ------------------------------------------------------------------ ws client


async def ws_client(url: str, out: Path, stop_file: Path, frame_format: str) -> None:
    """Subscribe to everything; record (receive wall time, text) until stop_file appears."""
    from websockets.asyncio.client import connect

    received: list[tuple[float, str]] = []
    closed: dict[str, Any] = {}
    async with connect(url, max_size=None, max_queue=None) as ws:
        await ws.send(orjson.dumps({"action": "subscribe", "format": frame_format}).decode())
        while True:
            reply = orjson.loads(await ws.recv())
            if reply.get("type") == "subscribed":
                break
        print("ready", flush=True)
        try:
            while not stop_file.exists():
                try:
                    text = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                received.append((time.time(), text))
        except Exception as exc:  # the server closed us (e.g. 1013 client too slow)
            closed = {"error": repr(exc), "at": time.time()}
    out.write_bytes(pickle.dumps({"received": received, "closed": closed}))


# ------------------------------------------------------------------ load


def build_templates(
    segments: int, n_templates: int, seed: int
) -> tuple[list[bytes], list[dict[str, float]]]:
    """One batch body per simulator slot, with a placeholder timestamp shared by the batch."""
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed))
    interval = sim.config.reading_interval_s * 1000
    start = (int(time.time() * 1000) // 3_600_000) * 3_600_000  # inside one hour block
    ev = sim.events(start, start + n_templates * interval)
    ts = ev.column("timestamp").cast("int64").to_numpy()
    seg = ev.column("segment_id").to_pylist()
    cols = {
        c: ev.column(c).to_numpy(zero_copy_only=False)
        for c in ("speed", "volume", "occupancy", "latitude", "longitude", "quality_score")
    }
    bodies: list[bytes] = []
    speeds: list[dict[str, float]] = []
    for t in np.unique(ts):
        rows = np.flatnonzero(ts == t)
        events = [
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
            for i in rows
        ]
        bodies.append(orjson.dumps({"events": events}))
        # The server rounds speed to 3 digits with numpy before sending.
        rounded = np.round(cols["speed"][rows], 3).tolist()
        speeds.append({seg[i]: r for i, r in zip(rows.tolist(), rounded, strict=True)})
    return bodies, speeds


def iso_ms(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def load(
    url: str, bodies: list[bytes], batches_per_s: float, warmup: float, duration: float
) -> dict[str, Any]:
    """Post batches on a fixed clock (open loop); returns one record per batch."""
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
        total = int((warmup + duration) * batches_per_s)
        start = clock() + 0.05
        for k in range(total):
            scheduled = start + k / batches_per_s
            delay = scheduled - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            slot = k % len(bodies)
            now = time.time()
            stamp = iso_ms(now)
            body = bodies[slot].replace(b'"__TS__"', b'"' + stamp.encode() + b'"')
            rec = {
                "k": k,
                "slot": slot,
                "sent": now,
                "second": stamp[:19] + "Z",
                "warmup": k < warmup * batches_per_s,
                "status": 0,
                "accepted": 0,
                "lag": max(0.0, clock() - scheduled),
            }
            sent.append(rec)
            tasks.append(asyncio.create_task(post(rec, body)))
        await asyncio.gather(*tasks)
    return {"batches": sent}


# ------------------------------------------------------------------ main


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="measured seconds of load (default 30; quick 10)",
    )
    p.add_argument(
        "--warmup",
        type=float,
        default=2.0,
        help="seconds of load before measuring (segments get registered)",
    )
    p.add_argument("--rate", type=int, default=50_000, help="events/s posted")
    p.add_argument(
        "--batch-size",
        type=int,
        default=5_000,
        help="events per POST = simulated segments (one reading each)",
    )
    p.add_argument(
        "--templates",
        type=int,
        default=20,
        help="distinct simulator slots cycled through (> batches per second)",
    )
    p.add_argument("--drain", type=float, default=3.0, help="seconds to listen after the load")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quick", action="store_true", help="10 s of load; finishes in < 60 s")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the server, e.g. TRAFFICCAST_WS_QUEUE_SIZE=10000",
    )
    p.add_argument(
        "--format",
        choices=["batch", "single"],
        default="batch",
        help="WebSocket frames: batch (JSON arrays, what the dashboard asks for) "
        "or single (one message per frame)",
    )
    p.add_argument(
        "--ws-client", nargs=4, metavar=("URL", "OUT", "STOP", "FORMAT"), help=argparse.SUPPRESS
    )
    args = p.parse_args()
    if args.ws_client:
        url, out, stop, frame_format = args.ws_client
        _run(ws_client(url, Path(out), Path(stop), frame_format))
        return 0
    duration = args.duration or (10.0 if args.quick else 30.0)
    batches_per_s = args.rate / args.batch_size
    if args.templates <= batches_per_s:
        args.templates = int(batches_per_s) + 2  # a slot must not repeat within one second

    header("ws_latency: POST batch -> stream processor -> WebSocket traffic_event")
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        console.print("[red]needs aiohttp for the load generator: .venv/bin/pip install aiohttp")
        return 0
    t0 = time.perf_counter()
    bodies, speeds = build_templates(args.batch_size, args.templates, args.seed)
    per_batch = [len(s) for s in speeds]
    console.print(
        f"built {len(bodies)} batch templates of ~{int(np.mean(per_batch)):,} events "
        f"({args.batch_size:,} simulated segments, {len(bodies[0]) / 1e6:.1f} MB each) "
        f"in {time.perf_counter() - t0:.1f} s; posting {batches_per_s:g} batches/s"
    )

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tc-bench-ws-")))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(kv.split("=", 1) for kv in args.server_env)
        server = stack.enter_context(
            Server(
                [trafficcast_bin(), "serve", "--port", str(port), "--data-dir", str(tmp / "data")],
                tmp / "server.log",
                env=env,
            )
        )
        wait_http(f"{base}/health", 60, server=server)

        out, stop = tmp / "ws.pickle", tmp / "stop"
        client = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--ws-client",
                f"ws://127.0.0.1:{port}/ws/traffic",
                str(out),
                str(stop),
                args.format,
            ],
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        stack.callback(lambda: client.poll() is None and client.kill())
        assert client.stdout is not None
        if client.stdout.readline().strip() != "ready":
            console.print("[red]WebSocket client failed to subscribe")
            return 0

        t_load = time.time()
        result = _run(
            load(f"{base}/api/traffic/events/batch", bodies, batches_per_s, args.warmup, duration)
        )
        t_end = time.time()
        time.sleep(args.drain)
        stop.touch()
        client.wait(60)
        data = pickle.loads(out.read_bytes())
        health = {}
        with contextlib.suppress(Exception):
            import httpx

            health = httpx.get(f"{base}/health", timeout=5).json().get("checks", {})
        server_alive = server.alive()
        log_tail = server.log_tail(15)

    # -------------------------------------------------------------- analysis
    batches = result["batches"]
    by_second: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for b in batches:
        by_second[b["second"]].append(b)
    kinds: dict[str, int] = defaultdict(int)
    lat_measured: list[float] = []
    lat_sent_at: list[float] = []
    unmatched = ambiguous = warm_msgs = 0
    recv_times = []
    messages = []
    for recv, text in data["received"]:
        doc = orjson.loads(text)  # a frame is one message, or an array in "batch" format
        messages.extend((recv, m) for m in (doc if isinstance(doc, list) else [doc]))
    for recv, msg in messages:
        kind = msg.get("type", "?")
        kinds[kind] += 1
        if kind != "traffic_event":
            continue
        recv_times.append(recv)
        seg, d = msg["segment_id"], msg["data"]
        matches = [
            b for b in by_second.get(d["timestamp"], []) if speeds[b["slot"]].get(seg) == d["speed"]
        ]
        if not matches:
            unmatched += 1
            continue
        if len(matches) > 1:
            ambiguous += 1  # counted against the earliest POST: the larger latency
        b = matches[0]
        if b["warmup"]:
            warm_msgs += 1
            continue
        lat_measured.append(recv - b["sent"])
        lat_sent_at.append(b["sent"])

    measured = [b for b in batches if not b["warmup"]]
    ok = [b for b in measured if b["status"] == 201]
    accepted = sum(b["accepted"] for b in measured)
    span = (measured[-1]["sent"] - measured[0]["sent"]) + 1 / batches_per_s if measured else 1
    codes: dict[int, int] = defaultdict(int)
    for b in measured:
        codes[b["status"]] += 1
    post_ms = [(b["done"] - b["sent"]) for b in ok]
    lag_max = max((b["lag"] for b in measured), default=0.0) * 1000
    m_start = measured[0]["sent"] if measured else t_load
    in_window = [t for t in recv_times if m_start <= t <= t_end]
    msg_rate = len(in_window) / (t_end - m_start)

    pct = percentiles_ms(lat_measured)
    pp = percentiles_ms(post_ms)
    console.print(
        table(
            f"Load: {duration:g} s measured after {args.warmup:g} s warm-up, open loop",
            ["what", "value"],
            [
                ["target rate", f"{args.rate:,} events/s ({batches_per_s:g} POSTs/s)"],
                [
                    "posted",
                    f"{fmt_int(sum(per_batch[b['slot']] for b in measured) / span)} events/s",
                ],
                [
                    "accepted (201)",
                    f"{fmt_int(accepted / span)} events/s ({len(ok)}/{len(measured)} POSTs)",
                ],
                ["POST status codes", dict(codes)],
                [
                    "POST round trip p50 / p99 / max ms",
                    f"{fmt_ms(pp['p50'])} / {fmt_ms(pp['p99'])} / {fmt_ms(pp['max'])}",
                ],
                ["load generator max lag behind schedule", f"{lag_max:.1f} ms"],
                ["WebSocket messages by type", dict(kinds)],
                ["traffic_event messages/s received (measured window)", fmt_int(msg_rate)],
                [
                    "matched / unmatched / ambiguous / warm-up",
                    f"{len(lat_measured):,} / {unmatched:,} / {ambiguous:,} / {warm_msgs:,}",
                ],
                ["WebSocket closed by server", data["closed"] or "no"],
            ],
        )
    )
    console.print(
        table(
            f"Event to dashboard latency (POST sent -> traffic_event received); target p99 < "
            f"{TARGET_P99_MS:,.0f} ms",
            ["messages", "p50 ms", "p90 ms", "p99 ms", "max ms", "msgs/s", "result"],
            [
                [
                    fmt_int(len(lat_measured)),
                    fmt_ms(pct["p50"]),
                    fmt_ms(pct["p90"]),
                    fmt_ms(pct["p99"]),
                    fmt_ms(pct["max"]),
                    fmt_int(msg_rate),
                    verdict(
                        bool(lat_measured) and pct["p99"] < TARGET_P99_MS and not data["closed"]
                    ),
                ]
            ],
        )
    )
    if lat_measured:
        step = max(1.0, duration / 10)
        at = np.asarray(lat_sent_at) - m_start
        lat = np.asarray(lat_measured)
        rows = []
        for lo in np.arange(0.0, duration, step):
            sel = lat[(at >= lo) & (at < lo + step)]
            if sel.size:
                q = percentiles_ms(sel)
                rows.append(
                    [
                        f"{lo:4.0f}-{lo + step:.0f} s",
                        fmt_int(sel.size),
                        fmt_ms(q["p50"]),
                        fmt_ms(q["p99"]),
                        fmt_ms(q["max"]),
                    ]
                )
        console.print(
            table(
                "Latency over the run (by POST send time)",
                ["window", "messages", "p50 ms", "p99 ms", "max ms"],
                rows,
            )
        )
    sp = health.get("stream_processor", {})
    if sp:
        console.print(
            f"server after the run: stream processor {sp.get('status')}, lag "
            f"{sp.get('lag_events')} events, errors {sp.get('errors')}; bus depth "
            f"{health.get('bus', {}).get('depth_events')}"
        )
    if not server_alive:
        console.print(f"[red]server died; log tail:[/]\n{log_tail}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
