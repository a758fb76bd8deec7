"""The embedded store: one DuckDB file.

Writes go in as Arrow tables (DuckDB scans them in place, millions of rows a
second); reads come back as Arrow. Each call takes its own cursor, so the
processor thread writes while API threads read.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.alerts.schema import ALERT_RECORD_SCHEMA, ALERT_WRITE_SCHEMA
from trafficcast.auth.accounts import AccountExists, ApiKeyRecord, UserRecord
from trafficcast.domain.fill import stored_predictions, stored_windows
from trafficcast.domain.schema import (
    ACCURACY_SCHEMA,
    DAILY_SUMMARY_SCHEMA,
    EVENT_SCHEMA,
    LATEST_READING_SCHEMA,
    LINK_SCHEMA,
    SEGMENT_SCHEMA,
    STORED_PREDICTION_SCHEMA,
    STORED_WINDOW_SCHEMA,
)
from trafficcast.quality.detector_health import DETECTOR_DAY_STATS_SCHEMA
from trafficcast.store import account_sql, notification_sql
from trafficcast.store.alert_sql import (
    ACTIVE_SQL,
    UPDATED_AT,
    UPSERT_SET,
    alert_filters,
    pipeline_rows,
    update_params,
    update_set,
)
from trafficcast.store.base import (
    AccuracyQuery,
    AlertQuery,
    AlertUpdate,
    EventQuery,
    StoreUnavailable,
    SummaryQuery,
    checked_table,
)
from trafficcast.store.sql_filters import (
    DETECTOR_STATS_SQL,
    Dialect,
    accuracy_filters,
    summary_filters,
)

_DDL = """
CREATE TABLE IF NOT EXISTS segments (
    segment_id VARCHAR PRIMARY KEY, name VARCHAR, road VARCHAR, direction VARCHAR,
    latitude DOUBLE, longitude DOUBLE, free_flow_speed DOUBLE, length_miles DOUBLE,
    lanes INTEGER, geometry VARCHAR);
CREATE TABLE IF NOT EXISTS segment_links (
    from_segment VARCHAR, to_segment VARCHAR, weight DOUBLE,
    PRIMARY KEY (from_segment, to_segment));
CREATE TABLE IF NOT EXISTS events (
    event_id VARCHAR NOT NULL, segment_id VARCHAR NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL,
    speed DOUBLE, volume DOUBLE, occupancy DOUBLE, latitude DOUBLE, longitude DOUBLE,
    source VARCHAR, quality_score DOUBLE);
