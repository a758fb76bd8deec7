"""The PostgreSQL store: the same port as DuckDB, for several processes at once.

Writes go in as Arrow tables: each batch is written as CSV by Arrow (columnar,
no per-row Python), COPYed into a temporary staging table and moved into place
with one INSERT ... SELECT ... ON CONFLICT, so every write is a keyed,
idempotent upsert and a replay after a crash doubles nothing. Reads come back
through COPY ... TO STDOUT as CSV parsed by Arrow, about twice as fast as
fetching rows into Python for the big reads (events_since, windows_between).

Times are timestamptz; they cross the wire as epoch milliseconds (exact both
ways) and come back as Arrow timestamp("ms", tz="UTC").
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from trafficcast.domain.schema import (
    ACCURACY_SCHEMA,
    ALERT_SCHEMA,
    EVENT_SCHEMA,
    LATEST_READING_SCHEMA,
    LINK_SCHEMA,
    PREDICTION_SCHEMA,
    SEGMENT_SCHEMA,
    TIMESTAMP,
    WINDOW_SCHEMA,
)
from trafficcast.store import migrate
from trafficcast.store.base import AccuracyQuery, EventQuery, StoreUnavailable, SummaryQuery

# Staging table of a write; temporary, so private to its session.
_STAGE = "_stage"
_STORED_PREDICTION = PREDICTION_SCHEMA.remove(PREDICTION_SCHEMA.get_field_index("prediction_id"))
# The same id the stream processor gives an issue (see forecasts_table).
_PREDICTION_ID = (
    "segment_id || '@' || (extract(epoch FROM issued_at) * 1000)::int8 || '/' || model_version"
)
_NEWEST_EVENT = '(extract(epoch FROM max("timestamp")) * 1000)::int8'
_SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string()),
        pa.field("avg_speed", pa.float64()),
        pa.field("avg_volume", pa.float64()),
        pa.field("total_events", pa.int64()),
        pa.field("congestion_hours", pa.float64()),
        pa.field("traffic_score", pa.float64()),
        pa.field("incidents", pa.int64()),
    ]
)
_PG_TYPES = {
    pa.string(): "text",
    pa.float64(): "float8",
    pa.int32(): "int4",
    pa.int64(): "int8",
    TIMESTAMP: "int8",  # staged as epoch ms, converted by _from_ms on the way in
}


def _q(name: str) -> str:
    return f'"{name}"'


def _cols(schema: pa.Schema) -> str:
    return ", ".join(_q(f.name) for f in schema)


def _from_ms(column: str) -> str:
    # Exact for times before 2255 (microseconds below 2**53 in interval_mul's double);
    # to_timestamp(ms / 1000.0) may round a millisecond off.
    return f"(timestamptz 'epoch' + {column} * interval '1 millisecond')"


# A time parameter, given as epoch ms: DuckDB's bounds reach years 1 to 10000,
# which a Python datetime cannot hold.
_MS = _from_ms("%s::int8")


def _to_ms(column: str) -> str:
    # extract() returns numeric since PostgreSQL 14, so this is exact too.
    return f"(extract(epoch FROM {column}) * 1000)::int8"


def _staged(schema: pa.Schema, prefix: str = "") -> str:
    """Select list turning staged columns (times as epoch ms) into the table's types."""
    return ", ".join(
        f"{_from_ms(prefix + _q(f.name))} AS {_q(f.name)}"
        if f.type == TIMESTAMP
        else prefix + _q(f.name)
        for f in schema
    )


def _selected(schema: pa.Schema, overrides: dict[str, str] | None = None) -> str:
    """Select list of a read: the schema's columns in order, times as epoch ms."""
    parts = []
    for f in schema:
        if overrides and f.name in overrides:
            parts.append(f"{overrides[f.name]} AS {_q(f.name)}")
        elif f.type == TIMESTAMP:
            parts.append(f"{_to_ms(_q(f.name))} AS {_q(f.name)}")
        else:
            parts.append(_q(f.name))
    return ", ".join(parts)


