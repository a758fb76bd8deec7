"""Alerts: the list and its history, an operator's acknowledge / resolve, and the rules.

The lifecycle open -> acknowledged -> resolved, and the rules the stream processors
apply: one GET and one PUT route per rule type registered in alerts/registry.py, each
with the models derived from its fields (api/alerts_models.py). Every change an
operator makes is pushed to every dashboard as an `alert` message.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import pyarrow as pa
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.alerts.registry import RULE_IDS, RULES
from trafficcast.alerts.rules import FieldError, RuleConfig, state_key
from trafficcast.alerts.schema import ACTIVE, ACTIVE_STATES, TransitionRefused, check_transition
from trafficcast.api.alert_push import push_alerts
from trafficcast.api.alerts_models import (
    RULE_MODELS,
    AlertAction,
    AlertRecord,
    AlertRecords,
    RuleList,
    has_control_characters,
)
from trafficcast.api.authz import allow, principal_of
from trafficcast.api.deps import get_runtime, read_limited, to_ms
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.notification_models import NotificationAttempts
from trafficcast.api.responses import JSON
from trafficcast.api.time_params import IsoDateTime
from trafficcast.auth.roles import ADMINS, ANALYSTS, READERS
from trafficcast.encoding import arrow_rows
from trafficcast.runtime import Runtime
from trafficcast.store.base import AlertQuery

log = logging.getLogger(__name__)

# Bodies are small here: a note, or a rule whose scope may list many segments.
ACTION_BODY_BYTES = 16 * 1024
RULE_BODY_BYTES = 2 * 1024 * 1024


class _BoundedBody(APIRoute):
    """Refuses (413) a body past the route's size before FastAPI reads and parses it all."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        limit = RULE_BODY_BYTES if "/rules/" in self.path else ACTION_BODY_BYTES

        async def bounded(request: Request) -> Response:
            if request.method in ("POST", "PUT"):
                # Starlette's cached body: FastAPI reads this instead of the spent stream.
                request._body = await read_limited(request, limit)
            return await handler(request)

        return bounded


router = APIRouter(prefix="/api/alerts", tags=["alerts"], route_class=_BoundedBody)

_NAME = r"^[a-z][a-z_]{0,31}$"
_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {**ERROR_RESPONSES[404], "description": "The alert's state does not allow this"},
}
RULE_ID = Path(description="a rule id other than the registered ones", max_length=64)
ALERT_ID = Path(description="e.g. congestion:<segment_id>:<opened epoch ms>", max_length=512)


def _field_error(status: int, errors: list[FieldError], what: str) -> ApiError:
    summary = "; ".join(f"{e.field}: {e.reason}" for e in errors[:5])
    return ApiError(status, f"{what}: {summary}", details=[e.as_dict() for e in errors])


def _checked_text(value: str | None, name: str) -> str | None:
    if value is not None and has_control_characters(value):
        raise _field_error(
            422, [FieldError(name, "must not contain control characters")], "invalid request"
        )
    return value


