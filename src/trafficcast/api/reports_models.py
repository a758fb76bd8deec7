"""Response model of GET /api/reports/performance (format=json)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trafficcast.domain.periods import Period


class PerformanceMeasures(BaseModel):
    windows: int = Field(description="5-minute windows with a speed that were counted")
    vmt: float = Field(description="vehicle-miles travelled: volume x segment length")
    vht: float = Field(description="vehicle-hours travelled: VMT / speed")
    delay_vehicle_hours: dict[str, float] = Field(
        description="delay in vehicle-hours by reference speed in mph ('35', '60'): "
        "VMT / speed - VMT / reference, in windows slower than the reference"
    )
    travel_time_index: float | None = Field(
        description="free-flow speed / speed, VMT-weighted; null without VMT"
    )
    mean_speed: float | None = Field(description="space-mean speed VMT / VHT, mph")
    congestion_hours: float = Field(description="segment-hours below congestion_mph")
    los_hours: dict[str, float] = Field(description="segment-hours at each level of service A-F")


class PeriodMeasures(PerformanceMeasures):
    start: datetime = Field(description="local period start (inclusive), as a UTC instant")
    end: datetime = Field(description="local period end (exclusive), as a UTC instant")


class SegmentMeasures(PerformanceMeasures):
    rank: int = Field(description="1 = most delay at the first reference speed")
    segment_id: str
    name: str | None
    level_of_service: str | None = Field(description="grade of the segment's mean speed")


class BottleneckOut(BaseModel):
    upstream_segment_id: str = Field(description="the congested upstream detector")
    segment_id: str = Field(description="the faster detector just downstream")
    active_days: int = Field(description="local days with a sustained activation")
    active_hours: float = Field(description="hours inside sustained activations")
    mean_drop_mph: float = Field(description="mean downstream - upstream speed when active")


class PerformanceReportOut(BaseModel):
    start: datetime = Field(description="start of the first local period (inclusive)")
    end: datetime = Field(description="end of the last local period (exclusive)")
    period: Period
    timezone: str = Field(description="the network's time zone the periods follow")
    reference_speeds: list[float]
    congestion_mph: float
    totals: PerformanceMeasures
    periods: list[PeriodMeasures]
    segments: list[SegmentMeasures] = Field(description="every selected segment, worst first")
    bottlenecks: list[BottleneckOut] = Field(description="recurring bottlenecks, worst first")
