"""The filesystem model registry: register, list, resolve, promote and roll back."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from trafficcast.forecast.registry import (
    ModelRecord,
    ModelRegistry,
    RegistryError,
    UnknownModel,
)

START = datetime(2026, 11, 26, 3, 15, 2, 450_000, tzinfo=UTC)


class Clock:
    """A settable clock, so versions and their order do not depend on test speed."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 60) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(tmp_path: Path, clock: Clock) -> ModelRegistry:
    return ModelRegistry(tmp_path / "models", clock=clock)


def write_weights(folder: Path) -> None:
    (folder / "weights.bin").write_bytes(b"\x00\x01weights")
    (folder / "sub").mkdir()
    (folder / "sub" / "scaler.json").write_text('{"mean": 42.0}')


def nothing(folder: Path) -> None:
    pass


def register_n(registry: ModelRegistry, clock: Clock, n: int) -> list[ModelRecord]:
    records = []
    for _ in range(n):
        records.append(registry.register("gbm", {}, nothing))
        clock.tick()
    return records


METADATA: dict[str, Any] = {
    "training_window": {"start": "2026-01-01T00:00:00Z", "end": "2026-03-01T00:00:00Z"},
    "validation": {"speed": {"mae": {"15": 2.6, "30": 3.1, "60": 4.0}}},
    "features": ["speed_lag_1", "hour_sin"],
    "n_rows": 123_456,
    "note": "ünïcode ✓",
    "nothing": None,
}


def test_register_round_trips_metadata_and_artifacts(
    registry: ModelRegistry, tmp_path: Path
) -> None:
    record = registry.register("gbm", METADATA, write_weights)

    assert record.version == "gbm-20261126-031502"
    assert record.kind == "gbm"
    assert record.created_at == "2026-11-26T03:15:02Z"
    assert record.path == tmp_path / "models" / record.version
    assert record.promoted is False
    assert record.metadata == {
        "version": record.version,
        "kind": "gbm",
        "created_at": "2026-11-26T03:15:02Z",
        **METADATA,
    }
    assert (record.path / "weights.bin").read_bytes() == b"\x00\x01weights"
    assert (record.path / "sub" / "scaler.json").read_text() == '{"mean": 42.0}'
    on_disk = json.loads((record.path / "model.json").read_text(encoding="utf-8"))
    assert on_disk == record.metadata

    # A fresh registry on the same folder reads the same thing back.
    again = ModelRegistry(tmp_path / "models").get(record.version)
    assert again == record
    assert hash(again) == hash(record)


def test_root_is_created_on_first_write_only(tmp_path: Path) -> None:
    root = tmp_path / "deep" / "models"
    registry = ModelRegistry(root)
    assert registry.list() == []
    assert registry.active() is None
    with pytest.raises(UnknownModel):
        registry.get("gbm-20261126-031502")
    assert not root.exists()
    registry.register("gbm", {}, nothing)
    assert root.is_dir()


def test_list_is_newest_first(registry: ModelRegistry, clock: Clock) -> None:
    records = register_n(registry, clock, 3)
    listed = registry.list()
    assert [r.version for r in listed] == [r.version for r in reversed(records)]
    assert [r.version for r in listed] == [
        "gbm-20261126-031702",
        "gbm-20261126-031602",
        "gbm-20261126-031502",
    ]


def test_same_second_registrations_get_distinct_versions(registry: ModelRegistry) -> None:
    # The clock does not move: all three land in the same second.
    versions = [registry.register("gbm", {"i": i}, nothing).version for i in range(3)]
    assert versions == [
        "gbm-20261126-031502",
        "gbm-20261126-031502-2",
        "gbm-20261126-031502-3",
    ]
    assert [registry.get(v).metadata["i"] for v in versions] == [0, 1, 2]
    # Same created_at, so the suffix decides which is newest.
    assert [r.version for r in registry.list()] == list(reversed(versions))
    assert registry.resolve("latest").version == versions[-1]


def test_same_second_with_the_real_clock(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path)
    versions = {registry.register("gbm", {}, nothing).version for _ in range(5)}
    assert len(versions) == 5


