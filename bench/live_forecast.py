"""Live forecasting at network scale: one window close for 10 000 segments x 12 horizons.

Trains the real model on Los-loop (default parameters, so the trees are the
size a deployment serves) and saves it; a fresh process then loads it, as a
server does, and times what the stream processor does on each 5-minute close
for `--segments` segments: features from a full week of recent
history, all horizons of speed forecasts with bands, and scoring the previous
close's forecasts against the windows that just closed. The segments are
synthetic (the model has never seen them: no profiles, which is the harder
path). Reports median and worst time over `--repeats` closes and the peak
resident memory of that serving process (training's memory is not in it).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from _common import console, header, table
from trafficcast.domain.schema import LINK_SCHEMA
from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.history import RecentHistory
from trafficcast.forecast.live import LiveModel
from trafficcast.forecast.live_scoring import LiveScorer
from trafficcast.forecast.panel import STEP_MS
from trafficcast.forecast.sources import panel_from_dataset
from trafficcast.forecast.training import TrainConfig, train

TARGET_SECONDS = 1.0
TARGET_BYTES = 1 << 30


def _peak_rss_bytes() -> int:
    """This process's peak resident set (VmHWM; getrusage's maxrss survives exec on Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default="../shared/data/los-loop")
    parser.add_argument("--serve-from", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve_from is not None:
        serve(args.serve_from, args.segments, args.repeats)
        return
    header("live forecasting: one window close")
    started = time.perf_counter()
    panel = panel_from_dataset(args.data, "America/Los_Angeles")
    model, _ = train(panel, TrainConfig(candidates=("gbm",)))
    console.print(f"trained on {args.data} in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        manifest = model.save(Path(folder))
        (Path(folder) / "manifest.json").write_text(json.dumps(manifest))
        cmd = [sys.executable, __file__, "--serve-from", folder]
        cmd += ["--segments", str(args.segments), "--repeats", str(args.repeats)]
        subprocess.run(cmd, check=True)


def serve(folder: Path, n: int, repeats: int) -> None:
    rss_start = _peak_rss_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    model = TrainedModel.load(folder, "gbm", manifest)

    history = RecentHistory()
    rng = np.random.default_rng(0)
    start0 = 1_700_000_000_000 // STEP_MS * STEP_MS
    steps = history.steps
    t = np.arange(steps)[:, None]
    speeds = (
        55 + 10 * np.sin(2 * np.pi * t / 288 + rng.uniform(0, 6, n)) + rng.normal(0, 3, (steps, n))
    )
    seg = np.arange(n, dtype=np.int64)
    for i in range(steps):
        history.observe(seg, np.full(n, start0 + i * STEP_MS), speeds[i], np.full(n, 80.0))
    ids = pa.array([f"bench-{i:05d}" for i in range(n)])
    # A chain of links, so the neighbour features do real work.
    links = pa.Table.from_arrays(
        [ids.slice(0, n - 1), ids.slice(1), pa.array(np.full(n - 1, 0.5))], schema=LINK_SCHEMA
    )
    live = LiveModel(model, "bench", "America/Los_Angeles")
    horizons = np.arange(5, 61, 5, dtype=np.int64)
    scorer = LiveScorer(horizons)
    times: list[float] = []
    issued = history.last_start_ms + STEP_MS
    for r in range(repeats + 1):
        began = time.perf_counter()
        forecasts = live.forecast(history, seg, issued, horizons, ids, links)
        scorer.record(forecasts)
        # The next close: new readings arrive, and forecasts that targeted them are scored.
        history.observe(seg, np.full(n, issued), speeds[-1] + rng.normal(0, 3, n), np.full(n, 80))
        scorer.observe(seg, np.full(n, issued + STEP_MS), speeds[-1], np.full(n, 80.0))
        elapsed = time.perf_counter() - began
        if r:  # the first close also builds the graph and profile layout
            times.append(elapsed)
        issued += STEP_MS
    finite = float(np.isfinite(forecasts.speed).mean())
    peak = _peak_rss_bytes()
    median, worst = float(np.median(times)), max(times)
    console.print(
        table(
            "one window close",
            ["measure", "value", "target", "ratio"],
            [
                [
                    f"time, {n} segments x {len(horizons)} horizons (median)",
                    f"{median:.3f} s",
                    f"< {TARGET_SECONDS:.0f} s",
                    f"{median / TARGET_SECONDS:.0%}",
                ],
                ["time (worst of the repeats)", f"{worst:.3f} s", "", ""],
                [
                    "peak resident memory of the serving process",
                    f"{peak / 2**20:.0f} MiB",
                    "< 1024 MiB",
                    f"{peak / TARGET_BYTES:.0%}",
                ],
                [
                    "  of which Python and libraries at start",
                    f"{rss_start / 2**20:.0f} MiB",
                    "",
                    "",
                ],
                ["share of forecasts finite", f"{finite:.1%}", "100 %", ""],
            ],
        )
    )


if __name__ == "__main__":
    main()
