"""Request and response shapes of the alert endpoints (routes/alerts.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from trafficcast.alerts.rules import MAX_SCOPE, MAX_TARGETS
from trafficcast.alerts.schema import NOTE_MAX_CHARS

StrictRatio = Annotated[float, Field(strict=True)]
StrictMinutes = Annotated[int, Field(strict=True)]
SegmentId = Annotated[str, Field(min_length=1, max_length=128)]


def has_control_characters(text: str) -> bool:
    """Control characters other than tab and newlines, or lone surrogates (which JSON
    escapes can carry): neither can be stored as text (NUL, invalid UTF-8)."""
    return any((ord(c) < 32 and c not in "\t\n\r") or 0xD800 <= ord(c) <= 0xDFFF for c in text)


class AlertRecord(BaseModel):
    alert_id: str
    alert_type: str = Field(description="congestion (the alert engine adds more types)")
    severity: str = Field(description="minor or major")
    segment_id: str | None
    state: str = Field(description="open, acknowledged or resolved")
    opened_at: datetime
    resolved_at: datetime | None
    message: str | None
    acknowledged_at: datetime | None = Field(description="the first acknowledgement")
    acknowledged_by: str | None = Field(
        description="who acknowledged first: a user name, key:<prefix>, or anonymous"
    )
    note: str | None = Field(description="the operator's latest note")
    updated_at: datetime = Field(description="the last change, by the pipeline or an operator")


class AlertRecords(BaseModel):
    alerts: list[AlertRecord]


class AlertAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str | None = Field(
        None,
        max_length=NOTE_MAX_CHARS,
        description="kept with the alert; replaces an earlier note",
    )

    @field_validator("note")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        if value is not None and has_control_characters(value):
            raise ValueError("must not contain control characters")
        return value


class RuleScope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    segment_ids: list[SegmentId] | None = Field(
        None, max_length=MAX_SCOPE, description="null: every segment"
    )


class CongestionRuleIn(BaseModel):
    """The whole rule (a PUT replaces it). Ratios are shares of each segment's free-flow
    speed; minutes are whole 5-minute windows."""

    model_config = ConfigDict(extra="forbid")
    rule_id: str | None = Field(None, description="if given, must match the path")
    alert_type: str | None = Field(None, description='if given, must be "congestion"')
    enabled: StrictBool
    open_ratio: StrictRatio = Field(description="opens below this share of free flow")
    open_minutes: StrictMinutes = Field(description="... held this long (5-1440, by 5)")
    resolve_ratio: StrictRatio = Field(description="resolves at or above this share")
    resolve_minutes: StrictMinutes = Field(description="... held this long (5-1440, by 5)")
    major_ratio: StrictRatio = Field(description="major below this share, else minor")
    scope: RuleScope = Field(default_factory=RuleScope)
    notify: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=lambda: ["dashboard"],
        max_length=MAX_TARGETS,
        description='"dashboard", "webhook:https://..." or "email:name@example.com"',
    )
    escalate_after_minutes: StrictMinutes | None = Field(
        None,
        description="an alert still open (not acknowledged) this many minutes after it "
        "opened is sent once to escalate_to (1-10080); null: no escalation",
    )
    escalate_to: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list,
        max_length=MAX_TARGETS,
        description="webhook or e-mail targets, as in notify; needs escalate_after_minutes",
    )


class RuleScopeOut(BaseModel):
    segment_ids: list[str] | None


class CongestionRuleOut(BaseModel):
    rule_id: Literal["congestion"]
    alert_type: Literal["congestion"]
    enabled: bool
    open_ratio: float
    open_minutes: int
    resolve_ratio: float
    resolve_minutes: int
    major_ratio: float
    scope: RuleScopeOut
    notify: list[str]
    escalate_after_minutes: int | None
    escalate_to: list[str]


class RuleList(BaseModel):
    rules: list[CongestionRuleOut]
