"""Response shape of GET /api/system/stats."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field


class ThroughputPoint(BaseModel):
    time: datetime = Field(description="end of a 10-second sampling interval")
    events_per_second: float = Field(description="events accepted during that interval, per s")


class SystemStats(BaseModel):
    timestamp: datetime
    role: Literal["all", "api", "processor"] = Field(
        description="all: one process runs the pipeline and every figure is the pipeline's; "
        "api (scaled out): events are those this API process put onto Kafka, and the "
        "late/window/prediction counts, kept by the stream processors, are null"
    )
    uptime_seconds: float
    events_per_second: float = Field(description="events accepted onto the bus, last ~60 s")
    events_total: int = Field(description="events accepted onto the bus since start")
    late_events_total: int | None = Field(description="events too late for every window")
    windows_total: int | None = Field(description="window results written")
    predictions_total: int | None = Field(description="forecast values made (segment x horizon)")
    alerts_open: int = Field(description="alerts in state open (not acknowledged or resolved)")
    websocket_clients: int = Field(description="WebSocket connections to this process")
    history: list[ThroughputPoint] = Field(
        description="events per second of each 10-second interval of the last 15 minutes, "
        "oldest first (shorter while the process is younger)"
    )
