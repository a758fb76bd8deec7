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


class AlertCounts(BaseModel):
    opened: int = Field(description="alerts opened (opened_at in the period or range)")
    by_type: dict[str, int] = Field(
        description="opened per alert type: every name in `types`, 0 when none"
    )
    by_severity: dict[str, int] = Field(description="opened per severity (minor, major)")
    acknowledged: int = Field(description="of those, acknowledged by an operator so far")
    resolved: int = Field(description="of those, resolved so far")
    median_minutes_to_acknowledge: float | None = Field(
        description="median opened -> acknowledged, over the acknowledged ones; null if none"
    )
    median_minutes_to_resolve: float | None = Field(
        description="median opened -> resolved, over the resolved ones; null if none"
    )


class PeriodAlertCounts(AlertCounts):
    start: datetime
    end: datetime


class IncidentsOut(BaseModel):
    types: list[str] = Field(description="alert types counted (alerts/types.py, then others)")
    severities: list[str]
    totals: AlertCounts
    periods: list[PeriodAlertCounts] = Field(description="one per entry of `periods`, same order")


class ForecastScores(BaseModel):
    n: int = Field(description="forecasts scored: predicted and actual speed both known")
    speed_mae: float | None = Field(description="mean absolute error, mph")
    speed_rmse: float | None = Field(description="root mean squared error, mph")
    speed_mape: float | None = Field(description="mean absolute percentage error, %")
    speed_coverage: float | None = Field(description="share of actuals inside the forecast band")


class HorizonScores(ForecastScores):
    horizon_minutes: int


class PeriodScores(ForecastScores):
    start: datetime
    end: datetime
    by_horizon: list[HorizonScores]


class AccuracyOut(BaseModel):
    bucket_minutes: int = Field(
        description="store bucket the figures are combined from (weighted by n)"
    )
    totals: ForecastScores = Field(description="the whole range, every horizon")
    by_horizon: list[HorizonScores] = Field(description="the whole range, per horizon")
    periods: list[PeriodScores] = Field(description="per period of target time")


class SystemFigures(BaseModel):
    windows_closed: int = Field(description="5-minute windows stored for the selected segments")
    detector_days: int = Field(description="selected detectors x local days assessed so far")
    healthy_detector_days: int = Field(description="detector-days with health status good")
    healthy_share: float | None = Field(description="healthy_detector_days / detector_days")
    samples_received: int = Field(description="readings stored (ingest volume)")
    samples_expected: int = Field(description="readings a detector sends per day x days")
    sample_share: float | None = Field(
        description="readings received / expected, each detector-day counting at most expected"
    )
    forecast_issues: int = Field(description="forecasts issued (a segment's horizons together)")


class PeriodSystemFigures(SystemFigures):
    start: datetime
    end: datetime


class SystemOut(BaseModel):
    detector_interval_s: float = Field(description="one reading expected per detector this often")
    totals: SystemFigures
    periods: list[PeriodSystemFigures]


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
    incidents: IncidentsOut = Field(description="alerts opened, by type and severity")
    accuracy: AccuracyOut = Field(description="stored forecasts scored against closed windows")
    system: SystemOut = Field(description="what the pipeline itself did")
