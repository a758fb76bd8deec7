"""Which horizons the live forecaster publishes, and how often it issues them.

The settings live in the store's state table, so every process reading that
store (API, stream processors) agrees on them and a restart keeps them; the
environment's horizons are only the default. Pure code: parsing, validation
and the issue clock, no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

STATE_KEY = "forecast_settings"
STANDARD_HORIZONS_MIN = tuple(range(5, 61, 5))
REFRESH_CHOICES_MIN = (5, 10, 15, 30, 60)
MINUTE_MS = 60_000


class ScheduleError(ValueError):
    """Settings that cannot apply; `problems` names each field and why."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in problems))
        self.problems = problems


def available_horizons(configured: Iterable[int]) -> tuple[int, ...]:
    """5 ... 60 minutes, plus any longer horizon the environment configures."""
    return tuple(sorted(set(STANDARD_HORIZONS_MIN) | set(configured)))


@dataclass(frozen=True)
class ForecastSchedule:
    horizons_min: tuple[int, ...]
    refresh_minutes: int = 5

    def due(self, window_end_ms: int) -> bool:
        """Issue at the window closes that fall on the refresh clock (aligned to UTC)."""
        return window_end_ms % (self.refresh_minutes * MINUTE_MS) == 0

    def to_json(self) -> str:
        return json.dumps(
            {"horizons_min": list(self.horizons_min), "refresh_minutes": self.refresh_minutes}
        )


def validate(
    horizons: object, refresh_minutes: object, available: Sequence[int]
) -> ForecastSchedule:
    """A schedule from untrusted values, or ScheduleError naming every bad field."""
    problems: list[tuple[str, str]] = []
    chosen: tuple[int, ...] = ()
    if not isinstance(horizons, list | tuple) or not all(_is_int(h) for h in horizons):
        problems.append(("horizons_min", "must be a list of whole minutes"))
    elif not horizons:
        problems.append(("horizons_min", "choose at least one horizon"))
    else:
        unknown = sorted({int(h) for h in horizons} - set(available))
        if unknown:
            problems.append(
                (
                    "horizons_min",
                    f"not available: {', '.join(map(str, unknown))}; "
                    f"choose from {', '.join(map(str, available))}",
                )
            )
        chosen = tuple(sorted({int(h) for h in horizons}))
    if not _is_int(refresh_minutes) or refresh_minutes not in REFRESH_CHOICES_MIN:
        problems.append(
            (
                "refresh_minutes",
                f"must be one of {', '.join(map(str, REFRESH_CHOICES_MIN))}",
            )
        )
    if problems:
        raise ScheduleError(problems)
    assert isinstance(refresh_minutes, int)
    return ForecastSchedule(chosen, refresh_minutes)


def parse_stored(text: str | None, available: Sequence[int]) -> ForecastSchedule | None:
    """The schedule saved in the state table; None when absent or no longer valid
    (e.g. the environment dropped a horizon it offered), so the defaults apply."""
    if not text:
        return None
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            return None
        return validate(raw.get("horizons_min"), raw.get("refresh_minutes"), available)
    except (ValueError, ScheduleError):
        return None


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
