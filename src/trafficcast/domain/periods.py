"""Calendar buckets in UTC (days, Monday weeks, months) as epoch milliseconds.

Integer day arithmetic, not datetime: an API range may reach years a Python
datetime cannot hold once widened to whole buckets, and this never overflows.
"""

from __future__ import annotations

from typing import Literal, get_args

Period = Literal["day", "week", "month"]
PERIODS: tuple[Period, ...] = get_args(Period)
DAY_MS = 86_400_000


class TooManyBuckets(ValueError):
    """The range spans more buckets than allowed."""


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """(year, month, day) of a day count since 1970-01-01; inverse of _days_from_civil."""
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def bucket_start(ms: int, period: Period) -> int:
    """Start of the bucket holding the instant `ms`."""
    days = ms // DAY_MS
    if period == "day":
        return days * DAY_MS
    if period == "week":
        # 1970-01-01 was a Thursday: +3 makes Monday weekday 0.
        return (days - (days + 3) % 7) * DAY_MS
    year, month, _ = _civil_from_days(days)
    return _days_from_civil(year, month, 1) * DAY_MS


def shift(start: int, period: Period, n: int) -> int:
    """The bucket start n buckets after (or before, n < 0) the bucket start `start`."""
    if period == "day":
        return start + n * DAY_MS
    if period == "week":
        return start + n * 7 * DAY_MS
    year, month, _ = _civil_from_days(start // DAY_MS)
    index = year * 12 + month - 1 + n
    return _days_from_civil(index // 12, index % 12 + 1, 1) * DAY_MS


def bucket_edges(start_ms: int, end_ms: int, period: Period, max_buckets: int) -> list[int]:
    """Edges of the whole buckets covering [start_ms, end_ms): n + 1 ascending bucket starts.

    The range is widened to whole buckets: the first edge is the start of the
    bucket holding start_ms, the last is the first bucket start at or after end_ms.
    An empty range (end_ms <= start_ms) still gives the one bucket holding start_ms.
    """
    edges = [bucket_start(start_ms, period)]
    while edges[-1] < end_ms or len(edges) == 1:
        if len(edges) > max_buckets:
            raise TooManyBuckets(f"the range spans more than {max_buckets} {period} buckets")
        edges.append(shift(edges[-1], period, 1))
    return edges
