"""Request and response shapes of the alert endpoints (routes/alerts.py)."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any, Literal, Union, cast, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, StrictBool, create_model, field_validator

from trafficcast.alerts.registry import RULES
from trafficcast.alerts.rules import MAX_SCOPE, MAX_TARGETS, RuleConfig
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
    alert_type: str = Field(
        description="congestion, incident, predicted_congestion, forecast_accuracy or system"
    )
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


_TARGET = Annotated[str, Field(max_length=500)]
_NAME = Annotated[str, Field(max_length=200)]
_NOTIFY_DOC = '"dashboard", "webhook:https://..." or "email:name@example.com"'
# Rule field types (alerts/rules.py dataclasses) -> (request type, response type).
_TYPES: dict[Any, tuple[Any, Any]] = {
    bool: (StrictBool, bool),
    float: (StrictRatio, float),
    int: (StrictMinutes, int),
    float | None: (StrictRatio | None, float | None),
    int | None: (StrictMinutes | None, int | None),
    tuple[str, ...]: (list[_NAME], list[str]),
    tuple[str, ...] | None: (list[_NAME] | None, list[str] | None),
}
_COMMON_IN: dict[str, tuple[Any, Any]] = {
    "notify": (
        list[_TARGET],
        Field(
            default_factory=lambda: ["dashboard"], max_length=MAX_TARGETS, description=_NOTIFY_DOC
        ),
    ),
    "escalate_after_minutes": (
        StrictMinutes | None,
        Field(
            None,
            description="an alert still open (not acknowledged) this many minutes after it "
            "opened is sent once to escalate_to (1-10080); null: no escalation",
        ),
    ),
    "escalate_to": (
        list[_TARGET],
        Field(
            default_factory=list,
            max_length=MAX_TARGETS,
            description="webhook or e-mail targets, as in notify; needs escalate_after_minutes",
        ),
    ),
}


class RuleScopeOut(BaseModel):
    segment_ids: list[str] | None


def rule_models(config: type[RuleConfig]) -> tuple[type[BaseModel], type[BaseModel]]:
    """The request and response models of a rule type, from its dataclass fields: a rule
    type needs no hand-written models, and the API cannot drift from the stored shape."""
    name = "".join(part.title() for part in config.rule_id.split("_")) + "Rule"
    hints = get_type_hints(config)
    literal: Any = Literal
    fields_in: dict[str, Any] = {
        "rule_id": (str | None, Field(None, description="if given, must match the path")),
        "alert_type": (
            str | None,
            Field(None, description=f'if given, must be "{config.alert_type}"'),
        ),
    }
    fields_out: dict[str, Any] = {
        "rule_id": (literal[config.rule_id], ...),
        "alert_type": (literal[config.alert_type], ...),
    }
    for f in dataclasses.fields(cast(Any, config)):
        if f.name == "segment_ids":
            fields_in["scope"] = (RuleScope, Field(default_factory=RuleScope))
            fields_out["scope"] = (RuleScopeOut, ...)
        elif f.name in _COMMON_IN:
            fields_in[f.name] = _COMMON_IN[f.name]
            fields_out[f.name] = (
                (int | None, ...)
                if f.name == "escalate_after_minutes"
                else (
                    list[str],
                    ...,
                )
            )
        else:
            strict, plain = _TYPES[hints[f.name]]
            fields_in[f.name] = (strict, Field(description=f.metadata.get("doc")))
            fields_out[f.name] = (plain, ...)
    model_in = create_model(
        f"{name}In",
        __config__=ConfigDict(extra="forbid"),
        __doc__=f"The whole {config.rule_id} rule (a PUT replaces it).",
        **fields_in,
    )
    model_out = create_model(f"{name}Out", __doc__=f"The {config.rule_id} rule.", **fields_out)
    return model_in, model_out


RULE_MODELS: dict[str, tuple[type[BaseModel], type[BaseModel]]] = {
    rule_id: rule_models(config) for rule_id, config in RULES.items()
}
CongestionRuleIn, CongestionRuleOut = RULE_MODELS["congestion"]
_ANY_RULE: Any = Annotated[
    Union[tuple(out for _in, out in RULE_MODELS.values())],  # noqa: UP007 - built at run time
    Field(discriminator="rule_id"),
]
RuleList = create_model("RuleList", rules=(list[_ANY_RULE], ...))
