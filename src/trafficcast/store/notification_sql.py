"""Notification attempts in SQL, shared by the DuckDB and PostgreSQL adapters.

Times are epoch milliseconds in BIGINT columns, as in account_sql.py: the rows
are read per alert, never filtered by time. Attempts are appended, never updated.
"""

from __future__ import annotations

from typing import Any

from trafficcast.alerts.notify.attempts import NotificationAttempt

DDL = """
CREATE TABLE IF NOT EXISTS notification_attempts (
    alert_id TEXT NOT NULL, rule_id TEXT NOT NULL, event TEXT NOT NULL, target TEXT NOT NULL,
    attempt INTEGER NOT NULL, at_ms BIGINT NOT NULL, duration_ms BIGINT NOT NULL,
    status_code INTEGER, error TEXT, delivered BOOLEAN NOT NULL);
CREATE INDEX IF NOT EXISTS notification_attempts_alert
    ON notification_attempts (alert_id, at_ms);
"""

COLUMNS = "alert_id, rule_id, event, target, attempt, at_ms, duration_ms, status_code, error, "
COLUMNS += "delivered"


def insert(param: str) -> str:
    return f"INSERT INTO notification_attempts ({COLUMNS}) VALUES ({', '.join([param] * 10)})"


def select(param: str) -> str:
    return (
        f"SELECT {COLUMNS} FROM notification_attempts WHERE alert_id = {param} "
        f"ORDER BY at_ms, event, target, attempt LIMIT {param}"
    )


def params(a: NotificationAttempt) -> list[Any]:
    return [
        a.alert_id,
        a.rule_id,
        a.event,
        a.target,
        a.attempt,
        a.at_ms,
        a.duration_ms,
        a.status_code,
        a.error,
        a.delivered,
    ]


def from_row(row: Any) -> NotificationAttempt:
    return NotificationAttempt(
        alert_id=str(row[0]),
        rule_id=str(row[1]),
        event=str(row[2]),
        target=str(row[3]),
        attempt=int(row[4]),
        at_ms=int(row[5]),
        duration_ms=int(row[6]),
        status_code=None if row[7] is None else int(row[7]),
        error=None if row[8] is None else str(row[8]),
        delivered=bool(row[9]),
    )
