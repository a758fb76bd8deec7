"""Response shapes of the traffic map's network-wide layers and the dashboard settings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trafficcast.api.models import Fill


class ForecastLayerSegment(BaseModel):
    segment_id: str
    issued_at: datetime
    target_time: datetime
    predicted_speed: float | None = Field(description="mph")
    speed_lower: float | None = Field(description="lower end of the 80 % interval, mph")
    speed_upper: float | None = Field(description="upper end of the 80 % interval, mph")
    confidence: float | None
    model_version: str
    input_fill: Fill | None = Field(
        description="fill of the 5-minute window this forecast was issued from: observed, "
        "imputed_neighbours, imputed_profile or missing (see Window); null when not recorded"
    )


class ForecastLayer(BaseModel):
    horizon_minutes: int
    segments: list[ForecastLayerSegment] = Field(
        description="one per segment that has a forecast at this horizon, by segment_id"
    )


class HistoryLayerSegment(BaseModel):
    segment_id: str
    mean_speed: float | None = Field(description="mph")
    volume: float | None
    occupancy: float | None
    level_of_service: str | None
    fill: Fill = Field(
        description="observed, imputed_neighbours, imputed_profile or missing (see Window)"
    )


class HistoryLayer(BaseModel):
    at: datetime | None = Field(
        description="the time asked for (UTC); without `at`, the start of the newest window; "
        "null when no window is stored"
    )
    window_start: datetime | None = Field(description="start of the 5-minute window holding at")
    window_end: datetime | None
    earliest: datetime | None = Field(description="end of the oldest stored 5-minute window")
    latest: datetime | None = Field(description="end of the newest stored 5-minute window")
    segments: list[HistoryLayerSegment] = Field(
        description="every segment whose window [window_start, window_end) is stored"
    )


class MapSettings(BaseModel):
    tiles_url: str | None = Field(
        description="XYZ raster template, MapLibre style URL (.json) or pmtiles:// archive; "
        "null = no base map"
    )
    attribution: str | None


class DashboardConfig(BaseModel):
    map: MapSettings
