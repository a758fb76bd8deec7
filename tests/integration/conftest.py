"""Fixtures of the scaled-out tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import Service, start_service


@pytest.fixture
def kafka(tmp_path: Path) -> Iterator[Service]:
    """A broker of this test's own: its topics start empty, and it may be restarted."""
    service = start_service("kafka", tmp_path / "services")
    try:
        yield service
    finally:
        service.destroy()
