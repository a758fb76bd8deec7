"""Incident alert quality against the simulator's ground truth, and alerts on real data.

Simulated readings (30 s, with noise, sensor dropouts and noisy sensors) are averaged
into 5-minute windows per segment; the windows then go, one close at a time, through
the processor's own steps: the interim forecaster's time-of-day profile (read before
the window is learned, as the processor does) and alerts.incidents.IncidentAlerts
with the road graph's neighbours. The first `--warmup-days` only teach the profile
(alerts are not scored); the following `--days` are scored:

- detected: an incident whose origin segment gets an incident alert that opens within
  its effect (from the window holding its start to 10 min after its end);
- delay: from the incident's start to the close of the window that opened the alert,
  in 5-minute windows;
- queue alerts: alerts on a segment upstream of an incident, inside the queue's effect
  (a real slowdown the incident caused; counted apart, not as false alarms);
- false alarms: every other alert, per 100 segment-days.

Then the same over ../shared/data/metr-la-29 (real speeds, road graph from los-loop's
edges): how many incident alerts a month gives.

    .venv/bin/python bench/alert_quality.py --seed 7          # the reported run
    .venv/bin/python bench/alert_quality.py --seed 1          # the tuning seed
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from _common import ROOT, console, header, table, verdict
from trafficcast.alerts.incidents import IncidentAlerts, IncidentRule, neighbour_matrix
from trafficcast.domain.schema import TIMESTAMP
from trafficcast.domain.time_of_day import slots
from trafficcast.forecast.blend import BlendForecaster
from trafficcast.forecast.panel import Graph
from trafficcast.sources.dataset import load_dataset
from trafficcast.sources.simulator import DAY_MS, Simulator, SimulatorConfig

STEP_MS = 5 * 60_000
TZ = "America/Los_Angeles"
T0 = 1_767_600_000_000 - 8 * 3_600_000  # 2026-01-05 00:00 UTC, a Monday, no DST ahead


@dataclass
class Opened:
    segment: int
    emitted_ms: int  # the close of the window that opened it
    opened_ms: int  # the start of its first low window


def grid(
    col: npt.NDArray[np.int64],
    ts: npt.NDArray[np.int64],
    values: npt.NDArray[np.float64],
    start_ms: int,
    steps: int,
    n: int,
) -> npt.NDArray[np.float64]:
    """Mean of the readings per (5-minute window, segment); NaN where none."""
    row = (ts - start_ms) // STEP_MS
    ok = np.isfinite(values) & (row >= 0) & (row < steps)
    flat = row[ok] * n + col[ok]
    total = np.bincount(flat, weights=values[ok], minlength=steps * n)
    count = np.bincount(flat, minlength=steps * n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).reshape(steps, n)


def simulated_windows(
    sim: Simulator, start_ms: int, days: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(speed, quality) windows (days*288, n), built a day at a time."""
    ids = pa.array(sim.segment_ids, pa.string())
    n = len(ids)
    speeds, qualities = [], []
    for d in range(days):
        a = start_ms + d * DAY_MS
        ev = sim.events(a, a + DAY_MS)
        col = np.asarray(pc.index_in(ev.column("segment_id"), value_set=ids).to_numpy(), np.int64)
        ts = np.asarray(ev.column("timestamp").cast(pa.int64()).to_numpy(), np.int64)
        speed = np.asarray(ev.column("speed").to_numpy(), np.float64)
        quality = np.asarray(ev.column("quality_score").to_numpy(zero_copy_only=False), np.float64)
        speeds.append(grid(col, ts, speed, a, 288, n))
        qualities.append(grid(col, ts, quality, a, 288, n))
    return np.concatenate(speeds), np.concatenate(qualities)


def run_detector(
    speed: npt.NDArray[np.float64],
    quality: npt.NDArray[np.float64] | None,
    start_ms: int,
    free_flow: npt.NDArray[np.float64],
    neighbours: object,
    rule: IncidentRule,
    score_from_ms: int,
) -> tuple[list[Opened], float]:
    """Feed the windows close by close, as the processor does; the openings from
    `score_from_ms` on, and the mean seconds per close."""
    steps, n = speed.shape
    det = IncidentAlerts(rule)
    det.set_neighbours(neighbours)  # type: ignore[arg-type]
    fc = BlendForecaster()
    seg_all = np.arange(n, dtype=np.int64)
    opened: list[Opened] = []
    starts = start_ms + np.arange(steps, dtype=np.int64) * STEP_MS
    slot_all, day_all = slots(starts, TZ)
    spent = 0.0
    for t in range(steps):
        ok = np.isfinite(speed[t])
        seg = seg_all[ok]
        end = np.full(len(seg), starts[t] + STEP_MS, np.int64)
        slot = np.full(len(seg), slot_all[t], np.int64)
        day = np.full(len(seg), day_all[t], np.int64)
        began = time.perf_counter()
        if fc.size:
            usual, days = fc.speed_profile.at(seg, day, slot)
        else:
            usual, days = np.full(len(seg), np.nan), np.zeros(len(seg))
        changes = det.observe(
            seg,
            end,
            speed[t, ok],
            usual,
            days,
            free_flow[seg],
            None if quality is None else quality[t, ok],
        )
        fc.observe(seg, end, slot, day, speed[t, ok], np.zeros(len(seg)))
        spent += time.perf_counter() - began
        if starts[t] + STEP_MS > score_from_ms:
            for s, at in zip(changes.opened.tolist(), changes.opened_at_ms.tolist(), strict=True):
                opened.append(Opened(s, int(starts[t] + STEP_MS), at))
    return opened, spent / steps


