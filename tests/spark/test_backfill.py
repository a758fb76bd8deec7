"""Spark backfill of window aggregates (local[2]) equals the stream processor's windows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from trafficcast.archive import ArchiveConfig, ArchiveWriter, open_archive
from trafficcast.archive.location import split_by_day
from trafficcast.bus.memory import MemoryBus
from trafficcast.domain.level_of_service import DEFAULT_FREE_FLOW_MPH, level_of_service
from trafficcast.domain.schema import EVENT_SCHEMA, STORED_WINDOW_SCHEMA, TIMESTAMP
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.stream.catalog import SegmentCatalog
from trafficcast.stream.processor import ProcessorConfig, StreamProcessor

pyspark = pytest.importorskip("pyspark")  # the `spark` extra (scripts/install.sh has it)

from trafficcast.spark.backfill import (  # noqa: E402
    backfill,
    to_arrow_windows,
    window_aggregates,
)

pytestmark = pytest.mark.slow

DAY = 86_400_000
START = 1_767_657_600_000  # 2026-01-06 00:00 UTC
DAYS = 3
MINUTES = (1, 5)
KEY = ["segment_id", "window_minutes", "window_start"]
FLOATS = ["mean_speed", "harmonic_mean_speed", "volume", "occupancy", "quality"]


def raw_input() -> tuple[pa.Table, pa.Table]:
    """Three days of simulated readings (with gaps, missing and zero readings),
    as batches arrive: a few repeats and an out-of-order and a too-late event."""
    sim = Simulator(SimulatorConfig(n_segments=12, reading_interval_s=60, seed=7))
    events = sim.events(START, START + DAYS * DAY)
    n = events.num_rows
    rng = np.random.default_rng(3)
    volume = events.column("volume").to_numpy().copy()
    occupancy = events.column("occupancy").to_numpy().copy()
    speed = events.column("speed").to_numpy().copy()
    volume_null = rng.random(n) < 0.05
    occupancy[rng.random(n) < 0.05] = np.nan
    speed[rng.random(n) < 0.02] = 0.0
    events = events.set_column(3, "speed", pa.array(speed))
    events = events.set_column(4, "volume", pa.array(volume, mask=volume_null))
    events = events.set_column(5, "occupancy", pa.array(occupancy))
    # All volumes and occupancies of one segment missing for a day (null windows).
    seg0 = pc.equal(events.column("segment_id"), sim.segment_ids[0])
    first_day = pc.less(events.column("timestamp"), pa.scalar(START + DAY, TIMESTAMP))
    gone = pc.and_(seg0, first_day)
    events = events.set_column(4, "volume", pc.if_else(gone, None, events.column("volume")))
    events = events.set_column(
        5, "occupancy", pc.if_else(gone, float("nan"), events.column("occupancy"))
    )
    return events.cast(EVENT_SCHEMA), sim.segments


def renamed(event: pa.Table, event_id: str) -> pa.Table:
    return event.set_column(0, EVENT_SCHEMA.field(0), pa.array([event_id]))


def arrival_batches(events: pa.Table) -> list[pa.Table]:
    """One-hour batches in time order, plus re-deliveries and late readings."""
    ts = events.column("timestamp").cast(pa.int64()).to_numpy()
    hours = ts // 3_600_000
    batches = [events.filter(pa.array(hours == h)) for h in np.unique(hours)]
    # A reading 3 minutes old arriving with the next hour (within the 5-minute lateness),
    # with a new id; a reading 2 hours old (too late: never windowed, not archived).
    ts10 = batches[10].column("timestamp").cast(pa.int64()).to_numpy()
    row = int(np.flatnonzero(ts10 == ts10.max() - 180_000)[0])
    late_ok = renamed(batches[10].slice(row, 1), "late-ok")  # its windows were emitted
    too_late = renamed(batches[5].slice(0, 1), "too-late")
    batches[11] = pa.concat_tables([late_ok, batches[11], too_late])
    # Repeats of earlier readings within the dedupe horizon.
    batches[20] = pa.concat_tables([batches[20], batches[20].slice(0, 5)])
    return batches


@pytest.fixture(scope="module")
def processed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DuckDBStore, pa.Table]:
    """The in-process path: the processor windows the input into the store and the
    archive writer archives what it committed."""
    root = tmp_path_factory.mktemp("spark")
    events, segments = raw_input()
    store = DuckDBStore(root / "store.duckdb")
    store.init_schema()
    store.upsert_segments(segments)
    catalog = SegmentCatalog()
    catalog.load(store.segments())
    processor = StreamProcessor(
        MemoryBus(), store, catalog, ProcessorConfig(window_minutes=MINUTES)
    )
    writer = ArchiveWriter(open_archive(str(root / "archive")), ArchiveConfig(flush_age_s=3600))
    processor.on_commit = writer.on_commit
    writer.start()
    for batch in arrival_batches(events):
        processor.process(batch)
    processor.flush()
    writer.stop()
    assert processor.stats.duplicates == 5
    assert processor.stats.late == 1
    # Re-deliveries the processor never saw together (e.g. after a restart past its dedupe
    # horizon) are archived twice; the backfill drops them by id.
    location = open_archive(str(root / "archive"))
    for day, part in split_by_day(events.slice(100, 50), "timestamp"):
        location.write_table(location.partition_dir("events", day), part)
    return root, store, segments


def stored_windows(store: DuckDBStore, minutes: int) -> pa.Table:
    table = store.windows_between(minutes, START, START + DAYS * DAY)
    return table.filter(pc.equal(table.column("fill"), "observed"))


def assert_same_windows(expected: pa.Table, actual: pa.Table) -> None:
    assert actual.num_rows == expected.num_rows > 0
    order = [(k, "ascending") for k in KEY]
    expected = expected.cast(STORED_WINDOW_SCHEMA).sort_by(order)
    actual = actual.cast(STORED_WINDOW_SCHEMA).sort_by(order)
    for name in [*KEY, "window_end", "count", "level_of_service", "fill"]:
        assert actual.column(name).equals(expected.column(name)), name
    for name in FLOATS:
        e = expected.column(name).to_numpy(zero_copy_only=False)
        a = actual.column(name).to_numpy(zero_copy_only=False)
        assert np.array_equal(np.isnan(e), np.isnan(a)), name
        assert actual.column(name).null_count == expected.column(name).null_count, name
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=0, equal_nan=True, err_msg=name)


def test_backfill_into_a_store_equals_the_stream_processor(
    spark: object, processed: tuple[Path, DuckDBStore, pa.Table], tmp_path: Path
) -> None:
    root, store, segments = processed
    target = DuckDBStore(tmp_path / "backfilled.duckdb")
    target.init_schema()
    said: list[str] = []
    result = backfill(
        spark,  # type: ignore[arg-type]
        str(root / "archive"),
        date(2026, 1, 6),
        date(2026, 1, 8),
        MINUTES,
        segments,
        to="store",
        store=target,
        progress=said.append,
    )
    assert result.partitions == DAYS
    assert any("partitions" in s for s in said)
    for minutes in MINUTES:
        expected = stored_windows(store, minutes)
        assert_same_windows(expected, stored_windows(target, minutes))
        assert result.windows[minutes] == expected.num_rows
    # Every windowed event counted once: repeats dropped, the too-late one not archived.
    assert result.events == int(pc.sum(stored_windows(store, 1).column("count")).as_py())
    nulls = stored_windows(target, 5)
    assert nulls.column("volume").null_count > 0
    assert nulls.column("occupancy").null_count > 0


def test_backfill_into_the_archive_writes_current_windows(
    spark: object, processed: tuple[Path, DuckDBStore, pa.Table]
) -> None:
    root, store, segments = processed
    result = backfill(
        spark,  # type: ignore[arg-type]
        str(root / "archive"),
        date(2026, 1, 7),
        date(2026, 1, 7),
        MINUTES,
        segments,
        to="archive",
    )
    folder = root / "archive" / "windows" / "date=2026-01-07"
    files = [f for f in folder.iterdir() if f.name.endswith(".parquet") and f.name[0] not in "._"]
    spark_files = [f for f in files if f.name.startswith("part-0")]
    assert spark_files
    written = pa.concat_tables([pq.read_table(f) for f in spark_files]).cast(STORED_WINDOW_SCHEMA)
    day = (START + DAY, START + 2 * DAY)
    for minutes in MINUTES:
        mine = written.filter(pc.equal(written.column("window_minutes"), minutes))
        expected = store.windows_between(minutes, *day)
        expected = expected.filter(pc.equal(expected.column("fill"), "observed"))
        assert result.windows[minutes] == mine.num_rows
        assert_same_windows(expected, mine)
    # DuckDB reads the dataset's files of both writers together; the newest emission of
    # each window (decision 0020) is the backfilled one, equal to the store's.
    current = (
        duckdb.connect()
        .sql(
            f"SELECT * EXCLUDE (date) FROM read_parquet('{root}/archive/windows/*/*.parquet', "
            "hive_partitioning = true) WHERE date = DATE '2026-01-07' AND fill = 'observed' "
            "QUALIFY row_number() OVER (PARTITION BY segment_id, window_minutes, window_start "
            "ORDER BY updated_at DESC) = 1"
        )
        .to_arrow_table()
    )
    assert (
        pc.min(current.column("updated_at")).as_py() == pc.min(written.column("updated_at")).as_py()
    )
    observed = store.windows_between(1, *day).filter(pc.equal(pc.field("fill"), "observed"))
    five = store.windows_between(5, *day).filter(pc.equal(pc.field("fill"), "observed"))
    assert_same_windows(pa.concat_tables([observed, five]), current)


def test_window_definitions_on_edge_cases(spark: object) -> None:
    """NaN and null readings, zero speeds and unknown segments, row by row."""
    from pyspark.sql import SparkSession

    assert isinstance(spark, SparkSession)
    t0 = START
    rows = {
        "event_id": ["a", "b", "c", "c", "d", "e"],
        "segment_id": ["s1", "s1", "s1", "s1", "s2", "s3"],
        "timestamp": [t0, t0 + 1000, t0 + 2000, t0 + 2000, t0, t0 + 61_000],
        "speed": [60.0, 0.0, 30.0, 30.0, float("nan"), 20.0],
        "volume": [10.0, None, float("nan"), float("nan"), None, 4.0],
        "occupancy": [None, None, None, None, None, 5.0],
        "quality_score": [1.0, 0.5, 0.6, 0.6, 0.9, 0.8],
    }
    table = pa.table(rows).cast(
        pa.schema([EVENT_SCHEMA.field(n).with_nullable(True) for n in rows])
    )
    free_flow = spark.createDataFrame(pa.table({"segment_id": ["s1"], "free_flow": [60.0]}))
    out = to_arrow_windows(
        window_aggregates(spark.createDataFrame(table), (5,), free_flow).orderBy("segment_id")
    )
    got = out.to_pydict()
    assert got["count"] == [3, 1, 1]
    assert got["mean_speed"][0] == pytest.approx(30.0)  # (60 + 0 + 30) / 3: "c" once
    assert got["harmonic_mean_speed"][0] == pytest.approx(2 / (1 / 60 + 1 / 30))
    assert got["volume"] == [10.0, None, 4.0]  # NaN and null volumes are missing
    assert got["occupancy"] == [None, None, 5.0]
    assert got["mean_speed"][1] is None
    assert got["level_of_service"][1] is None
    assert got["harmonic_mean_speed"][1] == 0.0
    # The domain's grades: 30 / 60 = 0.50 is not above C's bound (D); s3 is unknown: 65 mph.
    expected = level_of_service(np.array([30.0, 20.0]), np.array([60.0, DEFAULT_FREE_FLOW_MPH]))
    assert [got["level_of_service"][0], got["level_of_service"][2]] == expected.tolist()
    assert expected.tolist() == ["D", "E"]


def test_cli_backfills_into_the_configured_store(
    spark: object,
    processed: tuple[Path, DuckDBStore, pa.Table],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`trafficcast spark backfill`, on the tests' session (the CLI leaves it running)."""
    from typer.testing import CliRunner

    from trafficcast.cli import app

    root, store, segments = processed
    target = DuckDBStore(tmp_path / "trafficcast.duckdb")
    target.init_schema()
    target.upsert_segments(segments)
    target.close()
    monkeypatch.setenv("TRAFFICCAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TRAFFICCAST_WINDOW_MINUTES", "5")
    monkeypatch.setenv("TRAFFICCAST_SPARK_SHUFFLE_PARTITIONS", "4")
    args = ["spark", "backfill", "--start", "2026-01-08", "--end", "2026-01-08"]
    result = CliRunner().invoke(app, [*args, "--archive", str(root / "archive")])
    assert result.exit_code == 0, result.output
    assert "master local[2]" in result.output
    assert "2026-01-08: " in result.output
    target = DuckDBStore(tmp_path / "trafficcast.duckdb")
    try:
        day = (START + 2 * DAY, START + 3 * DAY)
        expected = store.windows_between(5, *day)
        expected = expected.filter(pc.equal(expected.column("fill"), "observed"))
        assert_same_windows(expected, target.windows_between(5, *day))
        assert target.windows_between(1, *day).num_rows == 0  # only the configured sizes
    finally:
        target.close()
    bad = CliRunner().invoke(app, [*args, "--to", "elsewhere", "--archive", str(root)])
    assert bad.exit_code == 1
    assert "--to" in bad.output
