"""`trafficcast models` end to end: list, show, promote and roll back on a real folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from trafficcast.cli.models import app
from trafficcast.forecast.registry import ModelRecord, ModelRegistry

runner = CliRunner()
DASH = "\N{EN DASH}"  # what the table shows for a missing metric


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRAFFICCAST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRAFFICCAST_MODELS_DIR", raising=False)
    return tmp_path


def trained(root: Path) -> tuple[ModelRecord, ModelRecord]:
    """Two models a day apart: an older fully scored one and a newer bare one."""
    now = [datetime(2026, 11, 25, 3, 15, 2, tzinfo=UTC)]
    registry = ModelRegistry(root, clock=lambda: now[0])
    old = registry.register(
        "gbm",
        {
            "training_window": {"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T12:30:00Z"},
            "validation": {"speed": {"mae": {"15": 2.6, "30": 3.14159, "60": 4.0}}},
            "test": {"speed": {"mae": {"15": 2.9, "60": 4.4}}},
        },
        lambda folder: (folder / "weights.bin").write_bytes(b"w"),
    )
    now[0] += timedelta(days=1)
    new = registry.register("naive", {"params": {"alpha": 0.5}}, lambda folder: None)
    return old, new


def lines_with(text: str, needle: str) -> list[str]:
    return [line for line in text.splitlines() if needle in line]


def test_list_on_an_empty_registry_hints_at_training(data_dir: Path) -> None:
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert "trafficcast train" in result.stdout
    assert str(data_dir / "models") in result.stdout


def test_list_shows_every_model_newest_first(data_dir: Path) -> None:
    old, new = trained(data_dir / "models")
    ModelRegistry(data_dir / "models").promote(old.version)

    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.index(new.version) < out.index(old.version)

    (old_row,) = lines_with(out, old.version)
    assert "gbm" in old_row
    assert "2026-11-25 03:15:02" in old_row
    assert "2026-01-01 → 2026-03-01 12:30" in old_row
    assert "2.60 / 3.14 / 4.00" in old_row
    assert f"2.90 / {DASH} / 4.40" in old_row  # test MAE has no 30-minute value
    assert "✓" in old_row

    (new_row,) = lines_with(out, new.version)
    assert "naive" in new_row
    assert f"{DASH} / {DASH} / {DASH}" in new_row
    assert "✓" not in new_row
    for header in ("version", "kind", "created", "training window", "val MAE", "test MAE"):
        assert header in out
    assert "promoted" in out


def test_models_dir_setting_overrides_the_data_dir(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    old, _ = trained(elsewhere)
    monkeypatch.setenv("TRAFFICCAST_MODELS_DIR", str(elsewhere))
    result = runner.invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    assert old.version in result.stdout
    assert not (data_dir / "models").exists()


def test_show_prints_the_metadata_as_json(data_dir: Path) -> None:
    old, new = trained(data_dir / "models")

    result = runner.invoke(app, ["show", old.version])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == old.metadata
    assert result.stdout.startswith("{\n  ")  # indented, for people

    latest = runner.invoke(app, ["show", "latest"])
    assert latest.exit_code == 0, latest.output
    assert json.loads(latest.stdout)["version"] == new.version


def test_show_unknown_version_lists_the_available_ones(data_dir: Path) -> None:
    old, new = trained(data_dir / "models")
    result = runner.invoke(app, ["show", "gbm-19990101-000000"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "gbm-19990101-000000" in result.stderr
    assert old.version in result.stderr
    assert new.version in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("name", ["../../etc", "/etc/passwd", ".secret"])
def test_bad_version_names_are_refused(data_dir: Path, name: str) -> None:
    result = runner.invoke(app, ["show", name])
    assert result.exit_code == 1
    assert "invalid version" in result.stderr
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_show_latest_on_an_empty_registry(data_dir: Path) -> None:
    result = runner.invoke(app, ["show", "latest"])
    assert result.exit_code == 1
    assert "no model has been trained yet" in result.stderr
    assert "trafficcast train" in result.stderr


def test_promote_then_rollback(data_dir: Path) -> None:
    old, new = trained(data_dir / "models")
    registry = ModelRegistry(data_dir / "models")

    result = runner.invoke(app, ["promote", old.version])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"promoted {old.version}"

    result = runner.invoke(app, ["promote", new.version])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"promoted {new.version} (was {old.version})"
    active = registry.active()
    assert active is not None
    assert active.version == new.version

    result = runner.invoke(app, ["promote", new.version])
    assert result.exit_code == 0, result.output
    assert "already" in result.stdout

    (row,) = lines_with(runner.invoke(app, ["list"]).stdout, "✓")
    assert new.version in row

    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == f"rolled back to {old.version} (was {new.version})"
    active = registry.active()
    assert active is not None
    assert active.version == old.version
    assert json.loads(runner.invoke(app, ["show", "latest"]).stdout)["version"] == old.version

    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 1
    assert "nothing to roll back to" in result.stderr
    assert "Traceback" not in result.output


def test_promote_unknown_and_rollback_without_promotion_fail_cleanly(data_dir: Path) -> None:
    trained(data_dir / "models")
    result = runner.invoke(app, ["promote", "nope"])
    assert result.exit_code == 1
    assert "unknown model version 'nope'" in result.stderr

    result = runner.invoke(app, ["rollback"])
    assert result.exit_code == 1
    assert "no model is promoted" in result.stderr
    assert not (data_dir / "models" / "active.json").exists()


def test_unusable_registry_folder_fails_cleanly(data_dir: Path) -> None:
    (data_dir / "models").write_text("a file where the folder should be")
    for args in (["list"], ["promote", "latest"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 1
        assert "is not a folder" in result.stderr
    assert "Traceback" not in result.output
