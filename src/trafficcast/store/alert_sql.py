"""Alert SQL the SQL adapters share: the pipeline upsert's merge rule and the list filters.

Both PostgreSQL and DuckDB name the existing row by its table and the written
one `excluded` in ON CONFLICT DO UPDATE, so one clause serves both.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa

from trafficcast.alerts.schema import ACTIVE_STATES, ALERT_WRITE_SCHEMA
from trafficcast.domain.schema import ALERT_SCHEMA, TIMESTAMP
from trafficcast.store.base import AlertQuery
from trafficcast.store.sql_filters import Dialect

# A resolved alert is final: its row stays exactly as it is. Otherwise the state only
# moves forward (an operator's acknowledgement survives the pipeline re-writing "open"),
# and the operator's columns (acknowledged_at/by, note) are never named here.
_FINAL = "alerts.state = 'resolved'"
UPSERT_SET = ", ".join(
    [
        f"severity = CASE WHEN {_FINAL} THEN alerts.severity ELSE excluded.severity END",
        "state = CASE WHEN 'resolved' IN (alerts.state, excluded.state) THEN 'resolved' "
        "WHEN 'acknowledged' IN (alerts.state, excluded.state) THEN 'acknowledged' "
        "ELSE excluded.state END",
        f"resolved_at = CASE WHEN {_FINAL} THEN alerts.resolved_at ELSE excluded.resolved_at END",
        f"message = CASE WHEN {_FINAL} THEN alerts.message ELSE excluded.message END",
        f"updated_at = CASE WHEN {_FINAL} THEN alerts.updated_at ELSE excluded.updated_at END",
    ]
)

# Rows written before migration 0003 have no updated_at; their last change is known anyway.
UPDATED_AT = "coalesce(updated_at, resolved_at, opened_at)"
ACTIVE_SQL = ", ".join(f"'{s}'" for s in ACTIVE_STATES)


def pipeline_rows(alerts: pa.Table) -> pa.Table:
    """What an upsert stages (ALERT_WRITE_SCHEMA): the last row per alert_id, as ON
    CONFLICT may touch a row once per statement, stamped with the time of this write."""
    t = alerts.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)
    ids = t.column("alert_id").to_pylist()
    last = sorted({alert_id: i for i, alert_id in enumerate(ids)}.values())
    if len(last) < t.num_rows:
        t = t.take(pa.array(last, pa.int64()))
    now = int(time.time() * 1000)
    stamp = pa.array(np.full(t.num_rows, now, dtype=np.int64)).cast(TIMESTAMP)
    return t.append_column(ALERT_WRITE_SCHEMA.field("updated_at"), stamp)


def update_set(state: str, dialect: Dialect) -> str:
    """SET clause of an operator's action; parameters: update_params(...)."""
    t = dialect.time
    if state == "acknowledged":
        # The first acknowledgement names who took the alert on; later ones keep it.
        first = (
            f"acknowledged_at = coalesce(acknowledged_at, {t}), "
            f"acknowledged_by = coalesce(acknowledged_by, {dialect.param})"
        )
    elif state == "resolved":
        first = f"resolved_at = {t}"
    else:
        raise ValueError(f"an operator cannot move an alert to {state!r}")
    return f"state = '{state}', {first}, note = coalesce({dialect.param}, note), updated_at = {t}"


def update_params(state: str, note: str | None, at_ms: int, by: str | None) -> list[Any]:
    """The parameters of update_set's clause, in its order."""
    return [at_ms, by, note, at_ms] if state == "acknowledged" else [at_ms, note, at_ms]


def alert_filters(query: AlertQuery, dialect: Dialect) -> tuple[str, list[Any]]:
    """WHERE clause (empty or starting with WHERE) and its parameters."""
    where: list[str] = []
    params: list[Any] = []
    if query.states is not None:
        where.append(dialect.in_list.format(col="state"))
        params.append(list(query.states))
    for column, value in (
        ("severity", query.severity),
        ("alert_type", query.alert_type),
        ("segment_id", query.segment_id),
    ):
        if value is not None:
            where.append(f"{column} = {dialect.param}")
            params.append(value)
    if query.since_ms is not None:
        where.append(f"opened_at >= {dialect.time}")
        params.append(query.since_ms)
    if query.until_ms is not None:
        where.append(f"opened_at < {dialect.time}")
        params.append(query.until_ms)
    return ("WHERE " + " AND ".join(where)) if where else "", params
