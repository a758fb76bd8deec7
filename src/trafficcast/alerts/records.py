"""What goes out live after a pipeline writes alerts.

Every change is pushed, in order (an alert may open and resolve within one
cycle), but the last change of each alert is pushed as the store now holds it:
with the operator's acknowledgement and note, and unchanged if an operator had
already resolved it. Alerts are few (a handful per window close), so plain
Python over their ids is fine here.
"""

from __future__ import annotations

import pyarrow as pa

from trafficcast.alerts.schema import ALERT_RECORD_SCHEMA, OPERATOR_FIELDS
from trafficcast.domain.schema import ALERT_SCHEMA


class ChangeRows:
    """One alert type's changes, added one at a time, as ALERT_SCHEMA rows (open while
    not resolved)."""

    def __init__(self, alert_type: str) -> None:
        self.alert_type = alert_type
        self.rows: list[dict[str, object]] = []

    def add(
        self,
        alert_id: str,
        segment_id: str | None,
        opened_ms: int,
        resolved_ms: int | None,
        severity: str,
        message: str,
    ) -> None:
        self.rows.append(
            {
                "alert_id": alert_id,
                "alert_type": self.alert_type,
                "severity": severity,
                "segment_id": segment_id,
                "state": "open" if resolved_ms is None else "resolved",
                "opened_at": opened_ms,
                "resolved_at": resolved_ms,
                "message": message,
            }
        )

    def table(self) -> pa.Table:
        return pa.Table.from_pylist(self.rows, schema=ALERT_SCHEMA)


def pushed_records(changes: pa.Table, stored: pa.Table, now_ms: int) -> pa.Table:
    """One ALERT_RECORD_SCHEMA row per change (ALERT_SCHEMA rows, in order)."""
    n = changes.num_rows
    if n == 0:
        return ALERT_RECORD_SCHEMA.empty_table()
    changes = changes.select(ALERT_SCHEMA.names).cast(ALERT_SCHEMA)
    ids = changes.column("alert_id").to_pylist()
    last = {alert_id: i for i, alert_id in enumerate(ids)}
    held = {alert_id: j for j, alert_id in enumerate(stored.column("alert_id").to_pylist())}
    updated = pa.array([now_ms] * n, pa.int64()).cast(ALERT_RECORD_SCHEMA.field("updated_at").type)
    as_changed = pa.Table.from_arrays(
        [
            *changes.columns,
            *(pa.nulls(n, f.type) for f in OPERATOR_FIELDS),
            updated,
        ],
        schema=ALERT_RECORD_SCHEMA,
    )
    rows = [
        n + held[alert_id] if last[alert_id] == i and alert_id in held else i
        for i, alert_id in enumerate(ids)
    ]
    both = pa.concat_tables(
        [as_changed, stored.select(ALERT_RECORD_SCHEMA.names).cast(ALERT_RECORD_SCHEMA)]
    )
    return both.take(pa.array(rows, pa.int64()))
