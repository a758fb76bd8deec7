"""The PostgreSQL store against a real server: outages, bulk writes, forecast arrays."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import psycopg
import pyarrow as pa
import pytest
from alembic import command

from tests.services import start_service
from trafficcast.domain.schema import (
    EVENT_SCHEMA,
    PREDICTION_SCHEMA,
    STORED_PREDICTION_SCHEMA,
    TIMESTAMP,
    WINDOW_SCHEMA,
)
from trafficcast.store import migrate
from trafficcast.store.base import AccuracyQuery, StoreUnavailable
from trafficcast.store.duckdb_store import DuckDBStore
from trafficcast.store.postgres_store import PostgresStore

T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
# The pool's timeout is 5 s: a call during an outage fails well within this.
OUTAGE_ANSWER_S = 10.0
RECOVERY_S = 60.0


def bulk_events(n: int, first: int = 0) -> pa.Table:
    i = np.arange(first, first + n)
    return pa.Table.from_arrays(
        [
            pa.array([f"bulk-{k:09d}" for k in i]),
            pa.array([f"seg-{k % 500}" for k in i]),
            pa.array(T0 + i * 37, pa.int64()).cast(TIMESTAMP),
            pa.array(np.linspace(5.0, 70.0, n)),
            pa.array(np.where(i % 10 == 0, np.nan, 4.0)),
            pa.nulls(n, pa.float64()),
            pa.array(np.full(n, 34.05)),
            pa.array(np.full(n, -118.25)),
            pa.array(["bulk"] * n),
            pa.array(np.ones(n)),
        ],
        schema=EVENT_SCHEMA,
    )


def fails_fast(call: Callable[[], object]) -> float:
    began = time.monotonic()
    with pytest.raises(StoreUnavailable):
        call()
    return time.monotonic() - began


@pytest.mark.slow
def test_pool_recovers_after_the_server_restarts(tmp_path: Path) -> None:
    service = start_service("postgres", tmp_path)
    store = PostgresStore(service.url, max_size=2)
    try:
        store.init_schema()
        store.write_events(bulk_events(100))
        store.ping()

        service.stop()
        # The pooled connections are dead now: every call answers StoreUnavailable, quickly.
        assert fails_fast(store.ping) < OUTAGE_ANSWER_S
        assert fails_fast(store.count_events) < OUTAGE_ANSWER_S
        assert fails_fast(lambda: store.write_events(bulk_events(10, 100))) < OUTAGE_ANSWER_S

        def cycle() -> None:
            with store.transaction():
                store.write_events(bulk_events(10, 100))

        assert fails_fast(cycle) < OUTAGE_ANSWER_S

        service.start()
        deadline = time.monotonic() + RECOVERY_S
        while True:
            try:
                store.ping()
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        # Same data, and writes work again (no half-written cycle from the outage).
        assert store.count_events() == 100
        store.write_events(bulk_events(10, 100))
        assert store.count_events() == 110
    finally:
        store.close()
        service.destroy()


@pytest.mark.slow
def test_bulk_copy_of_200k_events(postgres_database: str) -> None:
    n = 200_000
    store = PostgresStore(postgres_database)
    try:
        store.init_schema()
        batch = bulk_events(n)
        began = time.monotonic()
        store.write_events(batch)
        elapsed = time.monotonic() - began
        print(f"write_events: {n} rows in {elapsed:.2f} s ({n / elapsed:,.0f} rows/s)")
        assert store.count_events() == n
        store.write_events(batch.slice(0, 1000))  # a replayed slice adds nothing
        assert store.count_events() == n
        back = store.events_since(T0).sort_by("event_id")
        assert back.schema == EVENT_SCHEMA
        assert back.num_rows == n
        assert back.column("timestamp").equals(batch.column("timestamp"))
        assert back.column("speed").equals(batch.column("speed"))
        volume = back.column("volume").to_numpy(zero_copy_only=False)
        assert int(np.isnan(volume).sum()) == n // 10
        assert back.column("occupancy").null_count == n
        assert store.max_event_ms() == T0 + (n - 1) * 37
    finally:
        store.close()


# forecasts stored as arrays (migration 0002) ---------------------------------------

MIN = 60_000
HORIZONS = [5, 10, 15, 30, 60]


def forecast_rows(rows: list[tuple[str, int, int, str, float | None]]) -> pa.Table:
    """Per-horizon forecasts (segment, issued_ms, horizon, model, speed); None and NaN pass."""
    speeds = [r[4] for r in rows]
    lower = [None if v is None else v - 5 for v in speeds]
    return pa.Table.from_arrays(
        [
            pa.array([f"{s}@{i}/{m}" for s, i, _, m, _ in rows]),
            pa.array([r[0] for r in rows]),
            pa.array([r[1] for r in rows], pa.int64()).cast(TIMESTAMP),
            pa.array([r[2] for r in rows], pa.int32()),
            pa.array([r[1] + r[2] * MIN for r in rows], pa.int64()).cast(TIMESTAMP),
            pa.array(speeds, pa.float64()),
            pa.array(lower, pa.float64()),
            pa.array([None if v is None else v + 5 for v in speeds], pa.float64()),
            pa.array([None if v is None else v * 2 for v in speeds], pa.float64()),
            pa.array([None] * len(rows), pa.float64()),
            pa.array([float("nan")] * len(rows), pa.float64()),
            pa.array([float("inf") if r[2] == 60 else 0.5 for r in rows], pa.float64()),
            pa.array([r[3] for r in rows]),
        ],
        schema=PREDICTION_SCHEMA,
    )


def random_batches(seed: int, n_batches: int) -> list[pa.Table]:
    """Issues of several segments and models, out of order, partial horizon sets, replays."""
    rng = np.random.default_rng(seed)
    batches = []
    for _ in range(n_batches):
        rows: dict[tuple[str, int, int, str], float | None] = {}
        for _ in range(int(rng.integers(1, 6))):
            seg = f"s{rng.integers(0, 4)}"
            issued = T0 + int(rng.integers(0, 8)) * 5 * MIN
            model = ["m1", "m2"][int(rng.integers(0, 2))]
            for h in rng.choice(HORIZONS, size=int(rng.integers(1, 6)), replace=False):
                roll = rng.random()
                speed = (
                    None
                    if roll < 0.1
                    else float("nan")
                    if roll < 0.2
                    else float(rng.integers(10, 70))
                )
                rows[(seg, issued, int(h), model)] = speed
        listed = [(*k, v) for k, v in rows.items()]
        rng.shuffle(listed)  # type: ignore[arg-type]
        batches.append(forecast_rows(listed))
    return batches


def comparable(table: pa.Table) -> list[tuple[object, ...]]:
    """Rows as sorted tuples, NaN made comparable."""

    def cell(v: object) -> object:
        return "NaN" if isinstance(v, float) and np.isnan(v) else v

    return sorted((tuple(cell(v) for v in row.values()) for row in table.to_pylist()), key=repr)


def accuracy_windows() -> pa.Table:
    ends = [T0 + k * 5 * MIN for k in range(30)]
    segs = [f"s{i}" for i in range(4)]
    rows = [(s, e) for s in segs for e in ends]
    n = len(rows)
    rng = np.random.default_rng(7)
    speed = rng.uniform(10, 70, n)
    speed[::13] = np.nan
    volume = pa.array([None if i % 7 == 0 else float(i) for i in range(n)], pa.float64())
    return pa.Table.from_arrays(
        [
            pa.array([s for s, _ in rows]),
            pa.array([5] * n, pa.int32()),
            pa.array([e - 5 * MIN for _, e in rows], pa.int64()).cast(TIMESTAMP),
            pa.array([e for _, e in rows], pa.int64()).cast(TIMESTAMP),
            pa.array(speed),
            pa.array(speed),
            volume,
            pa.array([5.0] * n),
            pa.array([10] * n, pa.int64()),
            pa.array([1.0] * n),
            pa.array(["C"] * n),
            pa.array([T0] * n, pa.int64()).cast(TIMESTAMP),
        ],
        schema=WINDOW_SCHEMA,
    )


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_forecasts_as_arrays_answer_like_duckdb(
    postgres_database: str, tmp_path: Path, seed: int
) -> None:
    """Random issue batches give PostgreSQL's arrays and DuckDB's rows the same answers."""
    pg = PostgresStore(postgres_database)
    duck = DuckDBStore(tmp_path / "reference.duckdb")
    try:
        pg.init_schema()
        duck.init_schema()
        for store in (pg, duck):
            store.insert_windows(accuracy_windows())
        for batch in random_batches(seed, 12):
            pg.insert_predictions(batch)
            duck.insert_predictions(batch)
            assert comparable(pg.latest_predictions(None, 10_000)) == comparable(
                duck.latest_predictions(None, 10_000)
            )
        for seg in ("s0", "s3", "nope"):
            mine, theirs = pg.latest_predictions(seg, 100), duck.latest_predictions(seg, 100)
            assert mine.schema == STORED_PREDICTION_SCHEMA
            assert theirs.schema.names == STORED_PREDICTION_SCHEMA.names
            assert comparable(mine) == comparable(theirs)
            assert mine.column("horizon_minutes").to_pylist() == sorted(
                mine.column("horizon_minutes").to_pylist()
            )
        for query in (
            AccuracyQuery(T0, T0 + 3 * 60 * MIN),
            AccuracyQuery(T0 + 20 * MIN, T0 + 50 * MIN, bucket_minutes=15, model_version="m2"),
            AccuracyQuery(T0, T0 + 3 * 60 * MIN, bucket_minutes=5, segment_id="s1"),
        ):
            mine, theirs = pg.forecast_accuracy(query), duck.forecast_accuracy(query)
            assert mine.schema == theirs.schema
            assert mine.num_rows == theirs.num_rows
            for name in mine.column_names:
                a, b = mine.column(name).to_pylist(), theirs.column(name).to_pylist()
                if pa.types.is_floating(mine.schema.field(name).type):
                    assert a == pytest.approx(b, nan_ok=True), name
                else:
                    assert a == b, name
    finally:
        pg.close()
        duck.close()


def test_forecast_values_round_trip_through_arrays(postgres_database: str) -> None:
    store = PostgresStore(postgres_database)
    try:
        store.init_schema()
        store.insert_predictions(
            forecast_rows([("a", T0, 30, "m", float("nan")), ("a", T0, 15, "m", None)])
        )
        # A replay of one horizon replaces it and keeps the other one.
        store.insert_predictions(forecast_rows([("a", T0, 30, "m", 1e-300)]))
        back = store.latest_predictions("a", 10)
        assert back.column("horizon_minutes").to_pylist() == [15, 30]
        assert back.column("predicted_speed").to_pylist() == [None, 1e-300]
        assert back.column("confidence").to_pylist() == [0.5, 0.5]
        assert np.isnan(back.column("volume_upper").to_numpy(zero_copy_only=False)).all()
        assert back.column("volume_lower").null_count == 2
        assert back.column("target_time").cast(pa.int64()).to_pylist() == [
            T0 + 15 * MIN,
            T0 + 30 * MIN,
        ]
        assert back.column("prediction_id").to_pylist() == [f"a@{T0}/m"] * 2
        with psycopg.connect(postgres_database) as conn:
            row = conn.execute(
                "SELECT count(*), max(cardinality(horizon_minutes)) FROM predictions"
            )
            assert row.fetchone() == (1, 2)  # one row per issue
    finally:
        store.close()


def test_migration_0002_converts_forecasts_and_events_both_ways(postgres_database: str) -> None:
    migrate.upgrade(postgres_database, "0001")
    old_forecasts = [
        ("a", T0, 15, "m", 50.0),
        ("a", T0, 30, "m", float("nan")),
        ("a", T0 + 5 * MIN, 15, "m2", None),
        ("b", T0, 60, "m", 40.0),
    ]
    columns = ", ".join(f.name for f in PREDICTION_SCHEMA if f.name != "prediction_id")
    ms = "timestamptz 'epoch' + %s * interval '1 millisecond'"
    with psycopg.connect(postgres_database) as conn:
        for table in ("predictions", "latest_predictions"):
            for seg, issued, h, model, speed in old_forecasts:
                conn.execute(
                    f"INSERT INTO {table} ({columns}) VALUES "
                    f"(%s, {ms}, %s, {ms}, %s, 1, 2, 3, NULL, 'NaN', 0.5, %s)",
                    [seg, issued, h, issued + h * MIN, speed, model],
                )
    PostgresStore(postgres_database).close()  # no writes before the upgrade
    migrate.upgrade(postgres_database)
    store = PostgresStore(postgres_database)
    try:
        store.write_events(bulk_events(50))
        latest = store.latest_predictions(None, 100).sort_by(
            [("segment_id", "ascending"), ("horizon_minutes", "ascending")]
        )
        assert latest.column("segment_id").to_pylist() == ["a", "a", "a", "b"]
        assert latest.column("horizon_minutes").to_pylist() == [15, 15, 30, 60]
        assert latest.column("volume_upper").null_count == 0
        accuracy = store.forecast_accuracy(AccuracyQuery(T0, T0 + 2 * 60 * MIN))
        assert accuracy.num_rows == 0  # no windows: nothing scored, but the query runs
    finally:
        store.close()
    with psycopg.connect(postgres_database) as conn:
        assert conn.execute("SELECT count(*) FROM predictions").fetchone() == (3,)
    command.downgrade(migrate.config(postgres_database), "0001")
    with psycopg.connect(postgres_database) as conn:
        for table in ("predictions", "latest_predictions"):
            rows = conn.execute(
                f"SELECT segment_id, (extract(epoch FROM issued_at) * 1000)::int8, "
                f"horizon_minutes, model_version, predicted_speed FROM {table} "
                "ORDER BY 1, 2, 3"
            ).fetchall()
            assert [r[:4] for r in rows] == [r[:4] for r in sorted(old_forecasts)]
            speeds = [r[4] for r in rows]
            assert speeds[0] == 50.0
            assert np.isnan(speeds[1])
            assert speeds[2] is None
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (50,)
        key = conn.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'events_pkey'"
        ).fetchone()
        assert key == ("PRIMARY KEY (event_id)",)
