"""Request and response shapes, for validation and the OpenAPI document at /docs.

Responses are built as plain dicts and encoded with orjson for speed; these
models describe them to clients.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# domain/fill.FILL_KINDS
Fill = Literal["observed", "imputed_neighbours", "imputed_profile", "missing"]


class Coordinates(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)


class EventIn(BaseModel):
    """One reading (PRODUCT.md §1); speed in mph, occupancy in percent."""

    model_config = ConfigDict(extra="ignore")
    event_id: str | None = Field(None, max_length=128)
    segment_id: str = Field(min_length=1, max_length=128)
    timestamp: datetime = Field(description="ISO 8601 with a zone, e.g. 2026-11-26T08:00:00Z")
    speed: float = Field(ge=0, description="mph")
    volume: float | None = Field(None, ge=0, description="vehicles in the reading interval")
    occupancy: float | None = Field(None, ge=0, le=100, description="percent")
    coordinates: Coordinates | None = None
    source: str | None = Field(None, max_length=64)
    quality_score: float | None = Field(None, ge=0, le=1)


class EventBatchIn(BaseModel):
    events: list[EventIn]


class Rejection(BaseModel):
    index: int
    field: str
    reason: str


class IngestResult(BaseModel):
    accepted: int
    rejected: list[Rejection]
    event_ids: list[str]


class Event(BaseModel):
    event_id: str
    segment_id: str
    timestamp: datetime
    speed: float | None
    volume: float | None
    occupancy: float | None
    coordinates: Coordinates | None
    source: str | None
    quality_score: float | None


class EventPage(BaseModel):
    events: list[Event]
    total: int
    page: int
    page_size: int


class Segment(BaseModel):
    segment_id: str
    name: str | None
    road: str | None
    direction: str | None
    latitude: float | None
    longitude: float | None
    free_flow_speed: float | None
    length_miles: float | None
    lanes: int | None
    geometry: list[list[float]] | None = Field(description="[[longitude, latitude], ...]")


class SegmentList(BaseModel):
    segments: list[Segment]
    total: int


class SegmentDetail(Segment):
    upstream: list[str]
    downstream: list[str]


class Reading(BaseModel):
    segment_id: str
    timestamp: datetime
    speed: float | None
    volume: float | None
    occupancy: float | None
    level_of_service: str | None


class CurrentTraffic(BaseModel):
    segments: list[Reading]


class Window(BaseModel):
    window_start: datetime
    window_end: datetime
    mean_speed: float | None
    harmonic_mean_speed: float | None
    volume: float | None
    occupancy: float | None
    count: int
    quality: float | None
    level_of_service: str | None
    fill: Fill = Field(
        description="how the values came about: observed (the window had readings), "
        "imputed_neighbours (none; from the upstream/downstream neighbours' same window "
        "against their usual), imputed_profile (none; the usual for this time of day), "
        "missing (nothing to fill from)"
    )


class WindowHistory(BaseModel):
    segment_id: str
    window_minutes: int
    windows: list[Window]


class StoredPrediction(BaseModel):
    prediction_id: str
    segment_id: str
    issued_at: datetime
    horizon_minutes: int
    target_time: datetime
    predicted_speed: float | None
    speed_lower: float | None
    speed_upper: float | None
    predicted_volume: float | None
    volume_lower: float | None
    volume_upper: float | None
    confidence: float | None
    model_version: str
    input_fill: Fill | None = Field(
        description="fill of the 5-minute window this forecast was issued from: observed, "
        "imputed_neighbours, imputed_profile or missing (see Window); null when not recorded"
    )


class LatestPredictions(BaseModel):
    predictions: list[StoredPrediction]


class GenerateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_id: str = Field(min_length=1, max_length=128)
    horizon_minutes: int = Field(60, ge=5, le=60, multiple_of=5)
    include_confidence: bool = True
    model_version: str = Field("latest", min_length=1, max_length=64)


class ForecastPoint(BaseModel):
    timestamp: datetime
    horizon_minutes: int
    predicted_speed: float | None
    predicted_volume: float | None
    confidence: float | None = None
    speed_lower: float | None = None
    speed_upper: float | None = None
    volume_lower: float | None = None
    volume_upper: float | None = None


class GeneratedPrediction(BaseModel):
    prediction_id: str
    segment_id: str
    horizon_minutes: int
    predictions: list[ForecastPoint]
    model_version: str
    generated_at: datetime
    issued_at: datetime


class SummaryTotals(BaseModel):
    total_events: int
    avg_speed: float | None
    avg_volume: float | None
    congestion_hours: float
    incident_count: int


class SegmentSummary(BaseModel):
    segment_id: str
    avg_speed: float | None
    avg_volume: float | None
    total_events: int
    congestion_hours: float
    traffic_score: float | None
    incidents: int


class AnalyticsSummary(BaseModel):
    summary: SummaryTotals
    by_segment: list[SegmentSummary]
    start_date: datetime | None
    end_date: datetime | None


class Health(BaseModel):
    status: str = Field(description="healthy, degraded or unhealthy")
    timestamp: datetime
    version: str
    checks: dict[str, dict[str, Any]]


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorEnvelope(BaseModel):
    error: ErrorDetail
    request_id: str


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": text}
    for status, text in (
        (400, "Malformed request"),
        (404, "Not found"),
        (413, "Body too large"),
        (422, "Invalid input; details name each field and reason"),
        (503, "Temporarily unavailable; retry after the Retry-After header"),
    )
}

# Routes that may refuse a well-formed request because of the server's state.
CONFLICT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {"model": ErrorEnvelope, "description": "The server's current state refuses this"},
}
