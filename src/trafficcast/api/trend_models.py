"""Response model of GET /api/analytics/trend."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trafficcast.domain.periods import Period


class TrendBucket(BaseModel):
    start: datetime = Field(description="inclusive, UTC")
    end: datetime = Field(description="exclusive, UTC")
    total_events: int = Field(description="readings counted by the bucket's 5-minute windows")
    avg_speed: float | None = Field(description="mean of the 5-minute mean speeds, mph")
    avg_volume: float | None = Field(description="mean of the 5-minute volumes")
    congestion_hours: float = Field(description="segment-hours at level of service E or F")
    incident_count: int = Field(description="incident alerts opened in the bucket")


class AnalyticsTrend(BaseModel):
    period: Period
    start_date: datetime = Field(description="start of the first bucket (inclusive)")
    end_date: datetime = Field(description="end of the last bucket (exclusive)")
    buckets: list[TrendBucket]
