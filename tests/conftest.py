"""Shared fixtures: the real traffic data folder and fresh runtimes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from trafficcast.config import Settings
from trafficcast.runtime import Runtime

# Most tests are about traffic, not access: they run as a single operator on a laptop
# would (anonymous admin, no rate limits; inherited by the servers they spawn). Tests
# of authentication, roles and limits set these Settings explicitly, which wins.
os.environ.setdefault("TRAFFICCAST_ANONYMOUS_ROLE", "admin")
for _class in ("ANONYMOUS", "AUTHENTICATED", "PREMIUM"):
    os.environ.setdefault(f"TRAFFICCAST_RATE_LIMIT_{_class}_PER_HOUR", "0")

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
