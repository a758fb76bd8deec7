"""Shapes of the detector-health report (GET /api/quality/detectors)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

Status = Literal["good", "bad"]
Reason = Literal["ok", "no_data", "insufficient_data", "stuck", "implausible", "intermittent"]


class DetectorDay(BaseModel):
    segment_id: str
    name: str | None
    status: Status
    reason: Reason = Field(
        description="the first that applies: no_data, insufficient_data, "
        "stuck, implausible, intermittent; ok when good"
    )
    samples: int = Field(description="readings received in the day (so far, for today)")
    expected: int = Field(description="readings expected at the detector interval")
    share: float = Field(description="samples / expected, at most 1")


class HealthRulesOut(BaseModel):
    expected_interval_s: float
    min_share: float
    max_implausible_share: float
    max_plausible_mph: float
    max_gap_minutes: float


class DetectorHealthReport(BaseModel):
    date: dt.date = Field(description="the local day of the road network")
    timezone: str
    start: dt.datetime
    end: dt.datetime = Field(description="the day's end, or now for today")
    rules: HealthRulesOut
    good: int
    bad: int
    by_reason: dict[str, int] = Field(description="detectors per reason, every reason listed")
    detectors: list[DetectorDay]
