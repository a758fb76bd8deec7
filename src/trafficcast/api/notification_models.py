"""Response shape of GET /api/alerts/{alert_id}/notifications (alerts/notify)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationAttemptOut(BaseModel):
    rule_id: str
    event: str = Field(description="opened, resolved or escalated")
    target: str = Field(description='as the rule names it: "webhook:<url>" or "email:<address>"')
    attempt: int = Field(description="1 for the first try of this notification to this target")
    at: datetime = Field(description="when the attempt started")
    duration_ms: int
    status_code: int | None = Field(description="HTTP status or SMTP reply code; null: none")
    error: str | None = Field(description="why the attempt failed; null when delivered")
    delivered: bool


class NotificationAttempts(BaseModel):
    alert_id: str
    attempts: list[NotificationAttemptOut] = Field(description="oldest first")
