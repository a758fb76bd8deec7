"""API reads: latency at a steady 1 000 requests/s, and saturated throughput beside a bare endpoint.

Starts `trafficcast demo --segments 300 --history-hours 6` as a subprocess (so
there are stored events and issued forecasts), then for
    GET /api/predictions/latest
    GET /api/traffic/events?segment_id=<an id>
(a) open loop: requests are sent on a fixed clock (default 1 000/s) whatever the
    responses do, and latency is measured from the *scheduled* send time to the
    end of the response, so a stalled server is not hidden (no coordinated
    omission). asyncio + aiohttp (or httpx) with a connection pool, on uvloop.
(b) saturated: `wrk -t1 -c32 -d10s --latency` against the same URLs and, in the
    same run, against a bare uvicorn app serving the captured response bytes from
    memory (same uvicorn settings); the ratio is trafficcast / bare.

PRODUCT.md §10 target: p99 < 25 ms at a steady 1 000 requests/s; saturated
throughput >= 60 % of a bare endpoint serving the same bytes.

    .venv/bin/python bench/api_reads.py            # 20 s open loop, wrk 10 s
    .venv/bin/python bench/api_reads.py --quick    # 5 s open loop, wrk 3 s; < 60 s

wrk is needed for (b): `apt-get update && apt-get install -y wrk` (Debian/Ubuntu).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson

from _common import (
    Server,
    console,
    fmt_int,
    fmt_ms,
    free_port,
    header,
    table,
    trafficcast_bin,
    verdict,
    wait_http,
)
from _load import run_open_loop, run_wrk

TARGET_P99_MS = 25.0
TARGET_RATIO = 0.60


# ------------------------------------------------------------------ bare server


def serve_bare(port: int, kind: str, routes_file: Path) -> None:
    """The peer: one route per URL returning captured bytes from memory."""
    import uvicorn

    routes = {
        path: Path(file).read_bytes() for path, file in json.loads(routes_file.read_text()).items()
    }
    app: Any
    if kind == "asgi":

        async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":
                while True:
                    msg = await receive()
                    if msg["type"] == "lifespan.startup":
                        await send({"type": "lifespan.startup.complete"})
                    elif msg["type"] == "lifespan.shutdown":
                        await send({"type": "lifespan.shutdown.complete"})
                        return
            body = routes.get(scope["path"])
            status = 200 if body is not None else 404
            body = body if body is not None else b'{"error":"not found"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
    else:
        from fastapi import FastAPI
        from fastapi.responses import Response

        app = FastAPI()
        for path, body in routes.items():

            def endpoint(_body: bytes = body) -> Response:
                return Response(content=_body, media_type="application/json")

            app.add_api_route(path, endpoint, methods=["GET"])
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ------------------------------------------------------------------------- main


def wait_history_loaded(base: str, timeout: float) -> None:
    """Wait until the demo's history is through the pipeline (bus empty twice in a row)."""
    import httpx

    deadline = time.monotonic() + timeout
    calm = 0
    with httpx.Client(timeout=5) as c:
        while time.monotonic() < deadline and calm < 2:
            with contextlib.suppress(Exception):
                checks = c.get(f"{base}/health").json().get("checks", {})
                depth = checks.get("bus", {}).get("depth_events", 0)
                lag = checks.get("stream_processor", {}).get("lag_events", 0) or 0
                calm = calm + 1 if depth == 0 and lag == 0 else 0
            time.sleep(0.5)


