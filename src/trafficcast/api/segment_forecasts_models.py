"""Response shape of GET /api/segments/{segment_id}/forecasts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from trafficcast.api.models import Fill


class PastForecast(BaseModel):
    issued_at: datetime
    target_time: datetime = Field(description="end of the 5-minute window forecast")
    predicted_speed: float | None = Field(description="mph")
    speed_lower: float | None = Field(description="80 % band, mph")
    speed_upper: float | None
    predicted_volume: float | None
    volume_lower: float | None
    volume_upper: float | None
    model_version: str
    input_fill: Fill | None = Field(
        description="fill of the 5-minute window this forecast was issued from: observed, "
        "imputed_neighbours, imputed_profile or missing (see Window); null when not recorded"
    )


class SegmentForecasts(BaseModel):
    segment_id: str
    horizon_minutes: int
    start_time: datetime = Field(description="inclusive, on target_time")
    end_time: datetime = Field(description="exclusive, on target_time")
    forecasts: list[PastForecast] = Field(
        description="oldest target first; one per issue and model version"
    )
