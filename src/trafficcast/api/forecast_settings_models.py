"""Request and response shapes of GET/PUT /api/settings/forecast."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt


class ForecastSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    horizons_min: list[StrictInt] = Field(
        max_length=64, description="horizons to publish: a non-empty subset of the available"
    )
    refresh_minutes: StrictInt = Field(
        description="issue forecasts every N minutes: 5, 10, 15, 30 or 60"
    )
    # A GET body may be sent back as it is: the read-only fields are accepted and ignored.
    available_horizons_min: list[StrictInt] | None = Field(
        None, max_length=64, description="read-only; ignored"
    )
    refresh_choices_minutes: list[StrictInt] | None = Field(
        None, max_length=64, description="read-only; ignored"
    )
    default_horizons_min: list[StrictInt] | None = Field(
        None, max_length=64, description="read-only; ignored"
    )
    default_refresh_minutes: StrictInt | None = Field(None, description="read-only; ignored")


class ForecastSettings(BaseModel):
    horizons_min: list[int] = Field(description="horizons published and stored, minutes")
    refresh_minutes: int = Field(description="forecasts are issued at window closes on this clock")
    available_horizons_min: list[int]
    refresh_choices_minutes: list[int]
    default_horizons_min: list[int] = Field(description="from the environment's settings")
    default_refresh_minutes: int
