"""Spark training (local[2]) registers the model the in-process grouped training does.

The input is three days of PeMS district 8 (pems08-partial: speed, flow, road graph)
as 5-minute windows: in the store as the processor leaves them (the newest version of
each window, imputed ones flagged), and in the archive as it receives them (every
version: corrections, a window first imputed then observed, 15-minute windows too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from trafficcast.archive import open_archive
from trafficcast.archive.location import split_by_day
from trafficcast.domain.schema import STORED_WINDOW_SCHEMA
from trafficcast.forecast.grouped_model import GroupedModel, load_registered
from trafficcast.forecast.grouped_registration import register_grouped
from trafficcast.forecast.grouped_training import train_grouped
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS, Panel
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.forecast.segment_groups import plan_groups
from trafficcast.forecast.serving import serving_model
from trafficcast.forecast.sources import panel_from_dataset, panel_from_store
from trafficcast.forecast.training import Split, TrainConfig
from trafficcast.sources.dataset import load_dataset
from trafficcast.store.duckdb_store import DuckDBStore

pytestmark = pytest.mark.slow

DAYS = 3
GROUPS = 3
# Small trees: equality is the point here, not accuracy.
CONFIG = TrainConfig(gbm=GbmParams(max_rounds=25, num_leaves=15, seed=3))
# Keys that differ by how and when a model was trained, not by what was learned.
VOLATILE = {"version", "created_at", "source", "train_seconds", "artifacts", "groups", "stage"}


def windows_rows(
    panel: Panel, rows: np.ndarray, cols: np.ndarray, speed: np.ndarray, fill: str, at_ms: int
) -> pa.Table:
    start = panel.start_ms + rows * STEP_MS
    volume = panel.volume[rows, cols] if panel.volume is not None else np.full(len(rows), np.nan)
    n = len(rows)

    def ts(ms: np.ndarray) -> pa.Array:
        return pa.array(ms, pa.int64()).cast(pa.timestamp("ms", tz="UTC"))

    return pa.Table.from_arrays(
        [
            panel.segment_ids.take(pa.array(cols)),
            pa.array(np.full(n, 5), pa.int32()),
            ts(start),
            ts(start + STEP_MS),
            pa.array(speed, pa.float64()),
            pa.array(speed, pa.float64()),
            pa.array(volume, pa.float64(), from_pandas=True),
            pa.nulls(n, pa.float64()),
            pa.array(np.ones(n, dtype=np.int64)),
            pa.array(np.ones(n)),
            pa.array(["A"] * n),
            ts(np.full(n, at_ms)),
            pa.array([fill] * n),
        ],
        schema=STORED_WINDOW_SCHEMA,
    )


@pytest.fixture(scope="module")
def recorded(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, DuckDBStore]]:
    """(archive folder, store) holding the same history, each the way it keeps it."""
    root = tmp_path_factory.mktemp("spark-train")
    data = shared_data / "pems08-partial"
    full = panel_from_dataset(data, "UTC")
    panel = full.rows(0, DAYS * 288)
    rng = np.random.default_rng(11)
    seen = np.isfinite(panel.speed) & (rng.random(panel.speed.shape) > 0.02)
    rows, cols = np.nonzero(seen)
    gone_r, gone_c = np.nonzero(~seen)
    t0 = panel.start_ms + DAYS * 86_400_000
    current = windows_rows(panel, rows, cols, panel.speed[rows, cols], "observed", t0 + 9_000)
    imputed = windows_rows(panel, gone_r, gone_c, np.full(len(gone_r), 55.0), "imputed_profile", t0)
    # Earlier versions the archive also received: corrections of 3 % of the windows, and
    # 1 % first imputed from neighbours before their readings arrived.
    fixed = rng.random(len(rows)) < 0.03
    late = ~fixed & (rng.random(len(rows)) < 0.01)
    corrected = windows_rows(
        panel, rows[fixed], cols[fixed], panel.speed[rows[fixed], cols[fixed]] * 0.5, "observed", t0
    )
    first_imputed = windows_rows(
        panel, rows[late], cols[late], np.full(int(late.sum()), 20.0), "imputed_neighbours", t0
    )
    quarter = current.slice(0, 500).set_column(
        1, STORED_WINDOW_SCHEMA.field(1), pa.array(np.full(500, 15), pa.int32())
    )
    store = DuckDBStore(root / "store.duckdb")
    store.init_schema()
    store.upsert_links(load_dataset(data, timezone="UTC").links)
    store.upsert_windows(pa.concat_tables([current, imputed, quarter]))
    location = open_archive(str(root / "archive"))
    archived = pa.concat_tables([corrected, first_imputed, current, imputed, quarter])
    for half in (archived.slice(0, archived.num_rows // 2), archived.slice(archived.num_rows // 2)):
        for day, part in split_by_day(half, "window_start"):
            location.write_table(location.partition_dir("windows", day), part)
    yield root / "archive", store
    store.close()


def days_of(store: DuckDBStore) -> tuple[object, object]:
    panel = panel_from_store(store, "UTC")
    first = datetime.fromtimestamp(panel.start_ms / 1000, UTC).date()
    last = datetime.fromtimestamp((panel.start_ms + (panel.steps - 1) * STEP_MS) / 1000, UTC)
    return first, last.date()


def trained_in_process(store: DuckDBStore, registry: ModelRegistry) -> str:
    panel = panel_from_store(store, "UTC")
    plan = plan_groups(panel.graph, GROUPS)
    split = Split.fractions(panel.steps, 0.1, 0.1)
    model, summaries = train_grouped(panel, plan, CONFIG, split)
    record = register_grouped(
        registry,
        model,
        summaries,
        source="in process",
        start_ms=panel.start_ms,
        split=split,
        seed=3,
        train_seconds=0.0,
        cut_links=plan.cut_links,
        promote=False,
    )
    return record.version


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "model.json"
    }


def test_spark_training_registers_what_in_process_training_does(
    spark: object, recorded: tuple[Path, DuckDBStore], tmp_path: Path
) -> None:
    from trafficcast.spark.training import train_on_spark

    archive, store = recorded
    local = ModelRegistry(tmp_path / "local")
    version = trained_in_process(store, local)
    first, last = days_of(store)
    on_spark = ModelRegistry(tmp_path / "spark")
    done = train_on_spark(
        spark,  # type: ignore[arg-type]
        str(archive),
        first,  # type: ignore[arg-type]
        last,  # type: ignore[arg-type]
        links=store.links(),
        groups=GROUPS,
        config=CONFIG,
        test_fraction=0.1,
        validation_fraction=0.1,
        timezone="UTC",
        registry=on_spark,
        seed=3,
        promote=True,
    )
    want = local.get(version).metadata
    got = done.record.metadata
    assert got["kind"] == "grouped"
    assert done.record.promoted
    assert {k: v for k, v in got.items() if k not in VOLATILE} == {
        k: v for k, v in want.items() if k not in VOLATILE
    }
    strip = [{k: v for k, v in g.items() if k != "train_seconds"} for g in want["groups"]]
    assert [{k: v for k, v in g.items() if k != "train_seconds"} for g in got["groups"]] == strip
    assert [g["segments"] for g in got["groups"]] == done.plan.groups.sizes()
    assert sum(done.plan.groups.sizes()) == 170
    assert got["quantities"] == ["speed", "volume"]
    assert "test" in got
    # The same boosters, profiles, calibrations and segment lists, file for file.
    local_files = folder_bytes(local.get(version).path)
    assert folder_bytes(done.record.path) == local_files
    assert sum(name.endswith(".txt") for name in local_files) == GROUPS * 2 * 12

    # What the registry holds serves: each segment gets a forecast from its group's model.
    loaded = load_registered(done.record.path)
    assert isinstance(loaded, GroupedModel)
    assert json.loads((done.record.path / "model.json").read_text())["artifacts"]["groups"]
    live = serving_model(done.record.path, done.record.version, "UTC")
    assert live.version == done.record.version


def test_spark_training_refuses_dates_without_windows(
    spark: object, recorded: tuple[Path, DuckDBStore], tmp_path: Path
) -> None:
    from datetime import date

    from trafficcast.forecast.panel import PanelError
    from trafficcast.spark.training import train_on_spark

    archive, store = recorded
    with pytest.raises(PanelError, match="no windows"):
        train_on_spark(
            spark,  # type: ignore[arg-type]
            str(archive),
            date(2001, 1, 1),
            date(2001, 1, 2),
            links=store.links(),
            groups=2,
            config=CONFIG,
            test_fraction=0.1,
            validation_fraction=0.1,
            timezone="UTC",
            registry=ModelRegistry(tmp_path),
            seed=0,
            promote=False,
        )


def test_spark_features_equal_the_in_process_feature_table(
    spark: object, recorded: tuple[Path, DuckDBStore], tmp_path: Path
) -> None:
    import pyarrow.compute as pc
    import pyarrow.dataset as ds

    from trafficcast.forecast.feature_table import feature_batches, feature_schema
    from trafficcast.forecast.training import ALL_STEPS
    from trafficcast.spark.features import features_on_spark

    archive, store = recorded
    first, last = days_of(store)
    run = features_on_spark(
        spark,  # type: ignore[arg-type]
        str(archive),
        first,  # type: ignore[arg-type]
        last,  # type: ignore[arg-type]
        str(tmp_path / "features"),
        links=store.links(),
        groups=GROUPS,
        quantity="volume",
        test_fraction=0.1,
        validation_fraction=0.1,
        timezone="UTC",
    )
    panel = panel_from_store(store, "UTC")
    plan = plan_groups(panel.graph, GROUPS)
    split = Split.fractions(panel.steps, 0.1, 0.1)
    assert run.split == split
    np.testing.assert_array_equal(run.plan.groups.labels, plan.labels)
    want = pa.Table.from_batches(
        [
            b
            for g in range(GROUPS)
            for b in feature_batches(panel.columns(plan.columns(g)), "volume", split, ALL_STEPS, g)
        ]
    )
    got = ds.dataset(tmp_path / "features", format="parquet", partitioning="hive").to_table()
    assert run.rows == got.num_rows == want.num_rows > 100_000
    # Partitioned by quantity and date; the columns come back in the schema's order.
    assert pc.unique(got.column("quantity")).to_pylist() == ["volume"]
    got = got.select(feature_schema(ALL_STEPS).names)
    order = [("segment_id", "ascending"), ("window_start", "ascending")]
    got, want = got.sort_by(order), want.sort_by(order)
    for name in want.column_names:
        if pa.types.is_floating(want.schema.field(name).type):
            np.testing.assert_array_equal(
                got.column(name).to_numpy(), want.column(name).to_numpy(), err_msg=name
            )
        else:
            have = got.column(name).cast(want.schema.field(name).type)
            assert have.equals(want.column(name)), name
    # Features read history only: every target of a training row lies before validation.
    parts = want.column("part").to_numpy(zero_copy_only=False)
    starts = want.column("window_start").cast(pa.int64()).to_numpy()
    assert starts[parts == "train"].max() < panel.start_ms + split.train_end * STEP_MS
    assert set(parts) == {"train", "validation", "test"}


def test_cli_trains_on_spark_and_writes_features(
    spark: object,
    recorded: tuple[Path, DuckDBStore],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`trafficcast spark train` and `spark features`, on the tests' session."""
    from typer.testing import CliRunner

    from trafficcast.cli import app

    archive, store = recorded
    first, last = days_of(store)
    target = DuckDBStore(tmp_path / "trafficcast.duckdb")  # the links come from the store
    target.init_schema()
    target.upsert_links(store.links())
    target.close()
    monkeypatch.setenv("TRAFFICCAST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRAFFICCAST_MODELS_DIR", raising=False)
    dates = ["--start", str(first), "--end", str(last), "--archive", str(archive)]
    runner = CliRunner()
    trained = runner.invoke(
        app, ["spark", "train", *dates, "--groups", "2", "--models", "persistence,profile"]
    )
    assert trained.exit_code == 0, trained.output
    assert "master local[2]" in trained.output
    assert "170 segments in 2 groups of 85, 85" in trained.output
    (record,) = ModelRegistry(tmp_path / "models").list()
    assert record.kind == "grouped"
    assert record.promoted
    assert record.metadata["source"].startswith(f"archive:{archive}")
    assert "network" in trained.output
    assert record.version in trained.output

    out = tmp_path / "features"
    made = runner.invoke(app, ["spark", "features", *dates, "--to", str(out), "--groups", "2"])
    assert made.exit_code == 0, made.output
    assert "feature rows" in made.output
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["quantity=speed"]
    assert len(list((out / "quantity=speed").iterdir())) == (last - first).days + 1  # type: ignore[operator]

    bad = runner.invoke(app, ["spark", "features", *dates, "--to", str(out), "--quantity", "flow"])
    assert bad.exit_code == 1
    assert "--quantity" in bad.output
    early = runner.invoke(app, ["spark", "train", "--start", "2026-01-02", "--end", "2026-01-01"])
    assert early.exit_code == 1
    assert "--end is before --start" in early.output
    none = runner.invoke(
        app,
        [
            "spark",
            "train",
            "--start",
            "2001-01-01",
            "--end",
            "2001-01-02",
            "--archive",
            str(archive),
        ],
    )
    assert none.exit_code == 1
    assert "holds no windows" in none.output