def score(
    sim: Simulator, opened: list[Opened], a: int, b: int, n: int
) -> dict[str, float | int | list[float]]:
    index = {s: i for i, s in enumerate(sim.segment_ids)}
    incidents = [i for i in sim.incidents(a - 2 * 3_600_000, b) if i.start_ms < b]
    scored = [i for i in incidents if i.start_ms >= a]
    by_seg: dict[int, list[Opened]] = {}
    for o in opened:
        by_seg.setdefault(o.segment, []).append(o)
    used: set[int] = set()
    delays: list[float] = []
    for inc in scored:
        seg = index[inc.segment_id]
        hits = [
            o
            for o in by_seg.get(seg, [])
            if inc.start_ms - STEP_MS <= o.opened_ms and o.emitted_ms <= inc.end_ms + 2 * STEP_MS
        ]
        if hits:
            first = min(hits, key=lambda o: o.emitted_ms)
            used.add(id(first))
            delays.append((first.emitted_ms - inc.start_ms) / STEP_MS)
    queue = false = 0
    explained = 0
    for o in opened:
        if id(o) in used:
            continue
        sid = sim.segment_ids[o.segment]
        caused = any(
            a_.segment_id == sid
            and a_.start_ms - STEP_MS <= o.opened_ms
            and o.emitted_ms <= a_.end_ms + 2 * STEP_MS
            for inc in incidents
            for a_ in inc.affected
        )
        if not caused:
            false += 1
        elif any(inc.segment_id == sid for inc in incidents):
            explained += 1  # a second alert within an origin's own incident
        else:
            queue += 1
    seg_days = n * (b - a) / DAY_MS
    return {
        "incidents": len(scored),
        "detected": len(delays),
        "delays": delays,
        "queue": queue,
        "repeat": explained,
        "false": false,
        "segment_days": seg_days,
    }


def simulated(args: argparse.Namespace, rule: IncidentRule) -> dict[str, float | int | list[float]]:
    sim = Simulator(
        SimulatorConfig(
            n_segments=args.segments,
            seed=args.seed,
            incidents_per_segment_day=args.incidents_per_segment_day,
        )
    )
    n = len(sim.segment_ids)
    days = args.warmup_days + args.days
    began = time.perf_counter()
    speed, quality = simulated_windows(sim, T0, days)
    built = time.perf_counter() - began
    graph = Graph.from_links(sim.links, pa.array(sim.segment_ids, pa.string()))
    matrix = neighbour_matrix(graph.upstream(), graph.downstream())
    free_flow = np.asarray(sim.segments.column("free_flow_speed").to_numpy(), np.float64)
    order = {s: i for i, s in enumerate(sim.segments.column("segment_id").to_pylist())}
    free_flow = free_flow[[order[s] for s in sim.segment_ids]]
    score_from = T0 + args.warmup_days * DAY_MS
    began = time.perf_counter()
    opened, per_close = run_detector(speed, quality, T0, free_flow, matrix, rule, score_from)
    ran = time.perf_counter() - began
    result = score(sim, opened, score_from, T0 + days * DAY_MS, n)
    console.print(
        f"simulator seed {args.seed}: {n} segments, {args.warmup_days} + {args.days} days; "
        f"windows built in {built:.1f} s, detector + profile {ran:.1f} s "
        f"({per_close * 1000:.2f} ms per close of {n} segments)"
    )
    return result