# list ---------------------------------------------------------------------------
@router.get(
    "",
    dependencies=[allow(READERS)],
    response_model=AlertRecords,
    responses=ERROR_RESPONSES,
    summary="Alerts, newest first, filtered",
    description="Every filter is optional and they combine. `state=active` means open or "
    "acknowledged. `since`/`until` bound opened_at, [since, until); a time without a zone "
    "is UTC.",
)
async def list_alerts(
    runtime: Runtime = Depends(get_runtime),
    state: Literal["open", "acknowledged", "resolved", "active"] | None = None,
    severity: Annotated[str | None, Query(pattern=_NAME, description="minor or major")] = None,
    alert_type: Annotated[str | None, Query(pattern=_NAME, description="e.g. congestion")] = None,
    segment_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    since: Annotated[IsoDateTime | None, Query(description="opened at or after")] = None,
    until: Annotated[IsoDateTime | None, Query(description="opened before")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> JSON:
    since_ms, until_ms = to_ms(since), to_ms(until)
    if since_ms is not None and until_ms is not None and until_ms < since_ms:
        raise _field_error(422, [FieldError("until", "is before since")], "invalid request")
    query = AlertQuery(
        states=None if state is None else ACTIVE_STATES if state == ACTIVE else (state,),
        severity=severity,
        alert_type=alert_type,
        segment_id=_checked_text(segment_id, "segment_id"),
        since_ms=since_ms,
        until_ms=until_ms,
        limit=limit,
    )
    table = await run_in_threadpool(runtime.store.query_alerts, query)
    return JSON({"alerts": arrow_rows(table)})


# rules (before /{alert_id}, whose path would match them) ----------------------------
def _stored_rule(runtime: Runtime, config: type[RuleConfig]) -> RuleConfig:
    text = runtime.store.get_state(state_key(config.rule_id))
    try:
        return config.loads(text)
    except (ValueError, KeyError, TypeError) as exc:
        # The processors keep the rule they run (alerts/follow.py); so must we show one.
        log.error("the stored %s rule is not valid; showing the default: %s", config.rule_id, exc)
        return config.loads(None)


def _unknown_rule(rule_id: str) -> ApiError:
    return ApiError(
        404,
        f"no alert rule {rule_id[:64]!r}; rules: {', '.join(RULE_IDS)}",
        details=[{"field": "rule_id", "reason": "unknown rule"}],
    )


@router.get(
    "/rules",
    dependencies=[allow(READERS)],
    response_model=RuleList,
    summary="Alert rules",
    description="Every rule type, as stored (its defaults until changed): "
    + ", ".join(RULE_IDS)
    + ".",
)
async def list_rules(runtime: Runtime = Depends(get_runtime)) -> JSON:
    def read() -> list[dict[str, Any]]:
        return [_stored_rule(runtime, config).as_json() for config in RULES.values()]

    return JSON({"rules": await run_in_threadpool(read)})


def _segment_checker(runtime: Runtime) -> Callable[[str], bool]:
    """Whether a segment id is registered: the catalog, else the store (segments
    registered by another process since this one loaded its catalog)."""
    stored: set[str] | None = None

    def known(segment_id: str) -> bool:
        nonlocal stored
        if runtime.catalog.index.get(segment_id) is not None:
            return True
        if stored is None:
            stored = set(runtime.store.segments().column("segment_id").to_pylist())
        return segment_id in stored

    return known


_PUT_DESCRIPTION = (
    "Validated, stored, and applied by every running stream processor from the next "
    "window (alerts already open keep their hysteresis). `enabled: false` stops new "
    "alerts; open ones still resolve. `scope.segment_ids` (where the rule has a scope) "
    "limits which segments may alert (null: all). `notify` targets get every opening and "
    "resolution: `dashboard` live over the WebSocket, `webhook:` as a signed JSON POST "
    "and `email:` over SMTP, retried with backoff, each attempt listed by "
    "GET /api/alerts/{alert_id}/notifications. `escalate_after_minutes` + `escalate_to`: "
    "an alert still open (unacknowledged) that long after it opened is sent once to "
    "those targets."
)


async def _put_rule(config: type[RuleConfig], body: BaseModel, runtime: Runtime) -> JSON:
    rule_id = config.rule_id
    data = body.model_dump()
    errors: list[FieldError] = []
    if data.get("rule_id") is not None and data["rule_id"] != rule_id:
        errors.append(FieldError("rule_id", f"does not match the path ({rule_id})"))
    if data.get("alert_type") is not None and data["alert_type"] != config.alert_type:
        errors.append(
            FieldError("alert_type", f"the {rule_id} rule raises {config.alert_type} alerts")
        )
    rule = config.from_json(data)

    def save() -> list[FieldError]:
        problems = errors + rule.validate(_segment_checker(runtime))
        if not problems:
            runtime.store.set_state(state_key(rule_id), rule.dumps())
        return problems

    problems = await run_in_threadpool(save)
    if problems:
        raise _field_error(422, problems, "invalid rule")
    runtime.processor.invalidate_rules()
    runtime.notifier.rules.invalidate()
    return JSON(rule.as_json())


def _rule_routes(config: type[RuleConfig], model_in: type[BaseModel], out: type[BaseModel]) -> None:
    """GET and PUT /rules/<rule_id>, with this rule type's own models (precise OpenAPI)."""
    rule_id = config.rule_id
    doc = (config.__doc__ or "").strip().split("\n\n")[0]

    async def get_rule(runtime: Runtime = Depends(get_runtime)) -> JSON:
        return JSON((await run_in_threadpool(_stored_rule, runtime, config)).as_json())

    async def put_rule(body: Any, runtime: Runtime = Depends(get_runtime)) -> JSON:
        return await _put_rule(config, body, runtime)

    # The body's model is known only here: FastAPI reads it from the annotation.
    put_rule.__annotations__ = {**put_rule.__annotations__, "body": model_in}
    for fn, verb in ((get_rule, "get"), (put_rule, "put")):
        fn.__name__ = f"{verb}_{rule_id}_rule"
    router.get(
        f"/rules/{rule_id}",
        dependencies=[allow(READERS)],
        response_model=out,
        responses=ERROR_RESPONSES,
        summary=f"The {rule_id} alert rule",
        description=doc,
    )(get_rule)
    router.put(
        f"/rules/{rule_id}",
        dependencies=[allow(ADMINS)],
        response_model=out,
        responses=ERROR_RESPONSES,
        summary=f"Replace the {rule_id} alert rule",
        description=_PUT_DESCRIPTION,
    )(put_rule)


for _config in RULES.values():
    _rule_routes(_config, *RULE_MODELS[_config.rule_id])


@router.get(
    "/rules/{rule_id}",
    dependencies=[allow(READERS)],
    responses=ERROR_RESPONSES,
    summary="Any other rule id: 404",
    description="Every rule has its own route above; this answers 404 naming them.",
)
async def get_unknown_rule(rule_id: str = RULE_ID) -> JSON:
    raise _unknown_rule(rule_id)


@router.put(
    "/rules/{rule_id}",
    dependencies=[allow(ADMINS)],
    responses=ERROR_RESPONSES,
    summary="Any other rule id: 404",
    description="Every rule has its own route above; this answers 404 naming them.",
)
async def put_unknown_rule(rule_id: str = RULE_ID) -> JSON:
    raise _unknown_rule(rule_id)


# one alert ----------------------------------------------------------------------------
def _one(table: pa.Table, alert_id: str) -> dict[str, Any]:
    if table.num_rows == 0:
        raise ApiError(
            404,
            f"no alert {alert_id[:200]!r}",
            details=[{"field": "alert_id", "reason": "unknown alert"}],
        )
    return arrow_rows(table)[0]


def _operator(request: Request) -> str:
    p = principal_of(request)
    if p is None or p.kind == "anonymous":
        return "anonymous"
    return p.subject if p.kind == "user" else f"key:{p.subject}"


def _took_effect_now(row: dict[str, Any], state: str, now_ms: int) -> bool:
    """Whether this action moved the alert (a second acknowledgement only adds a note;
    the first one's time is kept)."""
    if state == "resolved":
        return True  # resolved is final: a changed row was not resolved before
    at = row.get("acknowledged_at")  # ISO 8601, as the API answers it
    return isinstance(at, str) and round(datetime.fromisoformat(at).timestamp() * 1000) == now_ms


async def _act(
    request: Request,
    runtime: Runtime,
    alert_id: str,
    action: Literal["acknowledge", "resolve"],
    note: str | None,
) -> JSON:
    if has_control_characters(alert_id):
        _one(pa.table({}), alert_id)  # no such id can exist
    state = "acknowledged" if action == "acknowledge" else "resolved"
    now = int(time.time() * 1000)
    by = _operator(request)
    update = await run_in_threadpool(runtime.store.update_alert, alert_id, state, note, now, by)
    row = _one(update.row, alert_id)
    if not update.changed:
        try:
            check_transition(row["state"], action)
        except TransitionRefused as exc:
            raise ApiError(
                409,
                f"alert {alert_id[:200]!r}: {exc}",
                details=[{"field": "state", "reason": f"the alert is {row['state']}"}],
            ) from exc
    if update.changed:
        log.info(
            "alert %s %s",
            alert_id[:200],
            state,
            extra={
                "event": "alert",
                "action": action,
                "by": by,
                "alert_id": alert_id[:200],
                "segment_id": row.get("segment_id"),
                "severity": row.get("severity"),
                "state": row["state"],
                "note_chars": len(note or ""),
            },
        )
    push_alerts(runtime, update.row)
    if update.changed and _took_effect_now(row, state, now):
        # Receivers that opened an incident from the alert close or quiet it too.
        runtime.notifier.submit(update.row, event=state)
    return JSON(row)


@router.get(
    "/{alert_id:path}/notifications",
    dependencies=[allow(READERS)],
    response_model=NotificationAttempts,
    responses=ERROR_RESPONSES,
    summary="An alert's notification attempts",
    description="Every try to deliver the alert to a webhook or by e-mail (its opening, "
    "acknowledgement, resolution and escalation), oldest first: when, to which target, "
    "the HTTP status or "
    "SMTP reply code or the error, and whether it was delivered. Declared before "
    "GET /{alert_id}, whose path would also match.",
)
async def list_notifications(
    alert_id: str = ALERT_ID,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    runtime: Runtime = Depends(get_runtime),
) -> JSON:
    if has_control_characters(alert_id):
        _one(pa.table({}), alert_id)

    def read() -> tuple[pa.Table, list[NotificationAttempt]]:
        return runtime.store.alert(alert_id), runtime.store.notification_attempts(alert_id, limit)

    found, attempts = await run_in_threadpool(read)
    _one(found, alert_id)  # 404 for an unknown alert
    return JSON({"alert_id": alert_id, "attempts": [attempt_json(a) for a in attempts]})


def attempt_json(a: NotificationAttempt) -> dict[str, Any]:
    at = datetime.fromtimestamp(a.at_ms / 1000, UTC).isoformat(timespec="milliseconds")
    return {
        "rule_id": a.rule_id,
        "event": a.event,
        "target": a.target,
        "attempt": a.attempt,
        "at": at.replace("+00:00", "Z"),
        "duration_ms": a.duration_ms,
        "status_code": a.status_code,
        "error": a.error,
        "delivered": a.delivered,
    }


@router.get(
    "/{alert_id:path}",
    dependencies=[allow(READERS)],
    response_model=AlertRecord,
    responses=ERROR_RESPONSES,
    summary="One alert",
)
async def get_alert(alert_id: str = ALERT_ID, runtime: Runtime = Depends(get_runtime)) -> JSON:
    if has_control_characters(alert_id):
        _one(pa.table({}), alert_id)
    return JSON(_one(await run_in_threadpool(runtime.store.alert, alert_id), alert_id))


@router.post(
    "/{alert_id:path}/acknowledge",
    dependencies=[allow(ANALYSTS)],
    response_model=AlertRecord,
    responses=_ERRORS,
    summary="Acknowledge an alert (open or acknowledged)",
    description="Records acknowledged_at (the first time) and the note if given; "
    "acknowledged_by names the first operator (user name, or key:<prefix>). "
    "409 if the alert is resolved.",
)
async def acknowledge(
    request: Request,
    alert_id: str = ALERT_ID,
    body: Annotated[AlertAction | None, Body()] = None,
    runtime: Runtime = Depends(get_runtime),
) -> JSON:
    return await _act(
        request, runtime, alert_id, "acknowledge", None if body is None else body.note
    )


@router.post(
    "/{alert_id:path}/resolve",
    dependencies=[allow(ANALYSTS)],
    response_model=AlertRecord,
    responses=_ERRORS,
    summary="Resolve an alert by hand",
    description="The processor will not reopen it for the same congestion, nor overwrite "
    "this resolution when the traffic recovers. 409 if already resolved.",
)
async def resolve(
    request: Request,
    alert_id: str = ALERT_ID,
    body: Annotated[AlertAction | None, Body()] = None,
    runtime: Runtime = Depends(get_runtime),
) -> JSON:
    return await _act(request, runtime, alert_id, "resolve", None if body is None else body.note)