def _updates(schema: pa.Schema, key: Sequence[str]) -> str:
    return ", ".join(f"{_q(n)} = excluded.{_q(n)}" for n in schema.names if n not in key)


def _csv(table: pa.Table) -> bytes:
    """The table as header-less CSV with times as epoch ms.

    Arrow quotes every string and leaves nulls unquoted and empty, which
    PostgreSQL's CSV reads back as NULL vs '' exactly; NaN and infinities
    are written as nan/inf, which float8 input accepts.
    """
    columns = [c.cast(pa.int64()) if pa.types.is_timestamp(c.type) else c for c in table.columns]
    plain = pa.Table.from_arrays(columns, names=table.column_names)
    sink = io.BytesIO()
    pacsv.write_csv(plain, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


class PostgresStore:
    """Store adapter on PostgreSQL (psycopg 3 with a connection pool)."""

    # write_events and insert_windows are keyed here too (DuckDB appends them and
    # relies on the processor): the contract suite checks replays against this.
    idempotent_appends = True

    def __init__(
        self, url: str, *, min_size: int = 1, max_size: int = 8, timeout: float = 5.0
    ) -> None:
        if not migrate.is_postgres_url(url):
            raise ValueError(f"not a PostgreSQL URL (postgresql://...): {migrate.redact(url)}")
        self.url = url
        # The pool connects in the background and reconnects after an outage;
        # check= drops connections that broke while idle in the pool. A short
        # timeout makes callers fail with StoreUnavailable instead of hanging.
        self._pool: ConnectionPool[psycopg.Connection[Any]] = ConnectionPool(
            url.replace("postgresql+psycopg://", "postgresql://", 1),
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            check=ConnectionPool.check_connection,
            kwargs={"connect_timeout": max(1, int(timeout)), "options": "-c TimeZone=UTC"},
            name="trafficcast-store",
            open=False,
        )
        self._pool.open(wait=False)
        self._tx = threading.local()
        self._closed = False

    # connections ---------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        """The thread's transaction connection, else one from the pool for one commit."""
        held: psycopg.Connection[Any] | None = getattr(self._tx, "conn", None)
        try:
            if held is not None:
                yield held
                return
            if self._closed:
                raise StoreUnavailable("store is closed")
            with self._pool.connection() as conn:
                yield conn
        except (PoolTimeout, PoolClosed) as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(f"PostgreSQL unavailable: {exc}") from exc

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group this thread's writes (and reads) into one PostgreSQL transaction."""
        if getattr(self._tx, "conn", None) is not None:
            yield  # already inside one
            return
        with self._connection() as conn:
            self._tx.conn = conn
            try:
                yield
            finally:
                self._tx.conn = None

    def init_schema(self) -> None:
        migrate.upgrade(self.url)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._pool.close()

    def ping(self) -> None:
        with self._connection() as conn:
            conn.execute("SELECT 1").fetchone()

    # writes --------------------------------------------------------------------
    def _upsert(
        self, table: pa.Table, schema: pa.Schema, *statements: str, params: Sequence[Any] = ()
    ) -> None:
        """COPY table (in schema) into the staging table, then run statements reading it.

        The staging table is dropped after use (and at commit at the latest),
        so the writes of one transaction never see each other's rows.
        """
        if not table.num_rows:
            return
        columns = ", ".join(f"{_q(f.name)} {_PG_TYPES[f.type]}" for f in schema)
        data = _csv(table.select(schema.names).cast(schema))
        with self._connection() as conn, conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE {_STAGE} ({columns}) ON COMMIT DROP")
            with cur.copy(f"COPY {_STAGE} FROM STDIN (FORMAT csv)") as copy:
                copy.write(data)
            for statement in statements:
                cur.execute(statement, list(params) or None)
            cur.execute(f"DROP TABLE {_STAGE}")

    def _replace_by_key(
        self, target: str, table: pa.Table, schema: pa.Schema, key: Sequence[str]
    ) -> None:
        # ON CONFLICT DO UPDATE may touch a row once per statement: keep the
        # batch's last row per key (ctid is the COPY order in a fresh table).
        keys = ", ".join(_q(k) for k in key)
        self._upsert(
            table,
            schema,
            f"INSERT INTO {target} ({_cols(schema)}) SELECT {_staged(schema)} FROM "
            f"(SELECT DISTINCT ON ({keys}) * FROM {_STAGE} ORDER BY {keys}, ctid DESC) s "
            f"ON CONFLICT ({keys}) DO UPDATE SET {_updates(schema, key)}",
        )

    def _insert_new(self, target: str, table: pa.Table, schema: pa.Schema, key: str) -> None:
        self._upsert(
            table,
            schema,
            f"INSERT INTO {target} ({_cols(schema)}) SELECT {_staged(schema)} FROM {_STAGE} "
            f"ON CONFLICT ({_q(key)}) DO NOTHING",
        )

    # segments ------------------------------------------------------------------
    def upsert_segments(self, segments: pa.Table) -> None:
        self._replace_by_key("segments", segments, SEGMENT_SCHEMA, ["segment_id"])

    def insert_missing_segments(self, segments: pa.Table) -> None:
        self._insert_new("segments", segments, SEGMENT_SCHEMA, "segment_id")

    def upsert_links(self, links: pa.Table) -> None:
        self._replace_by_key("segment_links", links, LINK_SCHEMA, ["from_segment", "to_segment"])

    def segments(self) -> pa.Table:
        return self._read(
            f"SELECT {_selected(SEGMENT_SCHEMA)} FROM segments ORDER BY segment_id", SEGMENT_SCHEMA
        )

    def segment(self, segment_id: str) -> pa.Table:
        return self._read(
            f"SELECT {_selected(SEGMENT_SCHEMA)} FROM segments WHERE segment_id = %s",
            SEGMENT_SCHEMA,
            [segment_id],
        )

    def links(self) -> pa.Table:
        return self._read(
            f"SELECT {_selected(LINK_SCHEMA)} FROM segment_links ORDER BY from_segment, to_segment",
            LINK_SCHEMA,
        )

    # events --------------------------------------------------------------------
    def write_events(self, events: pa.Table) -> None:
        self._insert_new("events", events, EVENT_SCHEMA, "event_id")

    def write_late_events(self, events: pa.Table, reason: str) -> int:
        if not events.num_rows:
            return 0
        # The key stores a resent late event once.
        self._upsert(
            events,
            EVENT_SCHEMA,
            f"INSERT INTO late_events ({_cols(EVENT_SCHEMA)}, reason, recorded_at) "
            f"SELECT {_staged(EVENT_SCHEMA)}, %s, now() FROM {_STAGE} "
            "ON CONFLICT (event_id) DO NOTHING",
            params=[reason],
        )
        return int(events.num_rows)

    def query_events(self, query: EventQuery) -> tuple[pa.Table, int]:
        where: list[str] = ["TRUE"]
        params: list[Any] = []
        if query.segment_id is not None:
            where.append("segment_id = %s")
            params.append(query.segment_id)
        if query.start_ms is not None:
            where.append(f'"timestamp" >= {_MS}')
            params.append(query.start_ms)
        if query.end_ms is not None:
            where.append(f'"timestamp" < {_MS}')
            params.append(query.end_ms)
        clause = " AND ".join(where)
        schema = EVENT_SCHEMA.append(pa.field("_total", pa.int64()))
        # One scan gives the page and the total; only a page past the end needs a count.
        rows = self._read(
            f"SELECT {_selected(EVENT_SCHEMA)}, count(*) OVER () AS _total FROM events "
            f'WHERE {clause} ORDER BY "timestamp", event_id LIMIT %s OFFSET %s',
            schema,
            [*params, query.limit, query.offset],
        )
        if rows.num_rows:
            total = int(rows.column("_total")[0].as_py())
        else:
            total = self._scalar(f"SELECT count(*) FROM events WHERE {clause}", params)
        return rows.drop_columns(["_total"]), total

    def count_events(self) -> int:
        return self._scalar("SELECT count(*) FROM events")

    def events_since(self, since_ms: int, segment_ids: Sequence[str] | None = None) -> pa.Table:
        only, params = _segment_filter(segment_ids)
        return self._read(
            f'SELECT {_selected(EVENT_SCHEMA)} FROM events WHERE "timestamp" >= {_MS}{only}',
            EVENT_SCHEMA,
            [since_ms, *params],
        )

    def max_event_ms(self, segment_ids: Sequence[str] | None = None) -> int | None:
        only, params = _segment_filter(segment_ids)
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT {_NEWEST_EVENT} FROM events WHERE TRUE{only}", params
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0])

    def upsert_latest_readings(self, readings: pa.Table) -> None:
        schema = LATEST_READING_SCHEMA
        self._upsert(
            readings,
            schema,
            f"INSERT INTO latest_readings ({_cols(schema)}) SELECT {_staged(schema)} FROM "
            f'(SELECT DISTINCT ON (segment_id) * FROM {_STAGE} ORDER BY segment_id, "timestamp" '
            "DESC, ctid DESC) s ON CONFLICT (segment_id) DO UPDATE SET "
            f"{_updates(schema, ['segment_id'])} "
            'WHERE excluded."timestamp" >= latest_readings."timestamp"',
        )

    def latest_readings(self) -> pa.Table:
        return self._read(
            f"SELECT {_selected(LATEST_READING_SCHEMA)} FROM latest_readings ORDER BY segment_id",
            LATEST_READING_SCHEMA,
        )

    # windows, predictions, alerts ----------------------------------------------
    def insert_windows(self, windows: pa.Table) -> None:
        """Windows emitted for the first time; an upsert here too, so a replay is harmless."""
        self.upsert_windows(windows)

    def upsert_windows(self, windows: pa.Table) -> None:
        self._replace_by_key(
            "window_aggregates",
            windows,
            WINDOW_SCHEMA,
            ["segment_id", "window_minutes", "window_start"],
        )

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
            extra += f" AND window_start >= {_MS}"
            params.append(start_ms)
        if end_ms is not None:
            extra += f" AND window_start < {_MS}"
            params.append(end_ms)
        params.append(limit)
        return self._read(
            f"SELECT * FROM (SELECT {_selected(WINDOW_SCHEMA)} FROM window_aggregates "
            f"WHERE segment_id = %s AND window_minutes = %s{extra} "
            "ORDER BY window_start DESC LIMIT %s) w ORDER BY window_start",
            WINDOW_SCHEMA,
            params,
        )

    def windows_between(self, window_minutes: int, start_ms: int, end_ms: int) -> pa.Table:
        return self._read(
            f"SELECT {_selected(WINDOW_SCHEMA)} FROM window_aggregates WHERE window_minutes = %s "
            f"AND window_start >= {_MS} AND window_start < {_MS} ORDER BY window_start, segment_id",
            WINDOW_SCHEMA,
            [window_minutes, start_ms, end_ms],
        )

    def insert_predictions(self, predictions: pa.Table) -> None:
        """Upsert an issue of forecasts into the history and make it the latest.

        latest_predictions keeps DuckDB's rule (decision 0006): a newer issue
        for a segment and horizon replaces what is there whatever its model, so
        a promoted model's forecasts replace the old model's; the key also
        holds model_version because one batch may carry several models.
        """
        schema = _STORED_PREDICTION
        cols = _cols(schema)
        history_key = ["segment_id", "issued_at", "horizon_minutes", "model_version"]
        latest_key = ["segment_id", "horizon_minutes", "model_version"]
        keys = ", ".join(history_key)
        newest = (
            f"(SELECT DISTINCT ON ({', '.join(latest_key)}) {_staged(schema)} FROM {_STAGE} "
            f"ORDER BY {', '.join(latest_key)}, issued_at DESC, ctid DESC)"
        )
        self._upsert(
            predictions,
            schema,
            f"INSERT INTO predictions ({cols}) SELECT {_staged(schema)} FROM "
            f"(SELECT DISTINCT ON ({keys}) * FROM {_STAGE} ORDER BY {keys}, ctid DESC) s "
            f"ON CONFLICT ({keys}) DO UPDATE SET {_updates(schema, history_key)}",
            f"DELETE FROM latest_predictions l USING {newest} b "
            "WHERE l.segment_id = b.segment_id AND l.horizon_minutes = b.horizon_minutes "
            "AND l.issued_at <= b.issued_at",
            # ON CONFLICT covers a concurrent writer of the same key between
            # the DELETE and the INSERT (another replica's replay).
            f"INSERT INTO latest_predictions ({cols}) SELECT * FROM {newest} b "
            "WHERE NOT EXISTS (SELECT 1 FROM latest_predictions l WHERE "
            "l.segment_id = b.segment_id AND l.horizon_minutes = b.horizon_minutes) "
            f"ON CONFLICT ({', '.join(latest_key)}) DO UPDATE SET "
            f"{_updates(schema, latest_key)} "
            "WHERE excluded.issued_at >= latest_predictions.issued_at",
        )

    def latest_predictions(self, segment_id: str | None, limit: int) -> pa.Table:
        cols = _selected(PREDICTION_SCHEMA, {"prediction_id": _PREDICTION_ID})
        if segment_id is not None:
            return self._read(
                f"SELECT {cols} FROM latest_predictions WHERE segment_id = %s "
                "ORDER BY horizon_minutes, model_version LIMIT %s",
                PREDICTION_SCHEMA,
                [segment_id, limit],
            )
        return self._read(
            f"SELECT {cols} FROM latest_predictions ORDER BY issued_at DESC, segment_id, "
            "horizon_minutes, model_version LIMIT %s",
            PREDICTION_SCHEMA,
            [limit],
        )

    def upsert_alerts(self, alerts: pa.Table) -> None:
        self._replace_by_key("alerts", alerts, ALERT_SCHEMA, ["alert_id"])

    def alerts(self, state: str | None, limit: int) -> pa.Table:
        cols = _selected(ALERT_SCHEMA)
        if state is None:
            return self._read(
                f"SELECT {cols} FROM alerts ORDER BY opened_at DESC, alert_id LIMIT %s",
                ALERT_SCHEMA,
                [limit],
            )
        return self._read(
            f"SELECT {cols} FROM alerts WHERE state = %s "
            "ORDER BY opened_at DESC, alert_id LIMIT %s",
            ALERT_SCHEMA,
            [state, limit],
        )

    def summary(self, query: SummaryQuery) -> tuple[dict[str, float], pa.Table]:
        where: list[str] = ["w.window_minutes = %s"]
        params: list[Any] = [query.window_minutes]
        if query.start_ms is not None:
            where.append(f"w.window_start >= {_MS}")
            params.append(query.start_ms)
        if query.end_ms is not None:
            where.append(f"w.window_start < {_MS}")
            params.append(query.end_ms)
        if query.segment_ids:
            where.append("w.segment_id = ANY(%s::text[])")
            params.append(list(query.segment_ids))
        clause = " AND ".join(where)
        hours = query.window_minutes / 60.0
        alert_where: list[str] = ["alert_type = 'incident'"]
        alert_params: list[Any] = []
        if query.start_ms is not None:
            alert_where.append(f"opened_at >= {_MS}")
            alert_params.append(query.start_ms)
        if query.end_ms is not None:
            alert_where.append(f"opened_at < {_MS}")
            alert_params.append(query.end_ms)
        if query.segment_ids:
            alert_where.append("segment_id = ANY(%s::text[])")
            alert_params.append(list(query.segment_ids))
        incidents = (
            f"(SELECT segment_id, count(*) AS n FROM alerts WHERE {' AND '.join(alert_where)} "
            "GROUP BY segment_id)"
        )
        # PostgreSQL's least() skips nulls and orders NaN above every number,
        # as DuckDB's does, so traffic_score agrees on both.
        by_segment = self._read(
            "SELECT w.segment_id, avg(w.mean_speed) AS avg_speed, "
            "avg(w.volume) AS avg_volume, sum(w.count)::int8 AS total_events, "
            "sum(CASE WHEN w.level_of_service IN ('E', 'F') THEN %s::float8 ELSE 0 END)::float8 "
            "AS congestion_hours, "
            "least(100, 100 * avg(w.mean_speed / coalesce(nullif(s.free_flow_speed, 0), 65))) "
            "AS traffic_score, coalesce(max(i.n), 0)::int8 AS incidents "
            "FROM window_aggregates w LEFT JOIN segments s USING (segment_id) "
            f"LEFT JOIN {incidents} i USING (segment_id) "
            f"WHERE {clause} GROUP BY w.segment_id ORDER BY w.segment_id",
            _SUMMARY_SCHEMA,
            [hours, *alert_params, *params],
        )
        with self._connection() as conn:
            row = conn.execute(
                "SELECT coalesce(sum(w.count), 0)::int8, avg(w.mean_speed), avg(w.volume), "
                "coalesce(sum(CASE WHEN w.level_of_service IN ('E', 'F') THEN %s::float8 "
                f"ELSE 0 END), 0)::float8 FROM window_aggregates w WHERE {clause}",
                [hours, *params],
            ).fetchone()
        assert row is not None  # an aggregate without GROUP BY always returns a row
        totals: dict[str, Any] = {
            "total_events": int(row[0]),
            "avg_speed": row[1],
            "avg_volume": row[2],
            "congestion_hours": float(row[3]),
        }
        totals["incident_count"] = self._scalar(
            f"SELECT count(*) FROM alerts WHERE {' AND '.join(alert_where)}", alert_params
        )
        return totals, by_segment

    def forecast_accuracy(self, query: AccuracyQuery) -> pa.Table:
        """Forecasts scored against the 5-minute windows that closed at their target time.

        Keys are enforced here, so each window and each forecast issue is one
        row already (the newest written), which is what DuckDB's deduplication
        picks. DuckDB's `NOT isnan(x)` is `x <> 'NaN'` here: PostgreSQL's NaN
        equals itself, and a comparison with null is null, so both drop nulls
        and NaNs alike.
        """
        window_filter = ""
        window_params: list[Any] = []
        prediction_filter = ""
        prediction_params: list[Any] = []
        if query.segment_id is not None:
            window_filter += " AND segment_id = %s"
            window_params.append(query.segment_id)
            prediction_filter += " AND segment_id = %s"
            prediction_params.append(query.segment_id)
        if query.model_version is not None:
            prediction_filter += " AND model_version = %s"
            prediction_params.append(query.model_version)
        bucket_ms = query.bucket_minutes * 60_000
        start, end = query.start_ms, query.end_ms
        schema = ACCURACY_SCHEMA.set(0, pa.field("bucket_ms", pa.int64()))
        table = self._read(
            "WITH w AS (SELECT segment_id, window_end, mean_speed, volume "
            "FROM window_aggregates WHERE window_minutes = 5 "
            f"AND window_end >= {_MS} AND window_end < {_MS}{window_filter}), "
            "p AS (SELECT segment_id, target_time, horizon_minutes, model_version, "
            "predicted_speed, speed_lower, speed_upper, predicted_volume FROM predictions "
            f"WHERE target_time >= {_MS} AND target_time < {_MS}{prediction_filter}), "
            f"e AS (SELECT {_to_ms('p.target_time')} AS t, p.model_version, p.horizon_minutes, "
            "p.predicted_speed - w.mean_speed AS err, w.mean_speed AS actual, "
            "p.speed_lower, p.speed_upper, p.predicted_volume - w.volume AS volume_err "
            "FROM p JOIN w ON w.segment_id = p.segment_id AND w.window_end = p.target_time "
            "WHERE p.predicted_speed <> 'NaN'::float8 AND w.mean_speed <> 'NaN'::float8) "
            "SELECT t - mod(mod(t, %s) + %s, %s) AS bucket_ms, model_version, horizon_minutes, "
            "count(*)::int8 AS n, avg(abs(err)) AS speed_mae, "
            "sqrt(avg(err * err)) AS speed_rmse, "
            "avg(100 * abs(err) / actual) FILTER (WHERE actual > 0) AS speed_mape, "
            "avg(err) AS speed_bias, "
            "avg(CASE WHEN actual BETWEEN speed_lower AND speed_upper THEN 1.0::float8 "
            "ELSE 0.0::float8 END) "
            "FILTER (WHERE speed_lower <> 'NaN'::float8 AND speed_upper <> 'NaN'::float8) "
            "AS speed_coverage, "
            "avg(abs(volume_err)) FILTER (WHERE volume_err <> 'NaN'::float8) AS volume_mae "
            "FROM e GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            schema,
            [
                start,
                end,
                *window_params,
                start,
                end,
                *prediction_params,
                bucket_ms,
                bucket_ms,
                bucket_ms,
            ],
        )
        return pa.Table.from_arrays(
            [table.column(0).cast(TIMESTAMP), *table.columns[1:]], schema=ACCURACY_SCHEMA
        )

    # checkpoint ----------------------------------------------------------------
    def get_state(self, key: str) -> str | None:
        with self._connection() as conn:
            row = conn.execute("SELECT value FROM processor_state WHERE key = %s", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_state(self, key: str, value: str) -> None:
        with self._connection() as conn:
            conn.execute(
                "INSERT INTO processor_state (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [key, value],
            )

    # helpers -------------------------------------------------------------------
    def _read(self, query: str, schema: pa.Schema, params: Sequence[Any] = ()) -> pa.Table:
        """Run a SELECT whose columns are schema's (times as epoch ms) into an Arrow table."""
        sink = io.BytesIO()
        statement = f"COPY ({query}) TO STDOUT (FORMAT csv)"
        with (
            self._connection() as conn,
            conn.cursor() as cur,
            cur.copy(statement, list(params) or None) as copy,
        ):
            for chunk in copy:
                sink.write(chunk)
        data = sink.getvalue()
        if not data:
            return schema.empty_table()
        wire = {f.name: pa.int64() if f.type == TIMESTAMP else f.type for f in schema}
        parsed = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(column_names=schema.names),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            # Only an unquoted empty field is NULL: PostgreSQL quotes an empty
            # string, and writes NaN as NaN, which Arrow's defaults would null.
            convert_options=pacsv.ConvertOptions(
                column_types=wire,
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        return pa.Table.from_arrays(
            [
                col.cast(TIMESTAMP) if f.type == TIMESTAMP else col
                for col, f in zip(parsed.columns, schema, strict=True)
            ],
            schema=schema,
        )

    def _scalar(self, query: str, params: Sequence[Any] = ()) -> int:
        with self._connection() as conn:
            row = conn.execute(query, list(params)).fetchone()
        return int(row[0]) if row and row[0] is not None else 0


def _segment_filter(segment_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    if segment_ids is None:
        return "", []
    return " AND segment_id = ANY(%s::text[])", [list(segment_ids)]