def real(path: Path, rule: IncidentRule, warmup_days: int, days: int) -> None:
    edges = path.parent / "los-loop" / "edges.csv"
    ds = load_dataset(path, links_file=edges if edges.is_file() else None)
    ids = pc.unique(ds.events.column("segment_id")).sort()
    n = len(ids)
    ts = np.asarray(ds.events.column("timestamp").cast(TIMESTAMP).cast(pa.int64()).to_numpy())
    first = int(ts.min()) // STEP_MS * STEP_MS
    steps = (int(ts.max()) - first) // STEP_MS + 1
    col = np.asarray(
        pc.index_in(ds.events.column("segment_id"), value_set=ids).to_numpy(), np.int64
    )
    speed_raw = np.asarray(ds.events.column("speed").to_numpy(zero_copy_only=False), np.float64)
    speed_raw = np.where(speed_raw > 0, speed_raw, np.nan)  # 0 = missing in this set
    speed = grid(col, ts, speed_raw, first, steps, n)
    graph = Graph.from_links(ds.links, ids)
    matrix = neighbour_matrix(graph.upstream(), graph.downstream())
    linked = int((np.diff(matrix.indptr) > 0).sum())
    seg_table = ds.segments
    order = {s: i for i, s in enumerate(seg_table.column("segment_id").to_pylist())}
    ff_col = seg_table.column("free_flow_speed").to_pylist()
    free_flow = np.array(
        [ff_col[order[s]] if ff_col[order[s]] else np.nan for s in ids.to_pylist()], np.float64
    )
    # Without a stated free flow, a sensor's 95th percentile speed stands in.
    p95 = np.nanpercentile(speed, 95, axis=0)
    free_flow = np.where(np.isfinite(free_flow), free_flow, p95)
    stop = min(steps, (warmup_days + days) * 288)
    score_from = first + warmup_days * DAY_MS
    opened, _ = run_detector(speed[:stop], None, first, free_flow, matrix, rule, score_from)
    scored_days = (stop - warmup_days * 288) / 288
    observed = np.isfinite(speed[warmup_days * 288 : stop]).mean()
    per = len(opened) / (n * scored_days)
    console.print(
        f"{path.name}: {n} sensors ({linked} with a neighbour in the graph), "
        f"{warmup_days} days of profile, then {scored_days:.0f} days scored "
        f"({observed:.1%} of windows observed)"
    )
    sensors = sorted({o.segment for o in opened})
    console.print(
        table(
            "real data: incident alerts",
            ["", "value"],
            [
                ["alerts", len(opened)],
                ["per segment-day", f"{per:.3f}"],
                ["per 100 segment-days", f"{100 * per:.1f}"],
                ["sensors with any alert", f"{len(sensors)} of {n}"],
                [
                    "most on one sensor",
                    max((sum(o.segment == s for o in opened) for s in sensors), default=0),
                ],
            ],
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--segments", type=int, default=200)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--warmup-days", type=int, default=14)
    p.add_argument("--incidents-per-segment-day", type=float, default=0.1)
    p.add_argument("--real", type=Path, default=ROOT.parent / "shared" / "data" / "metr-la-29")
    p.add_argument("--real-warmup-days", type=int, default=28)
    p.add_argument("--real-days", type=int, default=30)
    p.add_argument("--set", action="append", default=[], help="rule field=value (tuning)")
    args = p.parse_args()
    rule = IncidentRule()
    for item in args.set:
        name, value = item.split("=", 1)
        current = getattr(rule, name)
        rule = replace(rule, **{name: type(current)(value)})
    header("incident alert quality")
    console.print(f"rule: {rule}")
    r = simulated(args, rule)
    delays = np.asarray(r["delays"], np.float64)
    rate = r["detected"] / max(1, r["incidents"])  # type: ignore[operator]
    false_per_100 = 100 * r["false"] / r["segment_days"]  # type: ignore[operator]
    median = float(np.median(delays)) if delays.size else float("nan")
    p90 = float(np.percentile(delays, 90)) if delays.size else float("nan")
    console.print(
        table(
            "simulator: incident alerts against the injected incidents",
            ["measure", "value", "target", "result"],
            [
                [
                    "detection rate",
                    f"{rate:.1%} ({r['detected']} of {r['incidents']})",
                    "≥ 95 %",
                    verdict(rate >= 0.95),
                ],
                [
                    "false alarms per 100 segment-days",
                    f"{false_per_100:.2f} ({r['false']} in {r['segment_days']:.0f})",
                    "≤ 1",
                    verdict(false_per_100 <= 1.0),
                ],
                [
                    "median delay, 5-min windows",
                    f"{median:.2f} (p90 {p90:.2f})",
                    "≤ 2",
                    verdict(median <= 2.0),
                ],
                ["queue alerts (upstream of an incident)", r["queue"], "", ""],
                ["repeat alerts within an incident", r["repeat"], "", ""],
            ],
        )
    )
    if args.real.is_dir():
        real(args.real, rule, args.real_warmup_days, args.real_days)
    else:
        console.print(f"{args.real}: not found, real-data run skipped")


if __name__ == "__main__":
    main()