def _has_predictions(body: bytes) -> bool:
    with contextlib.suppress(Exception):
        return len(orjson.loads(body).get("predictions", [])) > 0
    return False


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--duration",
        type=float,
        default=None,
        help="open-loop seconds per URL (default 20; quick 5)",
    )
    p.add_argument("--rate", type=float, default=1000.0, help="open-loop requests/s")
    p.add_argument("--pool", type=int, default=64, help="client connection pool size")
    p.add_argument(
        "--client",
        choices=["aiohttp", "httpx"],
        default=None,
        help="open-loop HTTP client (default aiohttp when installed; httpx tops "
        "out near 1 000 req/s on 2 cores, too close to the rate to measure it)",
    )
    p.add_argument(
        "--wrk-duration", type=int, default=None, help="wrk seconds per URL (default 10; quick 3)"
    )
    p.add_argument("--wrk-connections", type=int, default=32)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument(
        "--wrk-repeats",
        type=int,
        default=1,
        help="alternate trafficcast and bare wrk runs this many times; the median "
        "run of each is reported (the ratio moves several points run to run)",
    )
    p.add_argument(
        "--bare",
        default=None,
        help="comma list of bare peers: fastapi (judged), asgi "
        "(default fastapi,asgi; quick fastapi)",
    )
    p.add_argument(
        "--bare-open-loop",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also run the open loop against the bare peer (default on; quick off)",
    )
    p.add_argument("--segments", type=int, default=300)
    p.add_argument("--history-hours", type=float, default=6.0)
    p.add_argument("--startup-timeout", type=float, default=180.0)
    p.add_argument("--quick", action="store_true", help="short phases; finishes in < 60 s")
    p.add_argument(
        "--bare-server", nargs=3, metavar=("PORT", "KIND", "ROUTES_JSON"), help=argparse.SUPPRESS
    )
    args = p.parse_args()
    if args.bare_server:
        port, kind, routes = args.bare_server
        serve_bare(int(port), kind, Path(routes))
        return 0
    duration = args.duration or (5.0 if args.quick else 20.0)
    wrk_s = args.wrk_duration or (3 if args.quick else 10)
    bares = (args.bare or ("fastapi" if args.quick else "fastapi,asgi")).split(",")
    bare_open = (not args.quick) if args.bare_open_loop is None else args.bare_open_loop
    have_wrk = shutil.which("wrk") is not None
    client_kind = args.client
    if client_kind is None:
        try:
            import aiohttp  # noqa: F401

            client_kind = "aiohttp"
        except ImportError:
            client_kind = "httpx"
            console.print(
                "[yellow]aiohttp not installed; using httpx, which itself saturates "
                "near 1 000 req/s here. Install: .venv/bin/pip install aiohttp[/]"
            )

    header("api_reads: open loop at a fixed rate, and saturated beside a bare endpoint")
    if not have_wrk:
        console.print(
            "[bold yellow]wrk not found: the saturated part (b) is skipped. Install "
            "it with: apt-get update && apt-get install -y wrk[/]"
        )
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tc-bench-api-")))
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        server = stack.enter_context(
            Server(
                [
                    trafficcast_bin(),
                    "demo",
                    "--port",
                    str(port),
                    "--data-dir",
                    str(tmp / "data"),
                    "--segments",
                    str(args.segments),
                    "--history-hours",
                    str(args.history_hours),
                ],
                tmp / "demo.log",
            )
        )
        wait_http(f"{base}/health", args.startup_timeout, server=server)
        preds = wait_http(
            f"{base}/api/predictions/latest",
            args.startup_timeout,
            ok=_has_predictions,
            server=server,
        )
        segment = orjson.loads(preds)["predictions"][0]["segment_id"]
        wait_history_loaded(base, args.startup_timeout)
        console.print(
            f"demo server ready in {time.perf_counter() - t0:.1f} s "
            f"(pid {server.proc.pid if server.proc else '?'}, port {port})"
        )

        urls = {
            "GET /api/predictions/latest": "/api/predictions/latest",
            f"GET /api/traffic/events?segment_id={segment}": (
                f"/api/traffic/events?segment_id={segment}"
            ),
        }
        routes: dict[str, str] = {}
        import httpx

        with httpx.Client() as c:
            for i, path in enumerate(urls.values()):
                r = c.get(base + path)
                f = tmp / f"body{i}.json"
                f.write_bytes(r.content)
                routes[path.split("?")[0]] = str(f)
                doc = orjson.loads(r.content)
                n_rows = len(doc.get("predictions", doc.get("events", [])))
                console.print(
                    f"  {path}: HTTP {r.status_code}, {len(r.content):,} bytes, {n_rows} rows"
                )
        routes_file = tmp / "routes.json"
        routes_file.write_text(json.dumps(routes))

        bare_ports: dict[str, int] = {}
        for kind in bares:
            bport = free_port()
            bserver = stack.enter_context(
                Server(
                    [sys.executable, __file__, "--bare-server", str(bport), kind, str(routes_file)],
                    tmp / f"bare-{kind}.log",
                )
            )
            wait_http(f"http://127.0.0.1:{bport}{next(iter(urls.values()))}", 30, server=bserver)
            bare_ports[kind] = bport

        # (a) open loop ------------------------------------------------------------
        rows = []
        targets: list[tuple[str, str, str]] = [
            (name, "trafficcast", base + path) for name, path in urls.items()
        ]
        if bare_open:
            targets += [
                (name, f"bare ({bares[0]})", f"http://127.0.0.1:{bare_ports[bares[0]]}{path}")
                for name, path in urls.items()
            ]
        open_results: dict[tuple[str, str], dict[str, Any]] = {}
        for name, who, url in targets:
            res = run_open_loop(url, args.rate, duration, args.pool, client_kind)
            open_results[(name, who)] = res
            judged = who == "trafficcast"
            rows.append(
                [
                    name,
                    who,
                    fmt_int(res["send_rate"]),
                    fmt_int(res["done_rate"]),
                    fmt_ms(res["p50"]),
                    fmt_ms(res["p90"]),
                    fmt_ms(res["p99"]),
                    fmt_ms(res["max"]),
                    fmt_int(res["errors"]),
                    verdict(res["p99"] < TARGET_P99_MS and res["errors"] == 0)
                    if judged
                    else "(reference)",
                ]
            )
            time.sleep(1.0)
        console.print(
            table(
                f"(a) open loop at {args.rate:,.0f} req/s for {duration:g} s per URL "
                f"(latency from scheduled send; {client_kind} pool {args.pool}); target p99 < "
                f"{TARGET_P99_MS:g} ms",
                [
                    "URL",
                    "server",
                    "sent/s",
                    "done/s",
                    "p50 ms",
                    "p90 ms",
                    "p99 ms",
                    "max ms",
                    "errors",
                    "result",
                ],
                rows,
            )
        )
        for (name, who), res in open_results.items():
            if res["errors"] or res["max_send_lag_ms"] > 50:
                console.print(
                    f"  {name} [{who}]: status codes {res['codes']}, client send lag "
                    f"max {res['max_send_lag_ms']:.1f} ms"
                )

        # (b) saturated ------------------------------------------------------------
        if have_wrk:
            rows = []
            for name, path in urls.items():
                # Alternate trafficcast and the peers; keep the median-throughput run of each.
                runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
                for _ in range(args.wrk_repeats):
                    runs["trafficcast"].append(
                        run_wrk(base + path, args.wrk_threads, args.wrk_connections, wrk_s)
                    )
                    time.sleep(1.0)
                    for kind, bport in bare_ports.items():
                        runs[kind].append(
                            run_wrk(
                                f"http://127.0.0.1:{bport}{path}",
                                args.wrk_threads,
                                args.wrk_connections,
                                wrk_s,
                            )
                        )
                        time.sleep(1.0)
                med = {k: sorted(v, key=lambda r: r["rps"])[len(v) // 2] for k, v in runs.items()}
                tc = med.pop("trafficcast")
                peers = med
                if args.wrk_repeats > 1:
                    console.print(
                        f"  {name}: req/s per run "
                        + "; ".join(
                            f"{k} " + ", ".join(fmt_int(r["rps"]) for r in v)
                            for k, v in runs.items()
                        )
                    )
                errs = tc["non2xx"] + tc["sock_errors"]
                rows.append(
                    [
                        name,
                        "trafficcast",
                        fmt_int(tc["rps"]),
                        fmt_ms(tc["p50"]),
                        fmt_ms(tc["p99"]),
                        fmt_int(errs),
                        "",
                        "",
                    ]
                )
                for i, (kind, peer) in enumerate(peers.items()):
                    ratio = tc["rps"] / peer["rps"] if peer["rps"] else float("nan")
                    judged = i == 0
                    rows.append(
                        [
                            "",
                            f"bare ({kind})",
                            fmt_int(peer["rps"]),
                            fmt_ms(peer["p50"]),
                            fmt_ms(peer["p99"]),
                            fmt_int(peer["non2xx"] + peer["sock_errors"]),
                            f"{100 * ratio:.1f} %",
                            verdict(ratio >= TARGET_RATIO and errs == 0)
                            if judged
                            else "(reference)",
                        ]
                    )
            console.print(
                table(
                    f"(b) saturated: wrk -t{args.wrk_threads} -c{args.wrk_connections} -d{wrk_s}s "
                    f"(median of {args.wrk_repeats}); "
                    f"ratio = trafficcast / bare; target >= {100 * TARGET_RATIO:.0f} % of the bare "
                    f"{bares[0]} route",
                    ["URL", "server", "req/s", "p50 ms", "p99 ms", "errors", "ratio", "result"],
                    rows,
                )
            )
        if not server.alive():
            console.print(f"[red]demo server died; log tail:[/]\n{server.log_tail()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