def test_resolve_latest_without_and_with_promotion(registry: ModelRegistry, clock: Clock) -> None:
    old, _, new = register_n(registry, clock, 3)
    assert registry.active() is None
    assert registry.resolve("latest").version == new.version

    registry.promote(old.version)
    latest = registry.resolve("latest")
    assert latest.version == old.version
    assert latest.promoted is True
    # A newer, unpromoted model does not change what latest means.
    registry.register("gbm", {}, nothing)
    assert registry.resolve("latest").version == old.version
    assert registry.resolve(new.version).version == new.version


def test_resolve_latest_on_an_empty_registry(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModel, match="no model has been trained yet") as info:
        registry.resolve("latest")
    assert "trafficcast train" in str(info.value)


def test_unknown_version_lists_available_ones(registry: ModelRegistry, clock: Clock) -> None:
    a, b = register_n(registry, clock, 2)
    with pytest.raises(UnknownModel) as info:
        registry.get("gbm-19990101-000000")
    message = str(info.value)
    assert "gbm-19990101-000000" in message
    assert a.version in message
    assert b.version in message
    assert isinstance(info.value, RegistryError)
    with pytest.raises(UnknownModel, match=a.version):
        registry.promote("nope")


@pytest.mark.parametrize(
    "name",
    ["../x", "..", ".", "/etc/passwd", "a/b", "a\\b", ".hidden", "", "x" * 65, "a b", "é"],
)
def test_path_traversal_and_bad_names_are_rejected(
    registry: ModelRegistry, tmp_path: Path, name: str
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "model.json").write_text('{"kind": "evil"}')
    for call in (registry.get, registry.resolve, registry.promote):
        with pytest.raises(RegistryError, match="invalid version") as info:
            call(name)
        assert not isinstance(info.value, UnknownModel)
    with pytest.raises(RegistryError, match="invalid kind"):
        registry.register(name, {}, nothing)
    assert not (tmp_path / "models").exists()


def test_a_64_character_version_is_allowed(registry: ModelRegistry) -> None:
    with pytest.raises(UnknownModel):
        registry.get("x" * 64)


def test_overlong_kind_is_rejected(registry: ModelRegistry) -> None:
    with pytest.raises(RegistryError, match="invalid kind"):
        registry.register("k" * 41, {}, nothing)
    record = registry.register("k" * 40, {}, nothing)
    assert len(record.version) <= 64


def test_failing_write_leaves_nothing_behind(registry: ModelRegistry) -> None:
    def half_then_fail(folder: Path) -> None:
        (folder / "weights.bin").write_bytes(b"partial")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        registry.register("gbm", {}, half_then_fail, promote=True)
    assert list(registry.root.iterdir()) == []
    assert registry.list() == []
    assert registry.active() is None


def test_write_may_not_create_model_json(registry: ModelRegistry) -> None:
    def sneaky(folder: Path) -> None:
        (folder / "model.json").write_text("{}")

    with pytest.raises(RegistryError, match=r"model\.json"):
        registry.register("gbm", {}, sneaky)
    assert list(registry.root.iterdir()) == []


@pytest.mark.parametrize(
    ("metadata", "where"),
    [
        ({"model": object()}, "metadata['model']"),
        ({"validation": {"mae": {"15": float("nan")}}}, "metadata['validation']['mae']['15']"),
        ({"mae": {15: 2.6}}, "key 15"),
        ({"when": datetime(2026, 1, 1, tzinfo=UTC)}, "metadata['when']"),
        ({"xs": [1, 2, {3}]}, "metadata['xs'][2]"),
    ],
)
def test_unserialisable_metadata_is_rejected_before_writing(
    registry: ModelRegistry, metadata: dict[str, Any], where: str
) -> None:
    calls: list[Path] = []
    with pytest.raises(RegistryError, match="not JSON-serialisable") as info:
        registry.register("gbm", metadata, calls.append)
    assert where in str(info.value)
    assert calls == []
    assert not registry.root.exists()


@pytest.mark.parametrize("key", ["version", "created_at", "kind"])
def test_registry_owned_keys_cannot_be_overridden(registry: ModelRegistry, key: str) -> None:
    with pytest.raises(RegistryError, match=key):
        registry.register("gbm", {key: "something-else"}, nothing)


def test_kind_in_metadata_may_repeat_the_kind(registry: ModelRegistry) -> None:
    assert registry.register("gbm", {"kind": "gbm"}, nothing).kind == "gbm"


