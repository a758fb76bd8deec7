"""Shared fixtures: the real traffic data folder and fresh runtimes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trafficcast.config import Settings
from trafficcast.runtime import Runtime

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real traffic data folder {SHARED_DATA} is absent on this machine")
    return SHARED_DATA


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = Runtime(Settings(data_dir=tmp_path))
    try:
        yield rt
    finally:
        rt.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# Real services (PostgreSQL, Kafka, Redis), started by scripts/ on first use.
from tests.services import (  # noqa: E402, F401
    kafka_service,
    postgres_database,
    postgres_service,
    redis_service,
)