CREATE TABLE IF NOT EXISTS late_events (
    event_id VARCHAR PRIMARY KEY, segment_id VARCHAR NOT NULL, "timestamp" TIMESTAMPTZ NOT NULL,
    speed DOUBLE, volume DOUBLE, occupancy DOUBLE, latitude DOUBLE, longitude DOUBLE,
    source VARCHAR, quality_score DOUBLE, reason VARCHAR, recorded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS latest_readings (
    segment_id VARCHAR PRIMARY KEY, "timestamp" TIMESTAMPTZ NOT NULL, speed DOUBLE,
    volume DOUBLE, occupancy DOUBLE, source VARCHAR);
CREATE TABLE IF NOT EXISTS window_aggregates (
    segment_id VARCHAR NOT NULL, window_minutes INTEGER NOT NULL,
    window_start TIMESTAMPTZ NOT NULL, window_end TIMESTAMPTZ NOT NULL,
    mean_speed DOUBLE, harmonic_mean_speed DOUBLE, volume DOUBLE, occupancy DOUBLE,
    count BIGINT NOT NULL, quality DOUBLE, level_of_service VARCHAR,
    updated_at TIMESTAMPTZ NOT NULL);
CREATE TABLE IF NOT EXISTS predictions (
    segment_id VARCHAR NOT NULL, issued_at TIMESTAMPTZ NOT NULL,
    horizon_minutes INTEGER NOT NULL, target_time TIMESTAMPTZ NOT NULL,
    predicted_speed DOUBLE, speed_lower DOUBLE, speed_upper DOUBLE,
    predicted_volume DOUBLE, volume_lower DOUBLE, volume_upper DOUBLE,
    confidence DOUBLE, model_version VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS latest_predictions (
    segment_id VARCHAR NOT NULL, issued_at TIMESTAMPTZ NOT NULL,
    horizon_minutes INTEGER NOT NULL, target_time TIMESTAMPTZ NOT NULL,
    predicted_speed DOUBLE, speed_lower DOUBLE, speed_upper DOUBLE,
    predicted_volume DOUBLE, volume_lower DOUBLE, volume_upper DOUBLE,
    confidence DOUBLE, model_version VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY, alert_type VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    segment_id VARCHAR, state VARCHAR NOT NULL, opened_at TIMESTAMPTZ NOT NULL,
    resolved_at TIMESTAMPTZ, message VARCHAR);
CREATE TABLE IF NOT EXISTS processor_state (key VARCHAR PRIMARY KEY, value VARCHAR);
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acknowledged_at TIMESTAMPTZ;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS acknowledged_by VARCHAR;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS note VARCHAR;
ALTER TABLE alerts ADD COLUMN IF NOT EXISTS updated_at TIMESTAMPTZ;
ALTER TABLE window_aggregates ADD COLUMN IF NOT EXISTS fill VARCHAR DEFAULT 'observed';
ALTER TABLE predictions ADD COLUMN IF NOT EXISTS input_fill VARCHAR;
ALTER TABLE latest_predictions ADD COLUMN IF NOT EXISTS input_fill VARCHAR;
"""

_EVENT_COLUMNS = ", ".join(f'"{f.name}"' for f in EVENT_SCHEMA)
_STORED_PREDICTION = STORED_PREDICTION_SCHEMA.remove(
    STORED_PREDICTION_SCHEMA.get_field_index("prediction_id")
)
# The same id the stream processor gives an issue (see forecasts_table).
_PREDICTION_COLUMNS = ", ".join(
    "segment_id || '@' || epoch_ms(issued_at) || '/' || model_version AS prediction_id"
    if f.name == "prediction_id"
    else f'"{f.name}"'
    for f in STORED_PREDICTION_SCHEMA
)


_DIALECT = Dialect("?", "epoch_ms(?)", "list_contains(?, {col})")


def _cols(schema: pa.Schema) -> str:
    return ", ".join(f'"{f.name}"' for f in schema)


class DuckDBStore:
    def __init__(self, path: str | Path, *, threads: int | None = None) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Times are stored as TIMESTAMPTZ in UTC (DuckDB's default zone
        # without the ICU extension, which needs a download we cannot rely on).
        config: dict[str, Any] = {}
        if threads:
            config["threads"] = threads
        try:
            self._con = duckdb.connect(self.path, config=config)
        except duckdb.IOException as exc:
            raise StoreUnavailable(f"cannot open database file {self.path}: {exc}") from exc
        self._write_lock = threading.RLock()
        self._tx = threading.local()
        self._closed = False

    @contextmanager
    def _cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        if self._closed:
            raise StoreUnavailable("store is closed")
        cur = self._con.cursor()
        try:
            yield cur
        except duckdb.ConnectionException as exc:
            raise StoreUnavailable(str(exc)) from exc
        finally:
            cur.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes into one atomic commit (one processor cycle is one transaction).

        Each statement costs a few milliseconds of commit overhead in DuckDB
        whatever its size, so a cycle's writes also go much faster together.
        """
        if getattr(self._tx, "cursor", None) is not None:
            yield  # already inside one
            return
        with self._write_lock, self._cursor() as cur:
            cur.execute("BEGIN TRANSACTION")
            self._tx.cursor = cur
            try:
                yield
                cur.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                raise
            finally:
                self._tx.cursor = None

    def _write(
        self, sql: str, table: pa.Table | None = None, params: list[Any] | None = None
    ) -> None:
        # Upserts of overlapping keys from two threads would conflict in
        # DuckDB's optimistic concurrency; one writer at a time avoids retries.
        current = getattr(self._tx, "cursor", None)
        if current is not None:
            self._execute(current, sql, table, params)
            return
        with self._write_lock, self._cursor() as cur:
            self._execute(cur, sql, table, params)

    @staticmethod
    def _execute(
        cur: duckdb.DuckDBPyConnection, sql: str, table: pa.Table | None, params: list[Any] | None
    ) -> None:
        if table is not None:
            cur.register("batch", table)
        try:
            cur.execute(sql, params or [])
        finally:
            if table is not None:
                cur.unregister("batch")

    def init_schema(self) -> None:
        with self._cursor() as cur:
            cur.execute(_DDL)
            cur.execute(account_sql.DDL)
            cur.execute(notification_sql.DDL)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._con.close()

    def ping(self) -> None:
        with self._cursor() as cur:
            cur.execute("SELECT 1").fetchone()

    # segments ---------------------------------------------------------------
    def upsert_segments(self, segments: pa.Table) -> None:
        t = segments.select(SEGMENT_SCHEMA.names).cast(SEGMENT_SCHEMA)
        self._write(
            f"INSERT OR REPLACE INTO segments ({_cols(SEGMENT_SCHEMA)}) SELECT * FROM batch", t
        )

    def insert_missing_segments(self, segments: pa.Table) -> None:
        t = segments.select(SEGMENT_SCHEMA.names).cast(SEGMENT_SCHEMA)
        self._write(
            f"INSERT OR IGNORE INTO segments ({_cols(SEGMENT_SCHEMA)}) SELECT * FROM batch", t
        )

    def upsert_links(self, links: pa.Table) -> None:
        t = links.select(LINK_SCHEMA.names).cast(LINK_SCHEMA)
        self._write(
            f"INSERT OR REPLACE INTO segment_links ({_cols(LINK_SCHEMA)}) "
            "SELECT DISTINCT ON (from_segment, to_segment) * FROM batch",
            t,
        )

    def segments(self) -> pa.Table:
        return self._query(f"SELECT {_cols(SEGMENT_SCHEMA)} FROM segments ORDER BY segment_id")

    def segment(self, segment_id: str) -> pa.Table:
        return self._query(
            f"SELECT {_cols(SEGMENT_SCHEMA)} FROM segments WHERE segment_id = ?", [segment_id]
        )

    def links(self) -> pa.Table:
        return self._query(f"SELECT {_cols(LINK_SCHEMA)} FROM segment_links")

    # events -----------------------------------------------------------------
    def write_events(self, events: pa.Table) -> None:
        if events.num_rows:
            self._write(f"INSERT INTO events ({_EVENT_COLUMNS}) SELECT * FROM batch", events)

    def write_late_events(self, events: pa.Table, reason: str) -> int:
        if not events.num_rows:
            return 0
        # The key stores a resent late event once.
        self._write(
            f"INSERT OR IGNORE INTO late_events ({_EVENT_COLUMNS}, reason, recorded_at) "
            "SELECT *, ?, now() FROM batch",
            events,
            [reason],
        )
        return int(events.num_rows)

    def query_events(self, query: EventQuery) -> tuple[pa.Table, int]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if query.segment_id is not None:
            where.append("segment_id = ?")
            params.append(query.segment_id)
        if query.start_ms is not None:
            where.append('"timestamp" >= epoch_ms(?)')
            params.append(query.start_ms)
        if query.end_ms is not None:
            where.append('"timestamp" < epoch_ms(?)')
            params.append(query.end_ms)
        clause = " AND ".join(where)
        # One scan gives the page and the total; only a page past the end needs a count.
        rows = self._query(
            f"SELECT {_EVENT_COLUMNS}, count(*) OVER () AS _total FROM events WHERE {clause} "
            'ORDER BY "timestamp", event_id LIMIT ? OFFSET ?',
            [*params, query.limit, query.offset],
        )
        if rows.num_rows:
            total = int(rows.column("_total")[0].as_py())
        else:
            total = self._scalar(f"SELECT count(*) FROM events WHERE {clause}", params)
        return rows.drop_columns(["_total"]), total

    def count_events(self) -> int:
        return int(self._scalar("SELECT count(*) FROM events"))

    def events_since(self, since_ms: int, segment_ids: Sequence[str] | None = None) -> pa.Table:
        only, params = _segment_filter(segment_ids)
        table = self._query(
            f'SELECT {_EVENT_COLUMNS} FROM events WHERE "timestamp" >= epoch_ms(?){only}',
            [since_ms, *params],
        )
        return table.cast(EVENT_SCHEMA)

    def max_event_ms(self, segment_ids: Sequence[str] | None = None) -> int | None:
        only, params = _segment_filter(segment_ids)
        with self._cursor() as cur:
            row = cur.execute(
                f'SELECT epoch_ms(max("timestamp")) FROM events WHERE TRUE{only}', params
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0])

    def upsert_latest_readings(self, readings: pa.Table) -> None:
        if not readings.num_rows:
            return
        t = readings.select(LATEST_READING_SCHEMA.names).cast(LATEST_READING_SCHEMA)
        self._write(
            f"INSERT INTO latest_readings ({_cols(LATEST_READING_SCHEMA)}) SELECT * FROM batch "
            'ON CONFLICT (segment_id) DO UPDATE SET "timestamp" = excluded."timestamp", '
            "speed = excluded.speed, volume = excluded.volume, occupancy = excluded.occupancy, "
            'source = excluded.source WHERE excluded."timestamp" >= latest_readings."timestamp"',
            t,
        )

    def latest_readings(self) -> pa.Table:
        return self._query(
            f"SELECT {_cols(LATEST_READING_SCHEMA)} FROM latest_readings ORDER BY segment_id"
        )

    # windows, predictions, alerts --------------------------------------------
    def insert_windows(self, windows: pa.Table) -> None:
        """Windows emitted for the first time: their keys are new, so a plain append."""
        if windows.num_rows:
            t = stored_windows(windows)
            self._write(
                f"INSERT INTO window_aggregates ({_cols(STORED_WINDOW_SCHEMA)}) "
                "SELECT * FROM batch",
                t,
            )

    def upsert_windows(self, windows: pa.Table) -> None:
        """Windows that may exist already (late updates, restart): replace by key.

        Keys are not enforced by an index: an index would make the common
        append four times slower (measured 0.5 vs 2 M rows/s), and the processor
        guarantees a first emission is written once.
        """
        if not windows.num_rows:
            return
        t = stored_windows(windows)
        earliest = int(pc.min(t.column("window_start")).cast(pa.int64()).as_py())
        self._write(
            "DELETE FROM window_aggregates w USING batch b WHERE w.segment_id = b.segment_id "
            "AND w.window_minutes = b.window_minutes AND w.window_start = b.window_start "
            "AND w.window_start >= epoch_ms(?)",
            t,
            [earliest],
        )
        self.insert_windows(t)

    def window_history(
        self,
        segment_id: str,
        window_minutes: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
    ) -> pa.Table:
        params: list[Any] = [segment_id, window_minutes]
        extra = ""
        if start_ms is not None:
            extra += " AND window_start >= epoch_ms(?)"
            params.append(start_ms)
        if end_ms is not None:
            extra += " AND window_start < epoch_ms(?)"
            params.append(end_ms)
        params.append(limit)
        return self._query(
            f"SELECT * FROM (SELECT {_cols(STORED_WINDOW_SCHEMA)} FROM window_aggregates "
            f"WHERE segment_id = ? AND window_minutes = ?{extra} "
            "ORDER BY window_start DESC LIMIT ?) ORDER BY window_start",
            params,
        )

    def windows_between(self, window_minutes: int, start_ms: int, end_ms: int) -> pa.Table:
        return self._query(
            f"SELECT {_cols(STORED_WINDOW_SCHEMA)} FROM window_aggregates WHERE window_minutes = ? "
            "AND window_start >= epoch_ms(?) AND window_start < epoch_ms(?) "
            "ORDER BY window_start, segment_id",
            [window_minutes, start_ms, end_ms],
        )

    def window_span(
        self, window_minutes: int, start_ms: int, end_ms: int
    ) -> tuple[int, int] | None:
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT epoch_ms(min(window_start)), epoch_ms(max(window_start)) "
                "FROM window_aggregates WHERE window_minutes = ? "
                "AND window_start >= epoch_ms(?) AND window_start < epoch_ms(?)",
                [window_minutes, start_ms, end_ms],
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def insert_predictions(self, predictions: pa.Table) -> None:
        """Append an issue of forecasts to the history and make it the latest per key."""
        if not predictions.num_rows:
            return
        # prediction_id is derived from the key, so it is computed on read, not stored.
        t = stored_predictions(predictions).select(_STORED_PREDICTION.names)
        cols = _cols(_STORED_PREDICTION)
        self._write(f"INSERT INTO predictions ({cols}) SELECT * FROM batch", t)
        newest = _newest_per_key(t)
        self._write(
            "DELETE FROM latest_predictions l USING batch b WHERE l.segment_id = b.segment_id "
            "AND l.horizon_minutes = b.horizon_minutes AND l.issued_at <= b.issued_at",
            newest,
        )
        self._write(
            f"INSERT INTO latest_predictions ({cols}) SELECT b.* FROM batch b "
            "ANTI JOIN latest_predictions l ON l.segment_id = b.segment_id "
            "AND l.horizon_minutes = b.horizon_minutes",
            newest,
        )

    def latest_predictions(self, segment_id: str | None, limit: int) -> pa.Table:
        cols = _PREDICTION_COLUMNS
        if segment_id is not None:
            return self._query(
                f"SELECT {cols} FROM latest_predictions WHERE segment_id = ? "
                "ORDER BY horizon_minutes LIMIT ?",
                [segment_id, limit],
            )
        return self._query(
            f"SELECT {cols} FROM latest_predictions ORDER BY issued_at DESC, segment_id, "
            "horizon_minutes LIMIT ?",
            [limit],
        )

    def latest_predictions_at(self, horizon_minutes: int) -> pa.Table:
        # latest_predictions holds one issue per (segment, horizon), or several
        # models' forecasts of one issue: their newest, then the first model.
        return self._query(
            f"SELECT {_PREDICTION_COLUMNS} FROM latest_predictions WHERE horizon_minutes = ? "
            "QUALIFY row_number() OVER (PARTITION BY segment_id "
            "ORDER BY issued_at DESC, model_version) = 1 ORDER BY segment_id",
            [horizon_minutes],
        ).cast(STORED_PREDICTION_SCHEMA)

    def window_start_range(self, window_minutes: int) -> tuple[int, int] | None:
        with self._cursor() as cur:
            row = cur.execute(
                "SELECT epoch_ms(min(window_start)), epoch_ms(max(window_start)) "
                "FROM window_aggregates WHERE window_minutes = ?",
                [window_minutes],
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def count_forecast_issues(
        self, start_ms: int, end_ms: int, segment_ids: Sequence[str] | None = None
    ) -> int:
        only, params = _segment_filter(segment_ids)
        return self._scalar(
            "SELECT count(*) FROM (SELECT DISTINCT segment_id, issued_at, model_version "
            f"FROM predictions WHERE issued_at >= epoch_ms(?) AND issued_at < epoch_ms(?){only})",
            [start_ms, end_ms, *params],
        )

    def forecast_history(
        self, segment_id: str, horizon_minutes: int, start_ms: int, end_ms: int
    ) -> pa.Table:
        # predictions is append-only (decision 0006): an issue written twice keeps its
        # newest write, as forecast_accuracy counts it.
        table = self._query(
            f"SELECT {_PREDICTION_COLUMNS} FROM predictions WHERE segment_id = ? "
            "AND horizon_minutes = ? AND target_time >= epoch_ms(?) AND target_time < epoch_ms(?) "
            "QUALIFY row_number() OVER (PARTITION BY issued_at, model_version "
            "ORDER BY rowid DESC) = 1 "
            "ORDER BY target_time, issued_at, model_version",
            [segment_id, horizon_minutes, start_ms, end_ms],
        )
        return pa.Table.from_arrays(
            [table.column(f.name).cast(f.type) for f in STORED_PREDICTION_SCHEMA],
            schema=STORED_PREDICTION_SCHEMA,
        )

    def upsert_alerts(self, alerts: pa.Table) -> pa.Table:
        if not alerts.num_rows:
            return ALERT_RECORD_SCHEMA.empty_table()
        return self._write_returning(
            f"INSERT INTO alerts ({_cols(ALERT_WRITE_SCHEMA)}) SELECT * FROM batch "
            f"ON CONFLICT (alert_id) DO UPDATE SET {UPSERT_SET} "
            f"RETURNING {_ALERT_COLUMNS}",
            pipeline_rows(alerts),
        )

    def alerts(self, state: str | None, limit: int) -> pa.Table:
        return self.query_alerts(AlertQuery(None if state is None else (state,), limit=limit))

    def query_alerts(self, query: AlertQuery) -> pa.Table:
        where, params = alert_filters(query, _DIALECT)
        return self._alert_rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} "
            "ORDER BY opened_at DESC, alert_id LIMIT ?",
            [*params, query.limit],
        )

    def alert(self, alert_id: str) -> pa.Table:
        return self._alert_rows(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ?", [alert_id]
        )

    def update_alert(
        self, alert_id: str, state: str, note: str | None, at_ms: int, by: str | None = None
    ) -> AlertUpdate:
        sql = (
            f"UPDATE alerts SET {update_set(state, _DIALECT)} "
            f"WHERE alert_id = ? AND state IN ({ACTIVE_SQL}) RETURNING alert_id"
        )
        with self.transaction():
            changed = bool(
                self._tx.cursor.execute(
                    sql, [*update_params(state, note, at_ms, by), alert_id]
                ).fetchall()
            )
        return AlertUpdate(self.alert(alert_id), changed)

    def _alert_rows(self, sql: str, params: list[Any]) -> pa.Table:
        return self._query(sql, params).cast(ALERT_RECORD_SCHEMA)

    def summary(self, query: SummaryQuery) -> tuple[dict[str, float], pa.Table]:
        where, params = summary_filters(query, "w.window_start", "w.segment_id", _DIALECT)
        where = ["w.window_minutes = ?", *where]
        params = [query.window_minutes, *params]
        clause = " AND ".join(where)
        hours = query.window_minutes / 60.0
        alert_where, alert_params = summary_filters(query, "opened_at", "segment_id", _DIALECT)
        alert_where = ["alert_type = 'incident'", *alert_where]
        incidents = (
            f"(SELECT segment_id, count(*) AS n FROM alerts WHERE {' AND '.join(alert_where)} "
            "GROUP BY segment_id)"
        )
        by_segment = self._query(
            "SELECT w.segment_id, avg(w.mean_speed) AS avg_speed, "
            "avg(w.volume) AS avg_volume, sum(w.count)::BIGINT AS total_events, "
            f"sum(CASE WHEN w.level_of_service IN ('E', 'F') THEN {hours} ELSE 0 END)::DOUBLE "
            "AS congestion_hours, "
            "least(100, 100 * avg(w.mean_speed / coalesce(nullif(s.free_flow_speed, 0), 65))) "
            "AS traffic_score, coalesce(max(i.n), 0)::BIGINT AS incidents "
            "FROM window_aggregates w LEFT JOIN segments s USING (segment_id) "
            f"LEFT JOIN {incidents} i USING (segment_id) "
            f"WHERE {clause} GROUP BY w.segment_id ORDER BY w.segment_id",
            [*alert_params, *params],
        )
        totals = self._query(
            "SELECT coalesce(sum(w.count), 0)::BIGINT AS total_events, "
            "avg(w.mean_speed) AS avg_speed, avg(w.volume) AS avg_volume, "
            f"coalesce(sum(CASE WHEN w.level_of_service IN ('E', 'F') THEN {hours} ELSE 0 END), 0)"
            f"::DOUBLE AS congestion_hours FROM window_aggregates w WHERE {clause}",
            params,
        ).to_pylist()[0]
        incident_count = self._scalar(
            f"SELECT count(*) FROM alerts WHERE {' AND '.join(alert_where)}", alert_params
        )
        totals["incident_count"] = int(incident_count)
        return totals, by_segment

    def summary_by_day(self, query: SummaryQuery) -> pa.Table:
        # The same filters and expressions as summary's totals, grouped by UTC day.
        where, params = summary_filters(query, "window_start", "segment_id", _DIALECT)
        clause = " AND ".join(["window_minutes = ?", *where])
        hours = query.window_minutes / 60.0
        alert_where, alert_params = summary_filters(query, "opened_at", "segment_id", _DIALECT)
        alert_clause = " AND ".join(["alert_type = 'incident'", *alert_where])
        table = self._query(
            "WITH w AS (SELECT floor(epoch_ms(window_start) / 86400000.0)::BIGINT AS d, "
            "sum(count)::BIGINT AS total_events, sum(mean_speed) AS speed_sum, "
            "count(mean_speed)::BIGINT AS speed_count, sum(volume) AS volume_sum, "
            "count(volume)::BIGINT AS volume_count, "
            f"sum(CASE WHEN level_of_service IN ('E', 'F') THEN {hours} ELSE 0 END)::DOUBLE "
            f"AS congestion_hours FROM window_aggregates WHERE {clause} GROUP BY 1), "
            "a AS (SELECT floor(epoch_ms(opened_at) / 86400000.0)::BIGINT AS d, "
            f"count(*)::BIGINT AS n FROM alerts WHERE {alert_clause} GROUP BY 1) "
            "SELECT coalesce(w.d, a.d) * 86400000 AS day, coalesce(w.total_events, 0) "
            "AS total_events, w.speed_sum, coalesce(w.speed_count, 0) AS speed_count, "
            "w.volume_sum, coalesce(w.volume_count, 0) AS volume_count, "
            "coalesce(w.congestion_hours, 0) AS congestion_hours, "
            "coalesce(a.n, 0) AS incident_count "
            "FROM w FULL OUTER JOIN a ON w.d = a.d ORDER BY day",
            [query.window_minutes, *params, *alert_params],
        )
        return pa.Table.from_arrays(
            [
                table.column(f.name).cast(pa.int64()).cast(f.type)
                if pa.types.is_timestamp(f.type)
                else table.column(f.name).cast(f.type)
                for f in DAILY_SUMMARY_SCHEMA
            ],
            schema=DAILY_SUMMARY_SCHEMA,
        )

    def forecast_accuracy(self, query: AccuracyQuery) -> pa.Table:
        """Forecasts scored against the 5-minute windows that closed at their target time.

        Both tables are append-only without enforced keys (decision 0006), so
        each side is reduced to one row per key before the join: a window's
        newest version (latest updated_at) carries the corrected actual, and a
        forecast issue written twice must not be counted twice.
        """
        filters = accuracy_filters(query, _DIALECT)
        window_filter, window_params = filters.windows, filters.window_params
        prediction_filter, prediction_params = filters.predictions, filters.prediction_params
        bucket_ms = query.bucket_minutes * 60_000
        # Nulls and NaNs are excluded after deduplication: a newest window
        # without a speed must hide its older version, not fall back to it.
        table = self._query(
            "WITH w AS (SELECT segment_id, window_end, mean_speed, volume "
            "FROM window_aggregates WHERE window_minutes = 5 "
            f"AND window_end >= epoch_ms(?) AND window_end < epoch_ms(?){window_filter} "
            "QUALIFY row_number() OVER (PARTITION BY segment_id, window_start "
            "ORDER BY updated_at DESC, rowid DESC) = 1), "
            "p AS (SELECT segment_id, target_time, horizon_minutes, model_version, "
            "predicted_speed, speed_lower, speed_upper, predicted_volume FROM predictions "
            f"WHERE target_time >= epoch_ms(?) AND target_time < epoch_ms(?){prediction_filter} "
            "QUALIFY row_number() OVER (PARTITION BY segment_id, issued_at, horizon_minutes, "
            "model_version ORDER BY rowid DESC) = 1), "
            "e AS (SELECT epoch_ms(p.target_time) AS t, p.model_version, p.horizon_minutes, "
            "p.predicted_speed - w.mean_speed AS err, w.mean_speed AS actual, "
            "p.speed_lower, p.speed_upper, p.predicted_volume - w.volume AS volume_err "
            "FROM p JOIN w ON w.segment_id = p.segment_id AND w.window_end = p.target_time "
            "WHERE NOT isnan(p.predicted_speed) AND NOT isnan(w.mean_speed)) "
            "SELECT t - ((t % ?) + ?) % ? AS bucket_ms, model_version, horizon_minutes, "
            "count(*)::BIGINT AS n, avg(abs(err)) AS speed_mae, "
            "sqrt(avg(err * err)) AS speed_rmse, "
            "avg(100 * abs(err) / actual) FILTER (WHERE actual > 0) AS speed_mape, "
            "avg(err) AS speed_bias, "
            "avg(CASE WHEN actual BETWEEN speed_lower AND speed_upper THEN 1.0 ELSE 0.0 END) "
            "FILTER (WHERE NOT isnan(speed_lower) AND NOT isnan(speed_upper)) "
            "AS speed_coverage, "
            "avg(abs(volume_err)) FILTER (WHERE NOT isnan(volume_err)) AS volume_mae "
            "FROM e GROUP BY ALL ORDER BY bucket_ms, model_version, horizon_minutes",
            [
                query.start_ms,
                query.end_ms,
                *window_params,
                query.start_ms,
                query.end_ms,
                *prediction_params,
                bucket_ms,
                bucket_ms,
                bucket_ms,
            ],
        )
        return pa.Table.from_arrays(
            [
                table.column("bucket_ms").cast(pa.int64()).cast(ACCURACY_SCHEMA.field(0).type),
                *(table.column(f.name).cast(f.type) for f in list(ACCURACY_SCHEMA)[1:]),
            ],
            schema=ACCURACY_SCHEMA,
        )

    # checkpoint --------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self._cursor() as cur:
            row = cur.execute("SELECT value FROM processor_state WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        self._write("INSERT OR REPLACE INTO processor_state VALUES (?, ?)", None, [key, value])

    # notification attempts -----------------------------------------------------
    def add_notification_attempts(self, attempts: Sequence[NotificationAttempt]) -> None:
        for a in attempts:
            self._write(notification_sql.insert("?"), None, notification_sql.params(a))

    def notification_attempts(self, alert_id: str, limit: int = 1000) -> list[NotificationAttempt]:
        with self._cursor() as cur:
            rows = cur.execute(notification_sql.select("?"), [alert_id, limit]).fetchall()
        return [notification_sql.from_row(r) for r in rows]

    # data quality --------------------------------------------------------------
    def detector_day_stats(self, start_ms: int, end_ms: int, max_plausible_mph: float) -> pa.Table:
        table = self._query(
            DETECTOR_STATS_SQL.format(p="?", to_ms='epoch_ms("timestamp")', time="epoch_ms(?)"),
            [max_plausible_mph, start_ms, end_ms],
        )
        return table.cast(DETECTOR_DAY_STATS_SCHEMA)

    # accounts ------------------------------------------------------------------
    def add_user(self, user: UserRecord) -> None:
        try:
            self._write(account_sql.insert_user("?"), None, account_sql.user_params(user))
        except duckdb.ConstraintException as exc:
            raise AccountExists(f"user {user.username!r} already exists") from exc

    def update_user(self, user: UserRecord) -> bool:
        with self._write_lock, self._cursor() as cur:
            cur.execute(
                account_sql.update_user("?") + " RETURNING username",
                account_sql.user_update_params(user),
            )
            return cur.fetchone() is not None

    def users(self) -> list[UserRecord]:
        with self._cursor() as cur:
            rows = cur.execute(account_sql.SELECT_USERS).fetchall()
        return [account_sql.user_from_row(r) for r in rows]

    def add_api_key(self, key: ApiKeyRecord) -> None:
        try:
            self._write(account_sql.insert_key("?"), None, account_sql.key_params(key))
        except duckdb.ConstraintException as exc:
            raise AccountExists(f"API key prefix {key.prefix!r} already exists") from exc

    def revoke_api_key(self, prefix: str, at_ms: int) -> ApiKeyRecord | None:
        with self._write_lock, self._cursor() as cur:
            row = cur.execute(account_sql.revoke_key("?"), [at_ms, prefix]).fetchone()
        return None if row is None else account_sql.key_from_row(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        with self._cursor() as cur:
            rows = cur.execute(account_sql.SELECT_KEYS).fetchall()
        return [account_sql.key_from_row(r) for r in rows]

    # whole tables (backup and restore) ------------------------------------------
    def schema_revision(self) -> str:
        # No migrations here: the tables are made by the DDL, so its digest names the shape.
        ddl = _DDL + account_sql.DDL + notification_sql.DDL
        return "duckdb-" + hashlib.sha256(ddl.encode()).hexdigest()[:12]

    def count_rows(self, table: str) -> int:
        return self._scalar(f'SELECT count(*) FROM "{checked_table(table)}"')

    def read_table(self, table: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        with self._cursor() as cur:
            reader = cur.sql(f'SELECT * FROM "{checked_table(table)}"').to_arrow_reader(batch_rows)
            empty = True
            for batch in reader:
                empty = False
                yield batch
            if empty:  # the columns, even without rows
                yield pa.RecordBatch.from_pylist([], schema=reader.schema)

    def append_rows(self, table: str, batch: pa.RecordBatch) -> None:
        rows = pa.Table.from_batches([batch])
        self._write(f'INSERT INTO "{checked_table(table)}" BY NAME SELECT * FROM batch', rows)

    def delete_rows(self, table: str) -> None:
        self._write(f'DELETE FROM "{checked_table(table)}"')

    # helpers -------------------------------------------------------------------
    def _query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        with self._cursor() as cur:
            rel = cur.sql(sql, params=params or None)
            result: pa.Table = rel.to_arrow_table()
            return result

    def _write_returning(self, sql: str, table: pa.Table) -> pa.Table:
        """Run a write with RETURNING and give its rows (in the open transaction, if any)."""
        current = getattr(self._tx, "cursor", None)
        with contextlib.ExitStack() as stack:
            if current is None:
                stack.enter_context(self._write_lock)
                current = stack.enter_context(self._cursor())
            current.register("batch", table)
            try:
                result: pa.Table = current.sql(sql).to_arrow_table()
            finally:
                current.unregister("batch")
        return result.cast(ALERT_RECORD_SCHEMA)

    def _scalar(self, sql: str, params: list[Any] | None = None) -> int:
        with self._cursor() as cur:
            row = cur.execute(sql, params or []).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


_ALERT_COLUMNS = ", ".join(
    f"{UPDATED_AT} AS updated_at" if f.name == "updated_at" else f'"{f.name}"'
    for f in ALERT_RECORD_SCHEMA
)


def _segment_filter(segment_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    if segment_ids is None:
        return "", []
    return " AND segment_id IN (SELECT unnest(?::VARCHAR[]))", [list(segment_ids)]


def _newest_per_key(predictions: pa.Table) -> pa.Table:
    """Drop all but the newest issue per (segment, horizon, model), for one upsert."""
    if predictions.num_rows == 0:
        return predictions
    issued = predictions.column("issued_at").cast(pa.int64()).to_numpy()
    keys = pa.Table.from_arrays(
        [
            predictions.column("segment_id"),
            predictions.column("horizon_minutes"),
            predictions.column("model_version"),
            pa.array(issued),
            pa.array(np.arange(predictions.num_rows)),
        ],
        names=["s", "h", "m", "t", "i"],
    )
    newest = keys.group_by(["s", "h", "m"]).aggregate([("t", "max")])
    joined = keys.join(newest, ["s", "h", "m"])
    rows = joined.filter(pc.equal(joined.column("t"), joined.column("t_max"))).column("i")
    return predictions.take(pa.array(np.sort(rows.to_numpy())))
