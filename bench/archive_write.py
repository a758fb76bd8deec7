"""Archive write: simulated raw events -> date-partitioned Parquet (zstd) on local disk.

Measures the archive writer as the runtime uses it (archive/writer.py): the events
arrive as the stream processor's committed batches, `submit` queues them, the
writer thread buffers 64 MB per dataset and writes one file per UTC day through a
hidden temporary name and a rename. Timed from the first submit until `stop`
returns with everything on disk (the files' fsync is the OS's business, as for
any writer). Throughput is reported as in-memory Arrow bytes/s (what the target
counts: MB of raw events handled per second), on-disk Parquet bytes/s and rows/s.
Peer in the same run: one plain `pyarrow.parquet.write_table` of the same table.

Issue 8's target: >= 200 MB/s of raw events.

    .venv/bin/python bench/archive_write.py            # 8 M events (~1 GB of Arrow)
    .venv/bin/python bench/archive_write.py --quick    # 2 M events
    .venv/bin/python bench/archive_write.py --ingest 4 # + its cost to ingest: 4 off/on pairs

`--ingest N` also runs the embedded pipeline (bus -> processor -> DuckDB, 1 M simulated
events from 300 detectors at 30 s, 10 000-event batches) N times each with the archive off
and on, alternated, timed until every event is windowed and written to the store.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from _common import console, fmt_int, header, table, verdict
from trafficcast.archive import ArchiveConfig, ArchiveWriter, open_archive
from trafficcast.sources.simulator import Simulator, SimulatorConfig

TARGET_MB_S = 200.0
MB = 1e6
HOUR = 3_600_000
T0 = 1_767_657_600_000 - 6 * HOUR  # 2026-01-05 18:00 UTC: the run crosses midnight


def make_events(n: int) -> pa.Table:
    segments = 2_000
    sim = Simulator(SimulatorConfig(n_segments=segments, reading_interval_s=5, seed=11))
    span = int(n / segments * 5_000) + 5_000
    return sim.events(T0, T0 + span).slice(0, n)


def run_writer(events: pa.Table, root: Path, batch_rows: int) -> tuple[float, ArchiveWriter]:
    writer = ArchiveWriter(open_archive(str(root)), ArchiveConfig(flush_age_s=3600))
    batches = [events.slice(i, batch_rows) for i in range(0, events.num_rows, batch_rows)]
    writer.start()
    started = time.perf_counter()
    for batch in batches:
        while not writer.submit("events", batch):  # the benchmark must not drop
            writer.stats.dropped_rows["events"] -= batch.num_rows
            time.sleep(0.001)
    writer.stop(timeout=600)
    return time.perf_counter() - started, writer


def ingest_once(archive: bool) -> tuple[float, float]:
    """events/s through the embedded pipeline, and seconds for stop (the archive's last
    buffers are written there)."""
    from trafficcast.config import Settings
    from trafficcast.runtime import Runtime

    sim = Simulator(SimulatorConfig(n_segments=300, seed=3))
    events = sim.events(T0, T0 + int(1_000_000 / 300 * 30_000))
    batches = [events.slice(i, 10_000) for i in range(0, events.num_rows, 10_000)]
    with tempfile.TemporaryDirectory(prefix="archive-bench-") as tmp:
        url = f"{tmp}/archive" if archive else ""
        runtime = Runtime(Settings(data_dir=Path(tmp), archive_url=url))
        runtime.register_segments(sim.segments, sim.links)
        if runtime.archive is not None:
            runtime.archive.start()
        runtime.processor.start()
        started = time.perf_counter()
        for batch in batches:
            runtime.bus.publish(batch)
        if not runtime.processor.wait_idle(600):
            raise SystemExit("the stream processor did not catch up")
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        runtime.stop()
        if runtime.archive is not None:
            assert runtime.archive.stats.rows["events"] == events.num_rows
        return events.num_rows / seconds, time.perf_counter() - started


def ingest_ab(pairs: int) -> None:
    rows = []
    for i in range(pairs):
        for archive in (False, True):
            rate, stop = ingest_once(archive)
            rows.append(
                (
                    f"pair {i + 1}, archive {'on' if archive else 'off'}",
                    fmt_int(rate),
                    f"{stop:.2f}",
                )
            )
    console.print(
        table("embedded ingest with the archive off / on", ["run", "events/s", "stop s"], rows)
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=8_000_000)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--batch-rows", type=int, default=50_000, help="rows per commit")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ingest", type=int, default=0, help="off/on ingest pairs to run")
    args = parser.parse_args()
    n = 2_000_000 if args.quick else args.events
    header("archive write: raw events to date-partitioned Parquet (zstd), local disk")
    events = make_events(n)
    arrow_bytes = events.nbytes
    console.print(
        f"{fmt_int(events.num_rows)} events, {arrow_bytes / MB:.0f} MB in Arrow, "
        f"batches of {fmt_int(args.batch_rows)} rows"
    )
    rows = []
    speeds = []
    for run in range(args.runs):
        root = Path(tempfile.mkdtemp(prefix="archive-bench-"))
        try:
            seconds, writer = run_writer(events, root / "archive", args.batch_rows)
            disk = sum(p.stat().st_size for p in root.rglob("*.parquet"))
            files = writer.stats.files["events"]
            assert writer.stats.rows["events"] == events.num_rows
            assert writer.stats.errors == 0
        finally:
            shutil.rmtree(root, ignore_errors=True)
        speeds.append(arrow_bytes / MB / seconds)
        rows.append(
            (
                f"writer, run {run + 1}",
                f"{seconds:.2f}",
                f"{arrow_bytes / MB / seconds:.0f}",
                f"{disk / MB / seconds:.0f}",
                fmt_int(events.num_rows / seconds),
                files,
                f"{arrow_bytes / disk:.1f}",
            )
        )
    root = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    try:
        started = time.perf_counter()
        pq.write_table(events, root / "one.parquet", compression="zstd")
        seconds = time.perf_counter() - started
        disk = (root / "one.parquet").stat().st_size
    finally:
        shutil.rmtree(root, ignore_errors=True)
    rows.append(
        (
            "peer: one pq.write_table",
            f"{seconds:.2f}",
            f"{arrow_bytes / MB / seconds:.0f}",
            f"{disk / MB / seconds:.0f}",
            fmt_int(events.num_rows / seconds),
            1,
            f"{arrow_bytes / disk:.1f}",
        )
    )
    console.print(
        table(
            "archive write",
            ["run", "seconds", "Arrow MB/s", "disk MB/s", "rows/s", "files", "ratio"],
            rows,
        )
    )
    median = sorted(speeds)[len(speeds) // 2]
    console.print(
        f"median {median:.0f} MB/s of raw events (Arrow) vs target {TARGET_MB_S:.0f}: "
        f"{verdict(median >= TARGET_MB_S)}"
    )
    if args.ingest:
        ingest_ab(args.ingest)


if __name__ == "__main__":
    main()
