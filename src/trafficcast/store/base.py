"""The store port: what the pipeline writes and the API reads.

Adapters (DuckDB now, PostgreSQL later) take and return Arrow tables in the
schemas of domain/schema.py. Every write is idempotent: keyed upserts for
windows, predictions and latest readings; events are written once by the
processor, which deduplicates ids before writing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import pyarrow as pa

from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.auth.accounts import ApiKeyRecord, UserRecord


@dataclass(frozen=True)
class EventQuery:
    segment_id: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class SummaryQuery:
    start_ms: int | None = None
    end_ms: int | None = None
    segment_ids: tuple[str, ...] = ()
    window_minutes: int = 5


@dataclass(frozen=True)
class AccuracyQuery:
    """Forecasts whose target_time is in [start_ms, end_ms), bucketed by target_time.

    Buckets are bucket_minutes long and aligned to the Unix epoch (UTC).
    """

    start_ms: int
    end_ms: int
    bucket_minutes: int = 60
    model_version: str | None = None
    segment_id: str | None = None
    segment_ids: tuple[str, ...] | None = None  # only these segments (None: every one)

    def __post_init__(self) -> None:
        if self.bucket_minutes < 1:
            raise ValueError(f"bucket_minutes must be at least 1, got {self.bucket_minutes}")
        if self.end_ms < self.start_ms:
            raise ValueError("end_ms is before start_ms")


@dataclass(frozen=True)
class AlertQuery:
    """Alerts matching every given filter, newest opened_at first.

    `states` is any of open / acknowledged / resolved (None: all); the time
    range is on opened_at, [since_ms, until_ms).
    """

    states: tuple[str, ...] | None = None
    severity: str | None = None
    alert_type: str | None = None
    segment_id: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None
    limit: int = 100

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise ValueError(f"limit must be at least 1, got {self.limit}")
        if self.states is not None and not self.states:
            raise ValueError("states is empty; use None for every state")


@dataclass(frozen=True)
class AlertUpdate:
    """The outcome of an operator's action: the alert afterwards (no rows: unknown id) and
    whether the action applied (False: the alert's state refused it, e.g. resolved)."""

    row: pa.Table
    changed: bool


# Every table of both adapters, in an order restore can insert them in; the allow-list
# of the whole-table methods below (names are never taken from input).
STORE_TABLES: tuple[str, ...] = (
    "segments",
    "segment_links",
    "events",
    "late_events",
    "latest_readings",
    "window_aggregates",
    "predictions",
    "latest_predictions",
    "alerts",
    "notification_attempts",
    "processor_state",
    "users",
    "api_keys",
)


def checked_table(table: str) -> str:
    """The name, if it is one of STORE_TABLES; else ValueError (it goes into SQL)."""
    if table not in STORE_TABLES:
        raise ValueError(f"unknown table {table!r}")
    return table


class StoreUnavailable(RuntimeError):
    """The store cannot be reached; callers answer 503 and retry later."""


class Store(Protocol):
    def init_schema(self) -> None: ...
    def transaction(self) -> AbstractContextManager[None]: ...
    def close(self) -> None: ...
    def ping(self) -> None: ...

    # segments and road graph
    def upsert_segments(self, segments: pa.Table) -> None: ...
    def insert_missing_segments(self, segments: pa.Table) -> None: ...
    def upsert_links(self, links: pa.Table) -> None: ...
    def segments(self) -> pa.Table: ...
    def segment(self, segment_id: str) -> pa.Table: ...
    def links(self) -> pa.Table: ...

    # raw events
    def write_events(self, events: pa.Table) -> None: ...
    def write_late_events(self, events: pa.Table, reason: str) -> int: ...
    def query_events(self, query: EventQuery) -> tuple[pa.Table, int]: ...
    def count_events(self) -> int: ...
    def events_since(self, since_ms: int, segment_ids: Sequence[str] | None = None) -> pa.Table:
        """Events at or after since_ms, of the given segments only when segment_ids is set."""
        ...

    def max_event_ms(self, segment_ids: Sequence[str] | None = None) -> int | None:
        """The newest stored event time, over the given segments when segment_ids is set."""
        ...

    def upsert_latest_readings(self, readings: pa.Table) -> None: ...
    def latest_readings(self) -> pa.Table: ...

    # windows, forecasts, alerts
    def insert_windows(self, windows: pa.Table) -> None: ...
    def upsert_windows(self, windows: pa.Table) -> None: ...
    def window_history(
        self,
        segment_id: str,
        window_minutes: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> pa.Table: ...
    def windows_between(self, window_minutes: int, start_ms: int, end_ms: int) -> pa.Table: ...
    def window_span(
        self, window_minutes: int, start_ms: int, end_ms: int
    ) -> tuple[int, int] | None:
        """(first, last) window_start in epoch ms of the windows starting in [start_ms,
        end_ms); None when there are none. How much history a range holds, unread."""
        ...

    def insert_predictions(self, predictions: pa.Table) -> None: ...
    def latest_predictions(self, segment_id: str | None, limit: int) -> pa.Table: ...
    def latest_predictions_at(self, horizon_minutes: int) -> pa.Table:
        """Each segment's newest forecast at one horizon, in PREDICTION_SCHEMA, one row per
        segment ordered by segment_id; of two models' forecasts of one issue, the one whose
        model_version sorts first (bytewise)."""
        ...

    def window_start_range(self, window_minutes: int) -> tuple[int, int] | None:
        """The earliest and the latest stored window_start (epoch ms) of one window size,
        or None when there is none."""
        ...

    def count_forecast_issues(
        self, start_ms: int, end_ms: int, segment_ids: Sequence[str] | None = None
    ) -> int:
        """Forecast issues (one per segment, issued_at and model version, all horizons
        together; an issue written twice counts once) issued in [start_ms, end_ms)."""
        ...

    def forecast_history(
        self, segment_id: str, horizon_minutes: int, start_ms: int, end_ms: int
    ) -> pa.Table:
        """One segment's stored forecasts of one horizon whose target_time is in
        [start_ms, end_ms), in PREDICTION_SCHEMA: one row per issue and model (an
        issue written twice is one row, its newest write), ordered by target_time,
        issued_at, model_version."""
        ...

    def upsert_alerts(self, alerts: pa.Table) -> pa.Table:
        """Write pipeline alerts (ALERT_SCHEMA, one row per alert_id) and return the stored
        records of those ids (ALERT_RECORD_SCHEMA). A write never moves an alert's state
        backwards, never changes a resolved alert and never touches the operator's columns
        (acknowledged_at/by, note): see alerts/schema.py."""
        ...

    def alerts(self, state: str | None, limit: int) -> pa.Table:
        """Alert records (ALERT_RECORD_SCHEMA) in one state or all, newest first."""
        ...

    def query_alerts(self, query: AlertQuery) -> pa.Table:
        """Alert records (ALERT_RECORD_SCHEMA) matching the query, newest opened_at first."""
        ...

    def alert(self, alert_id: str) -> pa.Table:
        """One alert record (ALERT_RECORD_SCHEMA); no rows for an unknown id."""
        ...

    def update_alert(
        self, alert_id: str, state: str, note: str | None, at_ms: int, by: str | None = None
    ) -> AlertUpdate:
        """An operator (`by`) moves an open or acknowledged alert to `state` (acknowledged or
        resolved) at at_ms, atomically. Acknowledging keeps the first acknowledged_at and
        acknowledged_by; a
        note given replaces the stored one. A resolved alert is left as it is
        (changed=False)."""
        ...

    def add_notification_attempts(self, attempts: Sequence[NotificationAttempt]) -> None:
        """Append delivery attempts (alerts/notify); attempts are never changed."""
        ...

    def notification_attempts(self, alert_id: str, limit: int = 1000) -> list[NotificationAttempt]:
        """One alert's delivery attempts, oldest first (then by event, target, attempt)."""
        ...

    def summary(self, query: SummaryQuery) -> tuple[dict[str, float], pa.Table]: ...
    def summary_by_day(self, query: SummaryQuery) -> pa.Table:
        """summary's totals over the same rows, as additive parts per UTC day in
        DAILY_SUMMARY_SCHEMA ordered by day; days with no window and no incident
        are absent."""
        ...

    def forecast_accuracy(self, query: AccuracyQuery) -> pa.Table:
        """Stored forecasts scored against the newest version of the 5-minute window
        ending at their target_time; one row per (bucket_start, model_version,
        horizon_minutes) in ACCURACY_SCHEMA, in that order."""
        ...

    # processor checkpoint
    def get_state(self, key: str) -> str | None: ...
    def set_state(self, key: str, value: str) -> None: ...

    # data quality
    def detector_day_stats(self, start_ms: int, end_ms: int, max_plausible_mph: float) -> pa.Table:
        """Per segment with readings in [start_ms, end_ms): counts for its health
        (quality/detector_health.py DETECTOR_DAY_STATS_SCHEMA), ordered by segment_id.
        Implausible: a speed above max_plausible_mph, or 0 mph with vehicles counted."""
        ...

    # accounts (users and API keys; few rows, read whole by the API's account cache)
    def add_user(self, user: UserRecord) -> None:
        """Insert a user; raise AccountExists when the name is taken."""
        ...

    def update_user(self, user: UserRecord) -> bool:
        """Replace the user of that name; False when there is none."""
        ...

    def users(self) -> list[UserRecord]: ...

    def add_api_key(self, key: ApiKeyRecord) -> None:
        """Insert a key; raise AccountExists when its prefix is taken."""
        ...

    def revoke_api_key(self, prefix: str, at_ms: int) -> ApiKeyRecord | None:
        """Mark a key revoked (the first revocation time stays); None when unknown."""
        ...

    def api_keys(self) -> list[ApiKeyRecord]: ...

    # whole tables, for backup and restore (table names from STORE_TABLES only) --------
    def schema_revision(self) -> str:
        """The schema's version: the Alembic revision, or the embedded store's own."""
        ...

    def count_rows(self, table: str) -> int: ...

    def read_table(self, table: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Every row as stored, batch_rows at a time (streamed); one empty batch if none."""
        ...

    def append_rows(self, table: str, batch: pa.RecordBatch) -> None:
        """Append rows in the shape read_table gives (inside transaction() if open)."""
        ...

    def delete_rows(self, table: str) -> None:
        """Empty the table (restore --force)."""
        ...
