"""Spark backfill: window aggregates from archived raw events, beside DuckDB on the same files.

Generates N simulated raw events (numpy; 10 000 detectors at 30 s, so 100 M events are
~3.5 days) as archive Parquet (`<root>/events/date=YYYY-MM-DD/part-*.parquet`, zstd, files
of up to 4 M rows), with 0.1 % re-delivered duplicates and 2 % missing volumes and
occupancies. Then, in the same run, on the same files:

- Spark (`trafficcast.spark.backfill`, `--to archive`) on `local[2]`: dedupe by event_id,
  1- and 5-minute windows, written as the archive's windows dataset (Parquet, zstd).
  Timed from the job's start (session already up; its start-up is shown apart) to the
  last file written.
- DuckDB (2 threads, 14 GB): the same aggregation in SQL (dedupe by event_id, the same sums and
  formulas, level of service from the domain's bounds), written to one Parquet file.

Both results are checked to have the same windows and event counts.

    .venv/bin/python bench/spark_backfill.py                   # 100 M events
    .venv/bin/python bench/spark_backfill.py --events 10000000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from _common import console, fmt_int, header, table
from trafficcast.domain.level_of_service import _LOWER_BOUNDS, DEFAULT_FREE_FLOW_MPH, GRADES
from trafficcast.domain.schema import EVENT_SCHEMA, SEGMENT_SCHEMA

DAY = 86_400_000
START = date(2026, 1, 5)
T0 = 1_767_571_200_000  # 2026-01-05 00:00 UTC
INTERVAL = 30_000
FILE_ROWS = 4_000_000
MINUTES = (1, 5)


def segments_table(n: int) -> pa.Table:
    rng = np.random.default_rng(1)
    ids = pa.array([f"seg-{i:05d}" for i in range(n)])
    free_flow = rng.choice([35.0, 45.0, 65.0], n)
    columns = {f.name: pa.nulls(n, f.type) for f in SEGMENT_SCHEMA}
    columns["segment_id"] = ids
    columns["free_flow_speed"] = pa.array(free_flow)
    return pa.table(columns, schema=SEGMENT_SCHEMA)


def write_events(root: Path, n_events: int, n_segments: int) -> tuple[int, int, date]:
    """Write ~n_events raw events; returns (rows, files, last date)."""
    rng = np.random.default_rng(7)
    ids = pa.array([f"seg-{i:05d}" for i in range(n_segments)])
    free_flow = segments_table(n_segments).column("free_flow_speed").to_numpy()
    slots = -(-n_events // n_segments)
    per_file = max(1, FILE_ROWS // n_segments)
    rows = files = 0
    last = START
    for first in range(0, slots, per_file):
        k = min(per_file, slots - first)
        n = k * n_segments
        ts = T0 + np.repeat(np.arange(first, first + k, dtype=np.int64) * INTERVAL, n_segments)
        seg = np.tile(np.arange(n_segments), k)
        eid = np.arange(first * n_segments, first * n_segments + n, dtype=np.int64)
        dup = rng.random(n) < 0.001  # re-delivered: the previous row again
        dup[0] = False
        src = np.where(dup, np.arange(n) - 1, np.arange(n))
        ts, seg, eid = ts[src], seg[src], eid[src]
        speed = np.clip(free_flow[seg] * rng.uniform(0.2, 1.05, n), 0.0, None)
        speed[rng.random(n) < 0.01] = 0.0
        volume = np.rint(rng.uniform(0, 40, n))
        occupancy = rng.uniform(0, 60, n)
        no_volume = rng.random(n) < 0.02
        occupancy[rng.random(n) < 0.02] = np.nan
        table = pa.Table.from_arrays(
            [
                pa.array(eid).cast(pa.string()),
                ids.take(pa.array(seg)),
                pa.array(ts).cast(EVENT_SCHEMA.field("timestamp").type),
                pa.array(speed),
                pa.array(volume, mask=no_volume),
                pa.array(occupancy),
                pa.nulls(n, pa.float64()),
                pa.nulls(n, pa.float64()),
                pa.array(np.full(n, "bench")),
                pa.array(rng.uniform(0.5, 1.0, n)),
            ],
            schema=EVENT_SCHEMA,
        )
        days = (ts - T0) // DAY
        for d in np.unique(days):
            part = table.filter(pa.array(days == d))
            when = START + timedelta(days=int(d))
            folder = root / "events" / f"date={when.isoformat()}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(part, folder / f"part-{files:05d}.parquet", compression="zstd")
            files += 1
            rows += part.num_rows
            last = max(last, when)
    return rows, files, last


def duckdb_sql(root: Path, out: Path, start: date, end: date) -> str:
    grades = ", ".join(f"'{g}'" for g in GRADES)
    grade = " + ".join(f"(ratio <= {float(b)})::int" for b in _LOWER_BOUNDS)
    sizes = " UNION ALL ".join(
        f"SELECT {m} AS window_minutes, segment_id, start_ms - start_ms % {m * 60_000} AS ws, "
        "count, speed_sum, inv_speed_sum, inv_speed_n, volume_sum, volume_n, "
        "occupancy_sum, occupancy_n, quality_sum FROM base"
        for m in MINUTES
    )
    return f"""
