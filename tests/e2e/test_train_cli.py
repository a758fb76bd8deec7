"""`trafficcast train` and `trafficcast evaluate` end to end, on real data.

Training runs on the first 400 steps (33 hours) of PEMS08, written to a temporary
folder: the whole 1 282 steps take about 30 s a run on two cores, and two runs are
needed to check determinism.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from typer.testing import CliRunner, Result

from trafficcast.cli import app
from trafficcast.domain.schema import TIMESTAMP, WINDOW_SCHEMA
from trafficcast.forecast.bundle import TrainedModel
from trafficcast.forecast.features import FEATURES
from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.registry import MODEL_FILE, ModelRecord, ModelRegistry
from trafficcast.store.duckdb_store import DuckDBStore

runner = CliRunner()
ROWS = 400
HORIZONS = ("15", "30", "45", "60")
QUANTITIES = ("speed", "volume")


def run(data_dir: Path, *args: str) -> Result:
    env = {"TRAFFICCAST_DATA_DIR": str(data_dir), "TRAFFICCAST_MODELS_DIR": None}
    return runner.invoke(app, list(args), env=env)


def finite(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)


def artifacts(record: ModelRecord) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(record.path.iterdir()) if p.name != MODEL_FILE}


@pytest.fixture(scope="module")
def small_pems08(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pems08-small")
    source = shared_data / "pems08-partial"
    for name in ("speed.csv", "flow.csv", "occupancy.csv"):
        with (source / name).open() as fh:
            head = [next(fh) for _ in range(ROWS + 1)]  # header and ROWS steps
        (folder / name).write_text("".join(head))
    (folder / "edges.csv").write_text((source / "edges.csv").read_text())
    return folder


@pytest.fixture(scope="module")
def two_runs(
    small_pems08: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[Result]]:
    """The same training twice, same seed, into one data folder."""
    data_dir = tmp_path_factory.mktemp("data")
    results = [run(data_dir, "train", "--dataset", str(small_pems08), "--seed", "7") for _ in "ab"]
    for result in results:
        assert result.exit_code == 0, result.output
    return data_dir, results


def records(data_dir: Path) -> list[ModelRecord]:
    """Oldest first."""
    return list(reversed(ModelRegistry(data_dir / "models").list()))


@pytest.mark.slow
def test_train_registers_a_scored_promoted_model(
    two_runs: tuple[Path, list[Result]], small_pems08: Path
) -> None:
    data_dir, results = two_runs
    first, second = records(data_dir)
    assert first.promoted  # the registry had no promoted model yet
    assert not second.promoted  # one is promoted now, and --promote was not given

    meta = first.metadata
    assert first.kind == "gbm"  # the learned model beats both baselines on validation
    assert meta["source"] == f"dataset:{small_pems08.resolve()}"
    assert meta["seed"] == 7
    assert meta["params"]["seed"] == 7
    assert meta["features"] == [FEATURES[i] for i in GbmParams().columns()]
    assert meta["horizons_minutes"] == list(range(5, 61, 5))
    assert meta["quantities"] == list(QUANTITIES)
    # 400 steps: the last 40 are test, the 40 before validation; the window is what was read.
    assert meta["training_window"] == {
        "start": "2016-07-01T07:00:00Z",  # midnight in California
        "end": "2016-07-02T13:00:00Z",
        "steps": 360,
        "segments": 170,
    }
    assert meta["train_seconds"] > 0
    for quantity in QUANTITIES:
        validation = meta["validation"][quantity]
        test = meta["test"][quantity]
        for scores in (validation, test):
            for h in HORIZONS:
                assert finite(scores["mae"][h])
                assert finite(scores["rmse"][h])
                assert scores["rmse"][h] >= scores["mae"][h]
                assert 0.0 <= scores["coverage"][h] <= 1.0
        for kind in ("persistence", "profile"):
            assert all(finite(test["baselines"][kind]["mae"][h]) for h in HORIZONS)
        candidates = meta["candidates"][quantity]
        assert set(candidates) == {"gbm", "persistence", "profile"}
        # The record of the choice: the chosen model had the lowest validation MAE.
        assert candidates["gbm"]["mae"] == validation["mae"]

    # The artifacts load back into a model that forecasts both quantities.
    model = TrainedModel.from_registry_folder(first.path)
    assert set(model.quantities) == set(QUANTITIES)
    assert model.steps == tuple(range(1, 13))
    assert len(model.segment_ids) == 170

    out = results[0].stdout
    assert first.version in out
    assert "val MAE" in out
    assert "test MAE" in out
    assert "promoted" in out

    listed = run(data_dir, "models", "list")
    assert listed.exit_code == 0, listed.output
    (row,) = [line for line in listed.stdout.splitlines() if first.version in line]
    assert "✓" in row
    assert "2016-07-01" in row


@pytest.mark.slow
def test_the_same_seed_trains_the_same_model(two_runs: tuple[Path, list[Result]]) -> None:
    data_dir, _ = two_runs
    first, second = records(data_dir)
    assert first.version != second.version
    for key in ("validation", "candidates", "test", "features", "training_window", "artifacts"):
        assert first.metadata[key] == second.metadata[key], key
    files = artifacts(first)
    assert any(name.endswith(".txt") for name in files)  # the boosters
    assert files == artifacts(second)


@pytest.mark.slow
def test_train_from_the_store(tmp_path: Path) -> None:
    """Windows as the stream processor stores them, two segments over two days."""
    steps = np.arange(2 * 288)
    starts = 1_767_600_000_000 + steps * 300_000
    rows: list[pa.Table] = []
    for seg, base in (("a", 55.0), ("b", 40.0)):
        speed = base + 8 * np.sin(steps / 288 * 2 * np.pi)
        n = len(steps)
        rows.append(
            pa.Table.from_arrays(
                [
                    pa.array([seg] * n),
                    pa.array([5] * n, pa.int32()),
                    pa.array(starts).cast(TIMESTAMP),
                    pa.array(starts + 300_000).cast(TIMESTAMP),
                    pa.array(speed),
                    pa.array(speed),
                    pa.array(np.full(n, 30.0)),
                    pa.array(np.full(n, 5.0)),
                    pa.array(np.full(n, 10), pa.int64()),
                    pa.array(np.ones(n)),
                    pa.array(["B"] * n),
                    pa.array(starts).cast(TIMESTAMP),
                ],
                schema=WINDOW_SCHEMA,
            )
        )
    store = DuckDBStore(tmp_path / "trafficcast.duckdb")
    store.init_schema()
    store.insert_windows(pa.concat_tables(rows))
    store.close()

    result = run(tmp_path, "train", "--days", "1", "--models", "persistence,profile")
    assert result.exit_code == 0, result.output
    (record,) = records(tmp_path)
    assert record.promoted
    assert record.kind in ("persistence", "profile")
    meta = record.metadata
    assert meta["source"] == f"store:{tmp_path / 'trafficcast.duckdb'}"
    assert meta["features"] == []
    assert "params" not in meta
    assert meta["training_window"]["segments"] == 2
    assert meta["training_window"]["steps"] == 288 - round(288 * 0.1)  # --days 1, less test
    assert set(meta["candidates"]["speed"]) == {"persistence", "profile"}


@pytest.mark.slow
def test_evaluate_runs_the_protocol_and_writes_json(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    result = runner.invoke(
        app,
        [
            "evaluate",
            "--data",
            str(shared_data),
            "--dataset",
            "los-loop",
            "--max-steps",
            "600",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "los-loop" in result.stdout
    assert "Accuracy" in result.stdout  # the T-GCN protocol reports it

    rows = json.loads(out.read_text())
    assert {r["dataset"] for r in rows} == {"los-loop"}
    by_model: dict[str, set[int]] = {}
    for r in rows:
        by_model.setdefault(r["model"].removesuffix(" (baseline)"), set()).add(r["horizon_min"])
        assert finite(r["mae"]), r
    assert by_model == {k: {15, 30, 45, 60} for k in ("persistence", "profile", "gbm")}
    for h in (15, 30, 45, 60):
        assert sum(r["chosen"] for r in rows if r["horizon_min"] == h) == 1
    # Baselines have no interval: NaN coverage is written as null, never as NaN.
    assert all(r["coverage"] is None for r in rows if r["model"].endswith("(baseline)"))
    assert "NaN" not in out.read_text()


# ---- bad input: one line on stderr, exit 1, no traceback --------------------------------------


def assert_clean_failure(result: Result, *needles: str) -> None:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    for needle in needles:
        assert needle in result.stderr


def test_train_on_a_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dataset"
    result = run(tmp_path, "train", "--dataset", str(missing))
    assert_clean_failure(result, str(missing), "no such file or folder")
    assert not (tmp_path / "models").exists()


def test_train_without_a_store(tmp_path: Path) -> None:
    result = run(tmp_path, "train")
    assert_clean_failure(result, "no store at", "trafficcast replay")


def test_train_on_an_empty_store(tmp_path: Path) -> None:
    DuckDBStore(tmp_path / "trafficcast.duckdb").init_schema()
    result = run(tmp_path, "train", "--from-store")
    assert_clean_failure(result, "no 5-minute windows", "trafficcast.duckdb")


def test_train_on_too_little_data(small_pems08: Path, tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.mkdir()
    for name in ("speed.csv", "flow.csv"):
        lines = (small_pems08 / name).read_text().splitlines(keepends=True)
        (short / name).write_text("".join(lines[:61]))
    result = run(tmp_path, "train", "--dataset", str(short))
    assert_clean_failure(result, "test slice")
    result = run(tmp_path, "train", "--dataset", str(short), "--test-fraction", "0")
    assert_clean_failure(result, "validation slice (6 steps) is shorter than the longest horizon")


def test_train_rejects_unknown_models(tmp_path: Path) -> None:
    result = run(tmp_path, "train", "--models", "gbm,xgboost")
    assert result.exit_code == 2
    assert "xgboost" in result.output


def test_evaluate_names_a_missing_dataset_folder(tmp_path: Path) -> None:
    result = run(tmp_path, "evaluate", "--data", str(tmp_path), "--dataset", "los-loop")
    assert_clean_failure(result, "los-loop", str(tmp_path / "los-loop"))
    result = run(tmp_path, "evaluate", "--data", str(tmp_path))
    assert_clean_failure(result, "none of the known datasets")
    result = run(tmp_path, "evaluate", "--dataset", "nowhere")
    assert_clean_failure(result, "unknown dataset nowhere", "los-loop")


@pytest.mark.slow
def test_train_in_segment_groups(small_pems08: Path, tmp_path: Path) -> None:
    result = run(tmp_path, "train", "--dataset", str(small_pems08), "--groups", "3")
    assert result.exit_code == 0, result.output
    assert "3 segment groups of 57, 57, 56 segments" in result.output
    for name in ("group-000", "group-001", "group-002", "network"):
        assert name in result.output
    (record,) = records(tmp_path)
    assert record.kind == "grouped"
    assert record.promoted  # the first model of the registry
    meta = record.metadata
    assert [g["segments"] for g in meta["groups"]] == [57, 57, 56]
    assert meta["training_window"]["segments"] == 170
    for quantity in QUANTITIES:
        for h in HORIZONS:
            assert finite(meta["validation"][quantity]["mae"][h])
            assert finite(meta["test"][quantity]["mae"][h])
            assert finite(meta["test"][quantity]["baselines"]["persistence"]["mae"][h])
    assert meta["features"] == [FEATURES[i] for i in GbmParams().columns()]
    # The members' files sit in one folder each, listed by the manifest.
    for group in meta["artifacts"]["groups"]:
        assert (record.path / group["name"] / "segment_ids.npy").is_file()


def test_train_refuses_more_groups_than_segments(small_pems08: Path, tmp_path: Path) -> None:
    result = run(tmp_path, "train", "--dataset", str(small_pems08), "--groups", "171")
    assert result.exit_code == 1
    assert "171 groups asked of only 170 segments" in result.output
    assert records(tmp_path) == []
    zero = run(tmp_path, "train", "--dataset", str(small_pems08), "--groups", "0")
    assert zero.exit_code == 2
    assert "--groups" in zero.output
