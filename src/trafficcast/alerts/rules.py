"""Alert rules as operators configure them, validated and kept as JSON in the store.

Every rule type is a frozen dataclass following `RuleConfig` (most build on
`RuleBase`, which derives the JSON shape from the fields); alerts/registry.py lists
them and the API derives its request and response models from the same fields. The
congestion rule lives here: thresholds are shares of each segment's free-flow speed,
durations minutes, whole 5-minute windows. Notification targets are validated and
kept; the dashboard gets every alert live, webhooks and e-mail are delivered by
alerts/notify.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar, Final, Protocol, Self, get_type_hints
from urllib.parse import urlsplit

from trafficcast.alerts.congestion import WINDOW_MINUTES, CongestionRule
from trafficcast.alerts.types import CONGESTION

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


class RuleConfig(Protocol):
    """What every rule type offers (the API, the dispatcher and the followers use only this)."""

    rule_id: ClassVar[str]
    alert_type: ClassVar[str]

    @property
    def enabled(self) -> bool: ...
    @property
    def notify(self) -> tuple[str, ...]: ...
    @property
    def escalate_after_minutes(self) -> int | None: ...
    @property
    def escalate_to(self) -> tuple[str, ...]: ...
    def as_json(self) -> dict[str, Any]: ...
    def dumps(self) -> str: ...
    def validate(self, is_known: Callable[[str], bool]) -> list[FieldError]: ...
    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self: ...
    @classmethod
    def loads(cls, text: str | None) -> Self: ...


# Fields a stored rule may lack (rules stored before they existed): their defaults.
_OPTIONAL = {"notify": (), "escalate_after_minutes": None, "escalate_to": ()}


def doc(default: Any, text: str) -> Any:
    """A rule field with the description the API shows for it."""
    return field(default=default, metadata={"doc": text})


class RuleBase:
    """The JSON shape of a rule dataclass, from its fields: `segment_ids` becomes
    `scope.segment_ids`, tuples lists. Subclasses are frozen dataclasses and add
    `_field_errors` (their own fields' checks)."""

    rule_id: ClassVar[str]
    alert_type: ClassVar[str]

    def as_json(self) -> dict[str, Any]:
        """The API's (and the store's) shape of the rule."""
        body = asdict(self)  # type: ignore[call-overload]
        out: dict[str, Any] = {"rule_id": self.rule_id, "alert_type": self.alert_type}
        for name, value in body.items():
            if name == "segment_ids":
                out["scope"] = {"segment_ids": None if value is None else list(value)}
            else:
                out[name] = list(value) if isinstance(value, tuple) else value
        return out

    def dumps(self) -> str:
        return json.dumps(self.as_json(), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Self:
        """A rule from its JSON shape (types as the API checks them; ranges unchecked).
        Raises KeyError for a missing threshold."""
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):  # type: ignore[arg-type]
            if f.name == "segment_ids":
                ids = (body.get("scope") or {}).get("segment_ids")
                values[f.name] = None if ids is None else tuple(str(i) for i in ids)
            elif f.name in _OPTIONAL:
                values[f.name] = _convert(hints[f.name], body.get(f.name, _OPTIONAL[f.name]))
            else:
                values[f.name] = _convert(hints[f.name], body[f.name])
        return cls(**values)

    @classmethod
    def loads(cls, text: str | None) -> Self:
        """The stored rule; the default when none is stored. Raises ValueError (or a
        KeyError/TypeError) on a corrupt one; callers keep what they had."""
        if text is None:
            return cls()
        rule = cls.from_json(json.loads(text))
        errors = rule.validate(lambda _sid: True)
        if errors:
            raise RuleInvalid(errors)
        return rule

    def validate(self, is_known: Callable[[str], bool]) -> list[FieldError]:
        """Every problem with the rule, each naming its field; empty when it is valid."""
        return [
            *self._field_errors(),
            *_scope_errors(getattr(self, "segment_ids", None), is_known),
            *_notify_errors(getattr(self, "notify", ())),
            *_escalation_errors(self),  # type: ignore[arg-type]
        ]

    def _field_errors(self) -> list[FieldError]:
        return []


def _convert(hint: Any, value: Any) -> Any:
    if value is None:
        if hint in (int | None, float | None, tuple[str, ...] | None):
            return None
        raise TypeError("null where a value is needed")
    if hint is bool:
        return bool(value)
    if hint in (float, float | None):
        return float(value)
    if hint in (int, int | None):
        return int(value)
    if hint in (tuple[str, ...], tuple[str, ...] | None):
        return tuple(str(v) for v in value)
    raise TypeError(f"no conversion for {hint}")


def finite_errors(rule: object, names: Sequence[str]) -> list[FieldError]:
    return [
        FieldError(name, "must be a finite number")
        for name in names
        if not math.isfinite(getattr(rule, name))
    ]


@dataclass(frozen=True)
class CongestionRuleConfig(RuleBase):
    """The congestion rule: opens below open_ratio of free flow held for open_minutes,
    resolves at or above resolve_ratio held for resolve_minutes; major below major_ratio."""

    enabled: bool = doc(True, "false: no new alerts; open ones still resolve")
    open_ratio: float = doc(0.5, "opens below this share of free flow")
    open_minutes: int = doc(15, "... held this long (5-1440, by 5)")
    resolve_ratio: float = doc(0.65, "resolves at or above this share")
    resolve_minutes: int = doc(10, "... held this long (5-1440, by 5)")
    major_ratio: float = doc(0.3, "major below this share, else minor")
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

    def _field_errors(self) -> list[FieldError]:
        return [*_ratio_errors(self), *_minutes_errors(self)]


def state_key(rule_id: str) -> str:
    return STATE_KEY_PREFIX + rule_id


def _ratio_errors(rule: Any) -> list[FieldError]:
    """open_ratio, resolve_ratio, major_ratio as shares of free flow (shared by the rules
    that use these three names)."""
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


def _minutes_errors(
    rule: object, names: Sequence[str] = ("open_minutes", "resolve_minutes")
) -> list[FieldError]:
    """Durations in whole 5-minute windows, 5 minutes to a day."""
    errors = []
    for name in names:
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


def _escalation_errors(rule: RuleConfig) -> list[FieldError]:
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


def validate(rule: RuleConfig, is_known: Callable[[str], bool]) -> list[FieldError]:
    """Every problem with the rule, each naming its field; empty when it is valid."""
    return rule.validate(is_known)
