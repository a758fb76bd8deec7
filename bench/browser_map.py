"""The dashboard in a real browser: the traffic map under live load, and the first load.

A server subprocess simulates `--segments` road segments that each report once
a second (so the map receives a reading for every segment every second), serving
the built dashboard. web/e2e/bench/map_bench.mjs then drives Debian's Chromium
through playwright-core:

- first load of the overview `/` (cold cache, `--loads` times): navigation start
  to `[data-testid="overview-ready"]`, and the gzip size of the JavaScript it fetched;
- /map once every segment has data: `--duration` seconds of requestAnimationFrame
  deltas with Chromium's frame-rate limit off (the time each frame took, not a
  vsync interval) and PerformanceObserver long tasks, while live updates arrive.
  Run in two Chromium configurations: "gpu" (WebGL on SwiftShader in the GPU
  process, asynchronous to the page as with a real GPU; the machine has none, the
  judged one) and "nogpu" (--disable-gpu, the browser checks' setting, where
  software compositing reads every WebGL frame back on the page's main thread).

Targets (issue 5): median frame < 16 ms and no long task > 200 ms while updating;
overview first load < 2 s to data on screen; first-load JavaScript < 1 MB gzip.
Reports and does not assert.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.markup import escape

from _common import ROOT, Server, console, free_port, header, table, verdict, wait_http

TARGET_MEDIAN_FRAME_MS = 16.0
TARGET_LONG_TASK_MS = 200.0
TARGET_FIRST_LOAD_MS = 2000.0
TARGET_JS_GZIP_BYTES = 1_000_000
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
NODE_SCRIPT = ROOT / "web" / "e2e" / "bench" / "map_bench.mjs"


def serve(port: int, segments: int, interval_s: int, history_minutes: float, seed: int) -> None:
    """The child process: simulator -> pipeline -> API + dashboard on 127.0.0.1:port."""
    from trafficcast.api.background import BackgroundServer
    from trafficcast.config import Settings
    from trafficcast.runtime import Runtime
    from trafficcast.sources.feeds import SimulatorFeed
    from trafficcast.sources.simulator import Simulator, SimulatorConfig

    data_dir = Path(tempfile.mkdtemp(prefix="bench-browser-map-"))
    runtime = Runtime(Settings(data_dir=data_dir))
    sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed, reading_interval_s=interval_s))
    runtime.register_segments(sim.segments, sim.links)
    feed = SimulatorFeed(runtime.bus, sim, speed=1.0, history_hours=history_minutes / 60)
    runtime.add_feed(feed)
    try:
        with BackgroundServer(runtime, port=port):
            print(f"serving on {port}", flush=True)
            while True:
                time.sleep(3600)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def count_segments(body: bytes, want: int) -> bool:
    # A few simulated detectors are down at any time (dropouts): 99 % is "everyone".
    return len(json.loads(body)["segments"]) >= 0.99 * want


def time_endpoint(client: httpx.Client, path: str) -> tuple[float, float, int, int]:
    """(first ms, best cached ms of 5, bytes, rows) of one GET."""
    t0 = time.perf_counter()
    r = client.get(path)
    first = (time.perf_counter() - t0) * 1000
    r.raise_for_status()
    cached = []
    for _ in range(5):
        t0 = time.perf_counter()
        client.get(path).raise_for_status()
        cached.append((time.perf_counter() - t0) * 1000)
    return first, min(cached), len(r.content), len(r.json()["segments"])


def run_browser(url: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        shutil.which("node") or "node",
        str(NODE_SCRIPT),
        url,
        "--duration",
        str(args.duration),
        "--loads",
        str(args.loads),
        "--configs",
        args.configs,
    ]
    if args.pan:
        cmd.append("--pan")
    proc = subprocess.Popen(
        cmd, cwd=ROOT / "web", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )

    def relay() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            console.print(f"  [dim]browser:[/] {escape(line.rstrip())}")

    relay_thread = threading.Thread(target=relay, daemon=True)
    relay_thread.start()
    # stdout here, stderr on the relay thread (communicate() would read both).
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=60)
    relay_thread.join(5)
    if proc.returncode != 0:
        raise SystemExit(f"the browser script failed (exit {proc.returncode})")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def frame_stats(phase: dict[str, Any]) -> dict[str, float]:
    work = np.asarray(phase["work"], dtype=float)
    intervals = np.asarray(phase["frames"], dtype=float)
    tasks = np.asarray(phase["longTasks"], dtype=float)
    long_frames = np.asarray([f["duration"] for f in phase["longFrames"]], dtype=float)
    seconds = phase["elapsedMs"] / 1000

    def pct(a: np.ndarray, q: float) -> float:
        return float(np.percentile(a, q)) if a.size else float("nan")

    return {
        "frames": float(intervals.size),
        "fps": intervals.size / seconds,
        "p50": pct(work, 50),
        "p90": pct(work, 90),
        "p99": pct(work, 99),
        "max": float(work.max()) if work.size else float("nan"),
        "interval_p50": pct(intervals, 50),
        "interval_p99": pct(intervals, 99),
        # More than one and a half 60 Hz periods: at least one frame was skipped.
        "late_share": float((intervals > 25.0).mean()) if intervals.size else float("nan"),
        "long_tasks": float(tasks.size),
        "long_task_max": float(tasks.max()) if tasks.size else 0.0,
        "long_tasks_over_200": float((tasks > TARGET_LONG_TASK_MS).sum()),
        "long_frame_max": float(long_frames.max()) if long_frames.size else 0.0,
        "updates_per_s": phase["segmentsUpdated"] / seconds,
        "band_changes_per_s": phase["bandChanges"] / seconds,
        "flushes_per_s": phase["flushes"] / seconds,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--interval", type=int, default=1, help="seconds between readings")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of frames per run")
    parser.add_argument("--loads", type=int, default=3, help="cold first loads of /")
    parser.add_argument("--configs", default="gpu,nogpu", help="Chromium configs: gpu,nogpu")
    parser.add_argument("--history-minutes", type=float, default=6.0)
    parser.add_argument("--pan", action="store_true", help="also measure while panning the map")
    parser.add_argument("--quick", action="store_true", help="2 000 segments, 10 s, 1 load")
    parser.add_argument("--json", type=Path, help="write the raw measurements here")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        args.segments, args.duration, args.loads = 2_000, 10.0, 1
    if args.serve is not None:
        serve(args.serve, args.segments, args.interval, args.history_minutes, args.seed)
        return

    header("dashboard in Chromium: map under live load, first load")
    from trafficcast.api.app import WEB_DIR

    for need, hint in (
        (CHROMIUM, "scripts/install-chromium.sh installs Chromium"),
        (
            WEB_DIR / "index.html",
            "build the dashboard (scripts/install.sh, or TRAFFICCAST_WEB_DIR)",
        ),
        (ROOT / "web" / "node_modules" / "playwright-core", "run npm ci in web/"),
    ):
        if not Path(need).exists():
            raise SystemExit(f"{need} is missing: {hint}")
    console.print(
        f"dashboard: {WEB_DIR}\nload:      {args.segments:,} segments, a reading each every "
        f"{args.interval} s ({args.segments / args.interval:,.0f} readings/s)"
    )

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        child = [
            sys.executable,
            __file__,
            "--serve",
            str(port),
            "--segments",
            str(args.segments),
            "--interval",
            str(args.interval),
            "--history-minutes",
            str(args.history_minutes),
            "--seed",
            str(args.seed),
        ]
        with Server(child, Path(tmp) / "server.log") as server:
            with console.status(
                f"starting the server and backfilling {args.history_minutes:g} min of history…"
            ):
                t0 = time.monotonic()
                wait_http(
                    f"{url}/api/traffic/current",
                    600,
                    ok=lambda body: count_segments(body, args.segments),
                    server=server,
                )
            console.print(
                f"server ready: every segment has a reading after {time.monotonic() - t0:.0f} s"
            )

            endpoint_rows = []
            with (
                httpx.Client(base_url=url, timeout=60) as client,
                console.status("waiting for the first forecast issue…"),
            ):
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and server.alive():
                    if client.get("/api/traffic/forecast").json()["segments"]:
                        break
                    time.sleep(2)
                for path in ("/api/traffic/forecast?horizon_minutes=30", "/api/traffic/history"):
                    first, cached, size, rows = time_endpoint(client, path)
                    endpoint_rows.append(
                        [path, f"{rows:,}", f"{size / 1e6:.2f} MB", f"{first:.0f}", f"{cached:.1f}"]
                    )

            result = run_browser(url, args)
            if not server.alive():
                console.print(f"[red]the server died:[/]\n{server.log_tail()}")

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result))
    report(result, endpoint_rows, args)


def report(
    result: dict[str, Any], endpoint_rows: list[list[str]], args: argparse.Namespace
) -> None:
    console.print(
        table(
            "map layer endpoints at this size (httpx, same machine)",
            ["GET", "rows", "body", "first ms", "cached ms (best of 5)"],
            endpoint_rows,
        )
    )

    loads = result["firstLoads"]
    ready = np.asarray([load["readyMs"] for load in loads], dtype=float)
    gzip_totals = [sum(f["gzip"] for f in load["files"]) for load in loads]
    raw_totals = [sum(f["raw"] for f in load["files"]) for load in loads]
    js_gzip = max(gzip_totals)
    biggest = max(loads, key=lambda load: sum(f["gzip"] for f in load["files"]))
    console.print(
        table(
            "first load of / (cold cache): JavaScript fetched",
            ["file", "bytes", "gzip -9 bytes"],
            [
                [f["url"], f"{f['raw']:,}", f"{f['gzip']:,}"]
                for f in sorted(biggest["files"], key=lambda f: -f["gzip"])
            ]
            + [["total", f"{max(raw_totals):,}", f"{js_gzip:,}"]],
        )
    )
    console.print(
        f"overview ready after: {', '.join(f'{v:.0f}' for v in ready)} ms "
        f"(shown network speed: {loads[-1]['meanSpeed']!r})"
    )
    problems = [p for load in loads for p in load["problems"]]
    problems += [p for run in result["maps"] for p in run["problems"]]

    rows = []
    judged: dict[str, dict[str, float]] = {}
    for run in result["maps"]:
        for phase, data in run["phases"].items():
            s = frame_stats(data)
            if phase == "idle":
                judged[run["config"]] = s
            rows.append(
                [
                    f"{run['config']} / {phase}",
                    f"{s['frames']:.0f} ({s['fps']:.0f}/s)",
                    f"{s['p50']:.1f}",
                    f"{s['p90']:.1f}",
                    f"{s['p99']:.1f}",
                    f"{s['max']:.0f}",
                    f"{s['interval_p50']:.1f}",
                    f"{s['interval_p99']:.0f}",
                    f"{100 * s['late_share']:.1f} %",
                    f"{s['long_tasks']:.0f}",
                    f"{s['long_task_max']:.0f}",
                    f"{s['long_frame_max']:.0f}",
                    f"{s['updates_per_s']:,.0f}",
                    f"{s['band_changes_per_s']:,.0f}",
                ]
            )
    console.print(
        table(
            f"/map, {result['maps'][0]['segments']:,} segments, live updates (ms; frame = "
            "main-thread time of a frame, interval = between frames, 16.7 on time at 60 Hz)",
            [
                "Chromium / phase",
                "frames",
                "frame p50",
                "p90",
                "p99",
                "max",
                "interval p50",
                "p99",
                "late",
                "long tasks",
                "longest",
                "longest LoAF",
                "readings/s",
                "band changes/s",
            ],
            rows,
        )
    )
    for run in result["maps"]:
        console.print(
            f"  {run['config']}: WebGL renderer {run['renderer']!r}; "
            f"map ready in {run['readyMs']} ms"
        )

    gpu = judged.get("gpu") or next(iter(judged.values()))
    median_load = float(np.median(ready))
    verdicts = [
        [
            "median frame (main-thread time) while updating (gpu)",
            f"{gpu['p50']:.1f} ms",
            f"< {TARGET_MEDIAN_FRAME_MS:.0f} ms",
            verdict(gpu["p50"] < TARGET_MEDIAN_FRAME_MS),
        ],
        [
            "longest task while updating (gpu)",
            f"{gpu['long_task_max']:.0f} ms",
            f"none > {TARGET_LONG_TASK_MS:.0f} ms",
            verdict(gpu["long_tasks_over_200"] == 0),
        ],
        [
            "readings applied per second (gpu)",
            f"{gpu['updates_per_s']:,.0f}",
            f"≈ {args.segments / args.interval:,.0f} (the load)",
            verdict(gpu["updates_per_s"] >= 0.9 * args.segments / args.interval),
        ],
        [
            "overview first load to data (median)",
            f"{median_load:.0f} ms",
            f"< {TARGET_FIRST_LOAD_MS:.0f} ms",
            verdict(median_load < TARGET_FIRST_LOAD_MS),
        ],
        [
            "first-load JavaScript (gzip -9)",
            f"{js_gzip / 1e3:,.0f} kB",
            f"< {TARGET_JS_GZIP_BYTES / 1e3:,.0f} kB",
            verdict(js_gzip < TARGET_JS_GZIP_BYTES),
        ],
    ]
    if "nogpu" in judged and "gpu" in judged:
        n = judged["nogpu"]
        verdicts.append(
            [
                "for reference: --disable-gpu",
                f"median frame {n['p50']:.1f} ms, longest task {n['long_task_max']:.0f} ms",
                "(not judged)",
                "",
            ]
        )
    console.print(table("targets", ["what", "measured", "target", ""], verdicts))
    if problems:
        console.print("[yellow]browser problems:[/] " + "; ".join(sorted(set(problems))[:10]))


if __name__ == "__main__":
    main()
