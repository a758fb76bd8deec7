"""Alert rules as operators configure them, validated and kept as JSON in the store.

For now there is one rule, the congestion rule (rule_id "congestion"). Thresholds
are shares of each segment's free-flow speed; durations are minutes, whole
5-minute windows. Notification targets are validated and kept; the dashboard gets
every alert live, webhooks and e-mail are delivered by alerts/notify.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar, Final
from urllib.parse import urlsplit

from trafficcast.alerts.congestion import WINDOW_MINUTES, CongestionRule

CONGESTION: Final = "congestion"
RULE_IDS: Final = (CONGESTION,)
MIN_MINUTES: Final = 5
MAX_MINUTES: Final = 1440
MAX_RATIO: Final = 1.5
MAX_TARGETS: Final = 20
MAX_TARGET_CHARS: Final = 500
MAX_SCOPE: Final = 10_000
MAX_ESCALATE_MINUTES: Final = 7 * 1440
STATE_KEY_PREFIX: Final = "alert_rule:"

_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class RuleInvalid(ValueError):
    def __init__(self, errors: Sequence[FieldError]) -> None:
        self.errors = list(errors)
        super().__init__("; ".join(f"{e.field}: {e.reason}" for e in self.errors))


@dataclass(frozen=True)
class CongestionRuleConfig:
    """The congestion rule: opens below open_ratio of free flow held for open_minutes,
    resolves at or above resolve_ratio held for resolve_minutes; major below major_ratio."""

    enabled: bool = True
    open_ratio: float = 0.5
    open_minutes: int = 15
    resolve_ratio: float = 0.65
    resolve_minutes: int = 10
    major_ratio: float = 0.3
    segment_ids: tuple[str, ...] | None = None  # None: every segment
    notify: tuple[str, ...] = field(default=("dashboard",))
    # An alert still open (not acknowledged) this long after it opened is sent once to
    # escalate_to (alerts/notify/dispatcher.py); None: no escalation.
    escalate_after_minutes: int | None = None
    escalate_to: tuple[str, ...] = ()

    rule_id: ClassVar[str] = CONGESTION
    alert_type: ClassVar[str] = CONGESTION

    def engine_rule(self) -> CongestionRule:
        return CongestionRule(
            open_ratio=self.open_ratio,
            open_windows=self.open_minutes // WINDOW_MINUTES,
            resolve_ratio=self.resolve_ratio,
            resolve_windows=self.resolve_minutes // WINDOW_MINUTES,
            major_ratio=self.major_ratio,
            enabled=self.enabled,
        )

    def as_json(self) -> dict[str, Any]:
        """The API's (and the store's) shape of the rule."""
        body = asdict(self)
        ids = body.pop("segment_ids")
        return {
            "rule_id": self.rule_id,
            "alert_type": self.alert_type,
            **body,
            "scope": {"segment_ids": None if ids is None else list(ids)},
            "notify": list(self.notify),
            "escalate_to": list(self.escalate_to),
        }

    def dumps(self) -> str:
        return json.dumps(self.as_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> CongestionRuleConfig:
        """A rule from its JSON shape (types as the API checks them; ranges unchecked)."""
        scope = body.get("scope") or {}
        ids = scope.get("segment_ids")
        return cls(
            enabled=bool(body["enabled"]),
            open_ratio=float(body["open_ratio"]),
            open_minutes=int(body["open_minutes"]),
            resolve_ratio=float(body["resolve_ratio"]),
            resolve_minutes=int(body["resolve_minutes"]),
            major_ratio=float(body["major_ratio"]),
            segment_ids=None if ids is None else tuple(str(i) for i in ids),
            notify=tuple(str(t) for t in body.get("notify", ())),
            escalate_after_minutes=(
                None
                if body.get("escalate_after_minutes") is None
                else int(body["escalate_after_minutes"])
            ),
            escalate_to=tuple(str(t) for t in body.get("escalate_to") or ()),
        )

    @classmethod
    def loads(cls, text: str | None) -> CongestionRuleConfig:
        """The stored rule; the default when none is stored. Raises ValueError (or a
        KeyError/TypeError) on a corrupt one; callers keep what they had."""
        if text is None:
            return cls()
        rule = cls.from_json(json.loads(text))
        errors = validate(rule, lambda _sid: True)
        if errors:
            raise RuleInvalid(errors)
        return rule


def state_key(rule_id: str) -> str:
    return STATE_KEY_PREFIX + rule_id


def _ratio_errors(rule: CongestionRuleConfig) -> list[FieldError]:
    errors = [
        FieldError(name, "must be a finite number")
        for name in ("major_ratio", "open_ratio", "resolve_ratio")
        if not math.isfinite(getattr(rule, name))
    ]
    if errors:
        return errors
    if rule.major_ratio <= 0:
        errors.append(FieldError("major_ratio", "must be above 0"))
    elif rule.major_ratio >= rule.open_ratio:
        errors.append(FieldError("major_ratio", f"must be below open_ratio ({rule.open_ratio:g})"))
    if rule.open_ratio <= 0:
        errors.append(FieldError("open_ratio", "must be above 0"))
    if rule.resolve_ratio <= rule.open_ratio:
        errors.append(
            FieldError("resolve_ratio", f"must be above open_ratio ({rule.open_ratio:g})")
        )
    elif rule.resolve_ratio > MAX_RATIO:
        errors.append(FieldError("resolve_ratio", f"must be at most {MAX_RATIO:g}"))
    return errors


def _minutes_errors(rule: CongestionRuleConfig) -> list[FieldError]:
    errors = []
    for name in ("open_minutes", "resolve_minutes"):
        value = getattr(rule, name)
        if not MIN_MINUTES <= value <= MAX_MINUTES:
            errors.append(FieldError(name, f"must be {MIN_MINUTES} to {MAX_MINUTES} minutes"))
        elif value % WINDOW_MINUTES:
            errors.append(FieldError(name, f"must be a multiple of {WINDOW_MINUTES} minutes"))
    return errors


def _scope_errors(
    segment_ids: tuple[str, ...] | None, is_known: Callable[[str], bool]
) -> list[FieldError]:
    if segment_ids is None:
        return []
    if not segment_ids:
        return [FieldError("scope.segment_ids", "is empty; use null to cover every segment")]
    if len(segment_ids) > MAX_SCOPE:
        return [FieldError("scope.segment_ids", f"more than {MAX_SCOPE} segments")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, sid in enumerate(segment_ids):
        where = f"scope.segment_ids.{i}"
        if sid in seen:
            errors.append(FieldError(where, f"duplicate segment {sid[:128]!r}"))
        elif not is_known(sid):
            errors.append(FieldError(where, f"unknown segment {sid[:128]!r}"))
        seen.add(sid)
        if len(errors) >= 20:  # enough to act on; the rest would only bloat the answer
            break
    return errors


def target_error(target: str) -> str | None:
    """Why a notification target is malformed, or None.

    Forms: "dashboard", "webhook:<http(s) URL>", "email:<address>".
    """
    if len(target) > MAX_TARGET_CHARS:
        return f"longer than {MAX_TARGET_CHARS} characters"
    if target == "dashboard":
        return None
    kind, sep, rest = target.partition(":")
    if not sep or kind not in ("webhook", "email"):
        return 'use "dashboard", "webhook:https://..." or "email:name@example.com"'
    if any(c.isspace() or ord(c) < 32 for c in rest):
        return "must not contain spaces or control characters"
    if kind == "email":
        return None if _EMAIL.match(rest) else "not an e-mail address"
    try:
        url = urlsplit(rest)
        url.port  # noqa: B018 - raises on a malformed port
    except ValueError as exc:
        return f"not a URL: {exc}"
    if url.scheme not in ("http", "https") or not url.hostname:
        return "must be an http:// or https:// URL with a host"
    return None


def _notify_errors(notify: tuple[str, ...], name: str = "notify") -> list[FieldError]:
    if len(notify) > MAX_TARGETS:
        return [FieldError(name, f"more than {MAX_TARGETS} targets")]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, target in enumerate(notify):
        reason = "duplicate target" if target in seen else target_error(target)
        if reason:
            errors.append(FieldError(f"{name}.{i}", reason))
        seen.add(target)
    return errors


def _escalation_errors(rule: CongestionRuleConfig) -> list[FieldError]:
    after = rule.escalate_after_minutes
    if after is None:
        if rule.escalate_to:
            return [FieldError("escalate_after_minutes", "is needed when escalate_to is set")]
        return []
    if not 1 <= after <= MAX_ESCALATE_MINUTES:
        return [FieldError("escalate_after_minutes", f"must be 1 to {MAX_ESCALATE_MINUTES}")]
    if not rule.escalate_to:
        return [FieldError("escalate_to", "is empty; name a target or drop the escalation")]
    errors = _notify_errors(rule.escalate_to, "escalate_to")
    # The dashboard already shows every alert live: escalating to it would tell no one new.
    errors += [
        FieldError(f"escalate_to.{i}", "escalate to a webhook or an e-mail address")
        for i, t in enumerate(rule.escalate_to)
        if t == "dashboard"
    ]
    return errors


def validate(rule: CongestionRuleConfig, is_known: Callable[[str], bool]) -> list[FieldError]:
    """Every problem with the rule, each naming its field; empty when it is valid."""
    return [
        *_ratio_errors(rule),
        *_minutes_errors(rule),
        *_scope_errors(rule.segment_ids, is_known),
        *_notify_errors(rule.notify),
        *_escalation_errors(rule),
    ]
