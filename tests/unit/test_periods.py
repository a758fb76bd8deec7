"""UTC calendar buckets against Python's own calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from trafficcast.domain.periods import (
    DAY_MS,
    PERIODS,
    TooManyBuckets,
    bucket_edges,
    bucket_start,
    shift,
)


def ms(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp() * 1000)  # type: ignore[misc]


def naive_start(t: int, period: str) -> int:
    d = datetime.fromtimestamp(t / 1000, UTC)
    day = datetime(d.year, d.month, d.day, tzinfo=UTC)
    if period == "week":
        day -= timedelta(days=d.weekday())
    elif period == "month":
        day = day.replace(day=1)
    return int(day.timestamp() * 1000)


@pytest.mark.parametrize("period", PERIODS)
def test_bucket_start_matches_the_calendar_over_centuries(period: str) -> None:
    # Every 7919 hours from 1890 to 2110: across leap years, 1900 and 2100 (not leap) and 2000.
    t = ms(1890, 1, 1)
    while t < ms(2110, 1, 1):
        for probe in (t, t + 1, t - 1):
            assert bucket_start(probe, period) == naive_start(probe, period), (probe, period)  # type: ignore[arg-type]
        t += 7919 * 3_600_000


def test_weeks_start_on_monday_and_months_on_the_first() -> None:
    thursday = ms(2026, 1, 1, 13)
    assert bucket_start(thursday, "week") == ms(2025, 12, 29)
    assert bucket_start(ms(2026, 1, 5), "week") == ms(2026, 1, 5)  # a Monday is its own start
    assert bucket_start(ms(2024, 2, 29, 23, 59), "month") == ms(2024, 2, 1)
    assert bucket_start(ms(1969, 12, 31, 23), "day") == ms(1969, 12, 31)


def test_shift_walks_months_of_every_length() -> None:
    assert shift(ms(2024, 1, 1), "month", 1) == ms(2024, 2, 1)
    assert shift(ms(2024, 2, 1), "month", 1) == ms(2024, 3, 1)
    assert shift(ms(2024, 12, 1), "month", 1) == ms(2025, 1, 1)
    assert shift(ms(2025, 1, 1), "month", -13) == ms(2023, 12, 1)
    assert shift(ms(2025, 1, 1), "week", -1) == ms(2025, 1, 1) - 7 * DAY_MS
    assert shift(ms(2025, 1, 1), "day", 3) == ms(2025, 1, 4)


def test_edges_widen_the_range_to_whole_buckets() -> None:
    edges = bucket_edges(ms(2026, 1, 7, 10), ms(2026, 1, 20, 1), "week", 10)
    assert edges == [ms(2026, 1, 5), ms(2026, 1, 12), ms(2026, 1, 19), ms(2026, 1, 26)]
    months = bucket_edges(ms(2025, 11, 30), ms(2026, 2, 1), "month", 10)
    assert months == [ms(2025, 11, 1), ms(2025, 12, 1), ms(2026, 1, 1), ms(2026, 2, 1)]
    # An end on a boundary adds no bucket; an empty range still names its bucket.
    assert bucket_edges(ms(2026, 1, 1), ms(2026, 1, 3), "day", 10) == [
        ms(2026, 1, 1),
        ms(2026, 1, 2),
        ms(2026, 1, 3),
    ]
    assert bucket_edges(ms(2026, 1, 1, 5), ms(2026, 1, 1, 5), "day", 10) == [
        ms(2026, 1, 1),
        ms(2026, 1, 2),
    ]


def test_edges_refuse_more_buckets_than_allowed_without_walking_them_all() -> None:
    assert len(bucket_edges(ms(2026, 1, 1), ms(2026, 1, 11), "day", 10)) == 11
    with pytest.raises(TooManyBuckets):
        bucket_edges(ms(2026, 1, 1), ms(2026, 1, 12), "day", 10)
    with pytest.raises(TooManyBuckets):
        bucket_edges(ms(1, 1, 1), ms(9999, 12, 31), "day", 400)


def test_far_years_do_not_overflow() -> None:
    assert bucket_start(ms(1, 1, 1), "week") == ms(1, 1, 1)  # 0001-01-01 was a Monday
    assert shift(ms(9999, 12, 1), "month", 1) == ms(9999, 12, 31) + DAY_MS
