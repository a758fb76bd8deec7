"""Forecast settings: validation naming each field, the issue clock, the stored form."""

from __future__ import annotations

import pytest

from trafficcast.forecast.schedule import (
    ForecastSchedule,
    ScheduleError,
    available_horizons,
    parse_stored,
    validate,
)

AVAILABLE = available_horizons((15, 30, 45, 60))
MIN = 60_000


def test_available_is_5_to_60_plus_longer_configured_ones() -> None:
    assert tuple(range(5, 61, 5)) == AVAILABLE
    assert available_horizons((15, 120)) == (*range(5, 61, 5), 120)


def test_valid_settings_are_sorted_and_deduplicated() -> None:
    assert validate([60, 15, 15], 15, AVAILABLE) == ForecastSchedule((15, 60), 15)


@pytest.mark.parametrize(
    ("horizons", "refresh", "fields"),
    [
        ([], 5, ["horizons_min"]),
        ([7], 5, ["horizons_min"]),
        ([65], 5, ["horizons_min"]),
        (["15"], 5, ["horizons_min"]),
        ([True], 5, ["horizons_min"]),
        ("15", 5, ["horizons_min"]),
        (None, 5, ["horizons_min"]),
        ([15], 7, ["refresh_minutes"]),
        ([15], 0, ["refresh_minutes"]),
        ([15], True, ["refresh_minutes"]),
        ([15], "5", ["refresh_minutes"]),
        ([], 45, ["horizons_min", "refresh_minutes"]),
    ],
)
def test_bad_settings_name_every_bad_field(
    horizons: object, refresh: object, fields: list[str]
) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate(horizons, refresh, AVAILABLE)
    assert [f for f, _ in caught.value.problems] == fields


def test_unavailable_horizons_are_listed_in_the_reason() -> None:
    with pytest.raises(ScheduleError) as caught:
        validate([7, 15, 90], 5, AVAILABLE)
    reason = caught.value.problems[0][1]
    assert "7, 90" in reason
    assert "choose from 5, 10" in reason


@pytest.mark.parametrize(("refresh", "due"), [(5, 12), (10, 6), (15, 4), (30, 2), (60, 1)])
def test_issues_fall_on_the_refresh_clock(refresh: int, due: int) -> None:
    schedule = ForecastSchedule((15,), refresh)
    hour = 1_767_600_000_000 - 1_767_600_000_000 % (60 * MIN)
    closes = [hour + k * 5 * MIN for k in range(1, 13)]  # one hour of window closes
    issued = [c for c in closes if schedule.due(c)]
    assert len(issued) == due
    assert all(c % (refresh * MIN) == 0 for c in issued)


def test_stored_settings_round_trip_and_bad_ones_fall_back() -> None:
    schedule = ForecastSchedule((5, 30), 30)
    assert parse_stored(schedule.to_json(), AVAILABLE) == schedule
    # The environment no longer offers 120: the saved choice no longer applies.
    saved = ForecastSchedule((120,), 5).to_json()
    assert parse_stored(saved, available_horizons((120,))) is not None
    assert parse_stored(saved, AVAILABLE) is None
    for text in (None, "", "not json", "[1]", '{"horizons_min": [15]}', "null"):
        assert parse_stored(text, AVAILABLE) is None