COPY (
WITH ev AS (
  SELECT event_id, segment_id, epoch_ms(timestamp) AS ts, speed, volume, occupancy,
         quality_score AS quality
  FROM read_parquet('{root}/events/*/*.parquet', hive_partitioning = true)
  WHERE date BETWEEN DATE '{start}' AND DATE '{end}'
),
dedup AS (
  SELECT event_id, any_value(segment_id) AS segment_id, any_value(ts) AS ts,
         any_value(speed) AS speed, any_value(volume) AS volume,
         any_value(occupancy) AS occupancy, any_value(quality) AS quality
  FROM ev GROUP BY event_id
),
base AS (
  SELECT segment_id, ts - ts % 60000 AS start_ms, count(*) AS count,
    sum(speed) AS speed_sum,
    sum(CASE WHEN speed > 0 AND NOT isnan(speed) THEN 1.0 / speed ELSE 0 END) AS inv_speed_sum,
    sum(CASE WHEN speed > 0 AND NOT isnan(speed) THEN 1.0 ELSE 0 END) AS inv_speed_n,
    sum(CASE WHEN volume IS NULL OR isnan(volume) THEN 0 ELSE volume END) AS volume_sum,
    sum(CASE WHEN volume IS NULL OR isnan(volume) THEN 0.0 ELSE 1.0 END) AS volume_n,
    sum(CASE WHEN occupancy IS NULL OR isnan(occupancy) THEN 0 ELSE occupancy END)
      AS occupancy_sum,
    sum(CASE WHEN occupancy IS NULL OR isnan(occupancy) THEN 0.0 ELSE 1.0 END) AS occupancy_n,
    sum(quality) AS quality_sum
  FROM dedup GROUP BY ALL
),
sized AS ({sizes}),
w AS (
  SELECT window_minutes, segment_id, ws, sum(count) AS count,
    sum(speed_sum) AS speed_sum, sum(inv_speed_sum) AS inv_speed_sum,
    sum(inv_speed_n) AS inv_speed_n, sum(volume_sum) AS volume_sum,
    sum(volume_n) AS volume_n, sum(occupancy_sum) AS occupancy_sum,
    sum(occupancy_n) AS occupancy_n, sum(quality_sum) AS quality_sum
  FROM sized GROUP BY ALL
),
r AS (
  SELECT w.*, speed_sum / count AS mean_speed,
    (speed_sum / count) / coalesce(s.free_flow, {DEFAULT_FREE_FLOW_MPH}) AS ratio
  FROM w LEFT JOIN segments s USING (segment_id)
)
SELECT segment_id, window_minutes::INTEGER AS window_minutes,
  make_timestamp(ws * 1000) AS window_start,
  make_timestamp((ws + window_minutes * 60000) * 1000) AS window_end,
  mean_speed,
  CASE WHEN inv_speed_n > 0 THEN inv_speed_n / inv_speed_sum ELSE 0.0 END
    AS harmonic_mean_speed,
  CASE WHEN volume_n > 0 THEN volume_sum END AS volume,
  CASE WHEN occupancy_n > 0 THEN occupancy_sum / occupancy_n END AS occupancy,
  count::BIGINT AS count, quality_sum / count AS quality,
  CASE WHEN isfinite(mean_speed) THEN [{grades}][1 + {grade}] END AS level_of_service
FROM r
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)
"""


def run_duckdb(
    root: Path, segments: pa.Table, start: date, end: date, memory: str
) -> tuple[float, int, int]:
    out = root / "duckdb-windows.parquet"
    # Two threads like local[2]; memory of the same order as Spark's driver (it spills beyond).
    con = duckdb.connect(
        config={"threads": 2, "memory_limit": memory, "preserve_insertion_order": False}
    )
    con.execute(f"SET temp_directory = '{root / 'duckdb-tmp'}'")
    ff = pa.table(
        {"segment_id": segments.column("segment_id"), "free_flow": segments["free_flow_speed"]}
    )
    con.register("segments", ff)
    began = time.perf_counter()
    con.execute(duckdb_sql(root, out, start, end))
    seconds = time.perf_counter() - began
    row = con.execute(
        f"SELECT count(*), sum(count) FILTER (WHERE window_minutes = {min(MINUTES)}) "
        f"FROM read_parquet('{out}')"
    ).fetchone()
    assert row is not None
    con.close()
    return seconds, int(row[0]), int(row[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000_000)
    parser.add_argument("--segments", type=int, default=10_000)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--shuffle-partitions", type=int, default=16)
    parser.add_argument("--driver-memory", default="4g")
    parser.add_argument("--duckdb-memory", default="14GB")
    parser.add_argument("--no-spark", action="store_true", help="only DuckDB")
    parser.add_argument("--keep", type=Path, help="write the archive here and keep it")
    args = parser.parse_args()
    header("spark_backfill: window aggregates from archived raw events, Spark vs DuckDB")

    from trafficcast.spark.backfill import backfill
    from trafficcast.spark.session import spark_session

    tmp = Path(tempfile.mkdtemp(prefix="spark-bench-"))
    root = args.keep or tmp
    segments = segments_table(args.segments)
    try:
        began = time.perf_counter()
        rows, files, last = write_events(root, args.events, args.segments)
        gen_s = time.perf_counter() - began
        size = sum(f.stat().st_size for f in (root / "events").rglob("*.parquet"))
        console.print(
            f"archive: {fmt_int(rows)} raw events (0.1 % of them re-deliveries) in {files} "
            f"files, {size / 1e6:.0f} MB, {START} .. {last}; "
            f"written in {gen_s:.1f} s"
        )

        if args.no_spark:
            duck_s, duck_windows, duck_events = run_duckdb(
                root, segments, START, last, args.duckdb_memory
            )
            console.print(
                f"DuckDB: {duck_s:.1f} s, {fmt_int(rows / duck_s)} events/s, "
                f"{fmt_int(duck_windows)} windows, {fmt_int(duck_events)} events after dedupe"
            )
            return
        began = time.perf_counter()
        spark = spark_session(
            args.master,
            "trafficcast-bench",
            shuffle_partitions=args.shuffle_partitions,
            driver_memory=args.driver_memory,
            extra={"spark.ui.showConsoleProgress": "false"},
        )
        startup_s = time.perf_counter() - began
        result = backfill(
            spark, str(root), START, last, MINUTES, segments, to="archive", progress=console.print
        )
        spark.stop()

        duck_s, duck_windows, duck_events = run_duckdb(
            root, segments, START, last, args.duckdb_memory
        )
        spark_windows = sum(result.windows.values())
        same = (spark_windows, result.events) == (duck_windows, duck_events)
        rate_spark = rows / result.seconds
        rate_duck = rows / duck_s
        console.print(
            table(
                f"{fmt_int(rows)} raw events -> 1- and 5-minute windows",
                ["engine", "seconds", "events/s", "windows", "events after dedupe"],
                [
                    [
                        f"Spark {args.master} (start-up {startup_s:.1f} s apart)",
                        f"{result.seconds:.1f}",
                        fmt_int(rate_spark),
                        fmt_int(spark_windows),
                        fmt_int(result.events),
                    ],
                    [
                        "DuckDB, 2 threads",
                        f"{duck_s:.1f}",
                        fmt_int(rate_duck),
                        fmt_int(duck_windows),
                        fmt_int(duck_events),
                    ],
                ],
            )
        )
        console.print(
            f"Spark / DuckDB events/s: {rate_spark / rate_duck:.2f}; "
            f"same windows and counts: {'yes' if same else 'NO'}"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