def test_promote_and_rollback_walk_back_through_history(
    registry: ModelRegistry, clock: Clock
) -> None:
    a, b, c = register_n(registry, clock, 3)
    with pytest.raises(RegistryError, match="no model is promoted"):
        registry.rollback()

    assert registry.promote(a.version).promoted is True
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    registry.promote(b.version)
    registry.promote(c.version)
    assert [r.version for r in registry.list() if r.promoted] == [c.version]

    assert registry.rollback().version == b.version
    active = registry.active()
    assert active is not None
    assert active.version == b.version
    assert registry.resolve("latest").version == b.version
    assert registry.rollback().version == a.version
    with pytest.raises(RegistryError, match="nothing to roll back to"):
        registry.rollback()
    active = registry.active()
    assert active is not None
    assert active.version == a.version

    # A new promotion after rolling back is rolled back to where we were.
    registry.promote(c.version)
    assert registry.rollback().version == a.version

    history = [
        json.loads(line) for line in (registry.root / "promotions.jsonl").read_text().splitlines()
    ]
    assert [(h["action"], h["version"]) for h in history] == [
        ("promote", a.version),
        ("promote", b.version),
        ("promote", c.version),
        ("rollback", b.version),
        ("rollback", a.version),
        ("promote", c.version),
        ("rollback", a.version),
    ]
    assert history[1]["previous"] == a.version


def test_promoting_the_active_version_is_a_no_op(registry: ModelRegistry, clock: Clock) -> None:
    a, b = register_n(registry, clock, 2)
    registry.promote(a.version)
    registry.promote(b.version)
    registry.promote(b.version)
    assert len((registry.root / "promotions.jsonl").read_text().splitlines()) == 2
    assert registry.rollback().version == a.version


def test_register_with_promote(registry: ModelRegistry, clock: Clock) -> None:
    a = registry.register("gbm", {}, nothing, promote=True)
    assert a.promoted is True
    clock.tick()
    b = registry.register("gbm", {}, nothing, promote=True)
    assert b.promoted is True
    assert registry.get(a.version).promoted is False
    assert registry.rollback().version == a.version


def test_rollback_skips_deleted_versions(registry: ModelRegistry, clock: Clock) -> None:
    a, b, c = register_n(registry, clock, 3)
    for r in (a, b, c):
        registry.promote(r.version)
    shutil.rmtree(b.path)
    assert registry.rollback().version == a.version


def test_active_is_none_when_its_folder_is_gone(registry: ModelRegistry, clock: Clock) -> None:
    a, b = register_n(registry, clock, 2)
    registry.promote(a.version)
    shutil.rmtree(a.path)
    assert registry.active() is None
    assert registry.resolve("latest").version == b.version


def test_list_skips_folders_that_are_not_models(registry: ModelRegistry, clock: Clock) -> None:
    (a,) = register_n(registry, clock, 1)
    (registry.root / "empty").mkdir()
    (registry.root / "broken").mkdir()
    (registry.root / "broken" / "model.json").write_text("{not json")
    (registry.root / "array").mkdir()
    (registry.root / "array" / "model.json").write_text("[1, 2]")
    (registry.root / ".tmp-abandoned").mkdir()
    (registry.root / ".tmp-abandoned" / "model.json").write_text("{}")
    assert [r.version for r in registry.list()] == [a.version]
    with pytest.raises(UnknownModel):
        registry.get("empty")
    with pytest.raises(RegistryError, match="unreadable"):
        registry.get("broken")


def test_a_stray_empty_folder_does_not_block_a_version(
    registry: ModelRegistry, clock: Clock
) -> None:
    registry.root.mkdir(parents=True)
    (registry.root / "gbm-20261126-031502").mkdir()
    record = registry.register("gbm", {}, nothing)
    assert record.version == "gbm-20261126-031502-2"


def test_unknown_version_message_stays_short(registry: ModelRegistry, clock: Clock) -> None:
    records = register_n(registry, clock, 13)
    with pytest.raises(UnknownModel) as info:
        registry.get("nope")
    message = str(info.value)
    assert records[-1].version in message  # the newest are listed
    assert records[0].version not in message
    assert "and 3 more" in message
