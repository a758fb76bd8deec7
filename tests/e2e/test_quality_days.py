"""GET /api/quality/days: the days detector health can be asked about, and those with data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from trafficcast.api.app import create_app
from trafficcast.config import Settings
from trafficcast.domain.schema import SEGMENT_SCHEMA, WINDOW_SCHEMA
from trafficcast.runtime import Runtime

TZ = "America/Los_Angeles"


def window(start: datetime) -> dict[str, object]:
    ms = int(start.timestamp() * 1000)
    return {
        "segment_id": "d1",
        "window_minutes": 5,
        "window_start": ms,
        "window_end": ms + 300_000,
        "mean_speed": 55.0,
        "harmonic_mean_speed": 54.0,
        "volume": 10.0,
        "occupancy": 0.1,
        "count": 10,
        "quality": 1.0,
        "level_of_service": "B",
        "updated_at": ms + 300_000,
    }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    runtime = Runtime(Settings(data_dir=tmp_path, timezone=TZ))
    runtime.register_segments(
        pa.Table.from_pylist(
            [{"segment_id": "d1", "name": "d 1", "free_flow_speed": 65.0}], schema=SEGMENT_SCHEMA
        )
    )
    with TestClient(create_app(runtime)) as client:
        yield client, runtime
    runtime.stop()


def put_windows(runtime: Runtime, *starts: datetime) -> None:
    table = pa.Table.from_pylist([window(s) for s in starts])
    runtime.store.insert_windows(table.cast(WINDOW_SCHEMA))


def test_no_data_gives_no_days_but_the_bounds(served: tuple[TestClient, Runtime]) -> None:
    client, _ = served
    body = client.get("/api/quality/days").json()
    assert body == {
        "timezone": TZ,
        "today": datetime.now(ZoneInfo(TZ)).date().isoformat(),
        "earliest": "2000-01-01",
        "first_day": None,
        "last_day": None,
    }


def test_days_are_local_days_of_the_first_and_last_window(
    served: tuple[TestClient, Runtime],
) -> None:
    client, runtime = served
    # 07:30 UTC is still the evening before in Los Angeles (PST, UTC-8); 10:00 UTC on the
    # day DST starts is 03:00 PDT the same day.
    put_windows(
        runtime,
        datetime(2012, 3, 4, 7, 30, tzinfo=UTC),
        datetime(2012, 3, 7, 12, 0, tzinfo=UTC),
        datetime(2012, 3, 11, 10, 0, tzinfo=UTC),
    )
    body = client.get("/api/quality/days").json()
    assert (body["first_day"], body["last_day"]) == ("2012-03-03", "2012-03-11")
    # The named day is one the detector report accepts, as the same local day.
    report = client.get("/api/quality/detectors", params={"date": body["first_day"]})
    assert report.status_code == 200
    assert report.json()["date"] == "2012-03-03"


def test_days_outside_what_can_be_asked_are_clamped(served: tuple[TestClient, Runtime]) -> None:
    client, runtime = served
    put_windows(
        runtime,
        datetime(1999, 6, 1, 12, 0, tzinfo=UTC),
        datetime(2999, 1, 1, 12, 0, tzinfo=UTC),
    )
    body = client.get("/api/quality/days").json()
    assert body["first_day"] == "2000-01-01"
    assert body["last_day"] == body["today"]
    assert body["today"] == datetime.now(ZoneInfo(TZ)).date().isoformat()
    for day in (body["first_day"], body["last_day"]):
        assert client.get("/api/quality/detectors", params={"date": day}).status_code == 200


def test_only_get_with_no_parameters_needed(served: tuple[TestClient, Runtime]) -> None:
    client, _ = served
    assert client.post("/api/quality/days").status_code == 405
    # Unknown query parameters are ignored, not an error (like every GET here).
    assert client.get("/api/quality/days", params={"x": "<script>"}).status_code == 200
