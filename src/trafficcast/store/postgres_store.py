"""The PostgreSQL store: the same port as DuckDB, for several processes at once.

Writes go in as Arrow tables: each batch is written as CSV by Arrow (columnar,
no per-row Python), COPYed into a temporary staging table and moved into place
with one INSERT ... SELECT ... ON CONFLICT, so every write is a keyed,
idempotent upsert and a replay after a crash doubles nothing. Reads come back
through COPY ... TO STDOUT as CSV parsed by Arrow, about twice as fast as
fetching rows into Python for the big reads (events_since, windows_between).

Times are timestamptz; they cross the wire as epoch milliseconds (exact both
ways) and come back as Arrow timestamp("ms", tz="UTC").

Forecasts are stored one row per issue (predictions) and per segment
(latest_predictions) with an array element per horizon (migration 0002): the
per-horizon rows are grouped in Arrow, staged as array literals and unnested
again by the reads, which return the same per-horizon tables as before.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql as pgsql
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from trafficcast.alerts.notify.attempts import NotificationAttempt
from trafficcast.alerts.schema import ALERT_RECORD_SCHEMA, ALERT_WRITE_SCHEMA
from trafficcast.auth.accounts import AccountExists, ApiKeyRecord, UserRecord
from trafficcast.domain.fill import FILL_KINDS, fill_codes, stored_predictions, stored_windows
from trafficcast.domain.schema import (
    ACCURACY_SCHEMA,
    DAILY_SUMMARY_SCHEMA,
    EVENT_SCHEMA,
    LATEST_READING_SCHEMA,
    LINK_SCHEMA,
    SEGMENT_SCHEMA,
    STORED_PREDICTION_SCHEMA,
    STORED_WINDOW_SCHEMA,
    TIMESTAMP,
)
from trafficcast.quality.detector_health import DETECTOR_DAY_STATS_SCHEMA
from trafficcast.store import account_sql, migrate, notification_sql
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

# Staging table of a write; temporary, so private to its session.
_STAGE = "_stage"
_STORED_PREDICTION = STORED_PREDICTION_SCHEMA.remove(
    STORED_PREDICTION_SCHEMA.get_field_index("prediction_id")
)
# input_fill is stored as its code (domain/fill.py) in int4 arrays (migration 0006) and
# read back as its name.
_INPUT_FILL = (
    "(ARRAY[" + ", ".join(f"'{k}'" for k in FILL_KINDS) + "]::text[])[{col} + 1] AS input_fill"
)
# Forecast values: one array element per horizon in both prediction tables.
_VALUES = (
    "predicted_speed",
    "speed_lower",
    "speed_upper",
    "predicted_volume",
    "volume_lower",
    "volume_upper",
    "confidence",
)
# A forecast issue as predictions stores it (migration 0002): per-horizon
# columns become arrays sorted by horizon, target times as epoch ms.
_ISSUE_KEY = ("segment_id", "issued_at", "model_version")
_ISSUE_ARRAYS = ("horizon_minutes", "target_ms", *_VALUES, "input_fill")
_ISSUE_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string()),
        pa.field("issued_at", TIMESTAMP),
        pa.field("model_version", pa.string()),
        pa.field("first_target", TIMESTAMP),
        pa.field("last_target", TIMESTAMP),
        pa.field("horizon_minutes", pa.list_(pa.int32())),
        pa.field("target_ms", pa.list_(pa.int64())),
        *(pa.field(v, pa.list_(pa.float64())) for v in _VALUES),
        pa.field("input_fill", pa.list_(pa.int32())),
    ]
)
# latest_predictions' arrays: one element per (horizon, model) of a segment.
# The arrays forecast_accuracy scores.
_PREDICTION_SCORED = (
    "horizon_minutes",
    "target_ms",
    "predicted_speed",
    "speed_lower",
    "speed_upper",
    "predicted_volume",
)
_LATEST_ARRAYS = (
    "horizon_minutes",
    "model_version",
    "issued_ms",
    "target_ms",
    *_VALUES,
    "input_fill",
)
# The oldest and newest issued_ms of a latest_predictions row, which tell
# without unnesting whether a new batch replaces the whole row.
_LATEST_BOUNDS = ("oldest_issue_ms", "newest_issue_ms")
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
    pa.list_(pa.int32()): "int4[]",
    pa.list_(pa.int64()): "int8[]",
    pa.list_(pa.float64()): "float8[]",
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
_DIALECT = Dialect("%s", _MS, "{col} = ANY(%s::text[])")


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
    columns = [
        c.cast(pa.int64())
        if pa.types.is_timestamp(c.type)
        else _array_literals(c)
        if pa.types.is_list(c.type)
        else c
        for c in table.columns
    ]
    plain = pa.Table.from_arrays(columns, names=table.column_names)
    sink = io.BytesIO()
    pacsv.write_csv(plain, sink, pacsv.WriteOptions(include_header=False))
    return sink.getvalue()


def _array_literals(column: pa.ChunkedArray) -> pa.Array:
    """A list column of numbers as PostgreSQL array literals ('{1.5,NaN,NULL}'), vectorised.

    Arrow writes floats in their shortest exact form and NaN/infinities as
    nan/inf, which float8 input reads back exactly; a null element becomes the
    unquoted NULL of the array syntax. The CSV writer quotes the literal, so
    its commas stay inside one field. Lists themselves are never null here.
    """
    lists = column.combine_chunks()
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False)
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    text = pc.fill_null(pc.cast(pc.list_flatten(lists), pa.string()), "NULL")
    joined = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), text), ",")
    result: pa.Array = pc.binary_join_element_wise("{", joined, "}", "")
    return result


def _runs(table: pa.Table, names: Sequence[str]) -> np.ndarray:
    """For a sorted table: whether each row starts a new run of equal `names` values."""
    n = table.num_rows
    starts = np.zeros(n, dtype=bool)
    if n:
        starts[0] = True
    for name in names:
        col = table.column(name).combine_chunks()
        differs = pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), True)
        starts[1:] |= differs.to_numpy(zero_copy_only=False)
    return starts


def _issues(predictions: pa.Table) -> pa.Table:
    """Per-horizon forecast rows (PREDICTION_SCHEMA) as one row per issue (_ISSUE_SCHEMA).

    Rows are sorted by issue key and horizon, and a horizon given twice for one
    issue keeps the later row (the old per-horizon upsert's rule), all in Arrow
    without per-row Python.
    """
    t = stored_predictions(predictions).select(_STORED_PREDICTION.names)
    t = t.set_column(
        t.schema.get_field_index("input_fill"), "input_fill", fill_codes(t.column("input_fill"))
    )
    t = t.append_column("_row", pa.array(np.arange(t.num_rows, dtype=np.int64)))
    # Issue time first: rows go into the table in this order, and the BRIN on
    # first/last_target needs them in time order even for a catch-up batch.
    t = t.sort_by(
        [
            (k, "ascending")
            for k in ("issued_at", "segment_id", "model_version", "horizon_minutes", "_row")
        ]
    )
    # The last row of each run of one (issue, horizon) wins.
    new_horizon = _runs(t, [*_ISSUE_KEY, "horizon_minutes"])
    last = np.append(new_horizon[1:], True)
    t = t.filter(pa.array(last))
    starts = np.flatnonzero(_runs(t, _ISSUE_KEY))
    offsets = pa.array(np.append(starts, t.num_rows).astype(np.int32))
    target_ms = t.column("target_time").combine_chunks().cast(pa.int64())
    targets = target_ms.to_numpy(zero_copy_only=False)
    first = np.minimum.reduceat(targets, starts) if len(starts) else targets
    last_target = np.maximum.reduceat(targets, starts) if len(starts) else targets
    heads = t.take(pa.array(starts))
    arrays = {
        name: pa.ListArray.from_arrays(
            offsets,
            target_ms if name == "target_ms" else t.column(name).combine_chunks(),
        )
        for name in _ISSUE_ARRAYS
    }
    return pa.Table.from_arrays(
        [
            *(heads.column(k) for k in _ISSUE_KEY),
            pa.array(first).cast(TIMESTAMP),
            pa.array(last_target).cast(TIMESTAMP),
            *(arrays[name] for name in _ISSUE_ARRAYS),
        ],
        schema=_ISSUE_SCHEMA,
    )


def _unnest(alias: str, columns: Sequence[str], prefix: str = "") -> str:
    """unnest() of a row's arrays, one output column per array, named like it."""
    arrays = ", ".join(f"{prefix}{_q(c)}" for c in columns)
    return f"unnest({arrays}) AS {alias}({', '.join(_q(c) for c in columns)})"


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
        self,
        target: str,
        table: pa.Table,
        schema: pa.Schema,
        key: Sequence[str],
        order_by: str | None = None,
    ) -> None:
        """Upsert the batch's last row per key, written in order_by order if given.

        ON CONFLICT DO UPDATE may touch a row once per statement, hence one row
        per key; Arrow picks it (a hash group-by) rather than a sort in the
        server. Rows go in in batch order, or order_by's: a BRIN needs the heap
        in time order, which sorting by key would break for a catch-up batch.
        """
        if not table.num_rows:
            return
        rows = pa.array(np.arange(table.num_rows, dtype=np.int64))
        numbered = table.select(list(key)).append_column("_row", rows)
        last = numbered.group_by(list(key), use_threads=False).aggregate([("_row", "max")])
        picked = np.sort(last.column("_row_max").to_numpy())
        if len(picked) < table.num_rows:
            table = table.take(pa.array(picked))
        if order_by is not None:
            table = table.sort_by(order_by)  # stable: equal times keep batch order
        keys = ", ".join(_q(k) for k in key)
        self._upsert(
            table,
            schema,
            f"INSERT INTO {target} ({_cols(schema)}) SELECT {_staged(schema)} FROM {_STAGE} "
            f"ON CONFLICT ({keys}) DO UPDATE SET {_updates(schema, key)}",
        )

    def _insert_new(
        self, target: str, table: pa.Table, schema: pa.Schema, key: Sequence[str]
    ) -> None:
        self._upsert(
            table,
            schema,
            f"INSERT INTO {target} ({_cols(schema)}) SELECT {_staged(schema)} FROM {_STAGE} "
            f"ON CONFLICT ({', '.join(_q(k) for k in key)}) DO NOTHING",
        )

    # segments ------------------------------------------------------------------
    def upsert_segments(self, segments: pa.Table) -> None:
        self._replace_by_key("segments", segments, SEGMENT_SCHEMA, ["segment_id"])

    def insert_missing_segments(self, segments: pa.Table) -> None:
        self._insert_new("segments", segments, SEGMENT_SCHEMA, ["segment_id"])

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
        # The key (migration 0002) leads with segment and time: a resent event
        # has all three the same, so it is stored once.
        self._insert_new("events", events, EVENT_SCHEMA, ["segment_id", "timestamp", "event_id"])

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
        # Time has only a BRIN (migration 0002), which cannot give a max, so
        # this takes each segment's newest event from the key (segment_id,
        # "timestamp", ...): one index descent per segment, not a scan of all
        # events. Without a segment list the segments are found by skipping
        # through the key (a loose index scan).
        if segment_ids is None:
            segments = (
                "WITH RECURSIVE s(segment_id) AS (SELECT min(segment_id) FROM events "
                "UNION ALL SELECT (SELECT min(e.segment_id) FROM events e "
                "WHERE e.segment_id > s.segment_id) FROM s WHERE s.segment_id IS NOT NULL) "
            )
            source, params = "s", []
        else:
            segments = ""
            source, params = "unnest(%s::text[]) AS s(segment_id)", [list(segment_ids)]
        with self._connection() as conn:
            row = conn.execute(
                f"{segments}SELECT {_to_ms('max(n.newest)')} FROM {source} "
                'CROSS JOIN LATERAL (SELECT max(e."timestamp") AS newest FROM events e '
                "WHERE e.segment_id = s.segment_id) n",
                params,
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
            stored_windows(windows),
            STORED_WINDOW_SCHEMA,
            ["segment_id", "window_minutes", "window_start"],
            order_by="window_start",
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
            f"SELECT * FROM (SELECT {_selected(STORED_WINDOW_SCHEMA)} FROM window_aggregates "
            f"WHERE segment_id = %s AND window_minutes = %s{extra} "
            "ORDER BY window_start DESC LIMIT %s) w ORDER BY window_start",
            STORED_WINDOW_SCHEMA,
            params,
        )

    def windows_between(self, window_minutes: int, start_ms: int, end_ms: int) -> pa.Table:
        return self._read(
            f"SELECT {_selected(STORED_WINDOW_SCHEMA)} FROM window_aggregates "
            f"WHERE window_minutes = %s AND window_start >= {_MS} AND window_start < {_MS} "
            "ORDER BY window_start, segment_id",
            STORED_WINDOW_SCHEMA,
            [window_minutes, start_ms, end_ms],
        )

    def window_span(
        self, window_minutes: int, start_ms: int, end_ms: int
    ) -> tuple[int, int] | None:
        with self._connection() as conn:
            row = conn.execute(
                f"SELECT {_to_ms('min(window_start)')}, {_to_ms('max(window_start)')} "
                "FROM window_aggregates WHERE window_minutes = %s "
                f"AND window_start >= {_MS} AND window_start < {_MS}",
                [window_minutes, start_ms, end_ms],
            ).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def insert_predictions(self, predictions: pa.Table) -> None:
        """Upsert forecast issues into the history and make them the latest.

        Both tables hold arrays (migration 0002): the history one row per
        issue, latest_predictions one row per segment. Writes stay keyed per
        (segment, issue, horizon, model) as before: a horizon written again
        replaces its old values and the issue's other horizons stay.

        latest_predictions keeps DuckDB's rule (decision 0006): for a segment
        and horizon, the batch's newest issue (per model) replaces every stored
        entry at most as new, whatever its model, and is only added when no
        newer entry remains. The rule crosses models, so it is applied to the
        segment's one row inside ON CONFLICT, which locks that row: a concurrent
        writer of the same segment (another replica's replay) merges into the
        other's result instead of overwriting it.
        """
        if not predictions.num_rows:
            return
        issues = _issues(predictions)
        schema = _ISSUE_SCHEMA
        arrays = ", ".join(_q(c) for c in _ISSUE_ARRAYS)
        merged_issue = (
            f"SELECT {_from_ms('min(m.target_ms)')}, {_from_ms('max(m.target_ms)')}, "
            + ", ".join(f"array_agg(m.{_q(c)} ORDER BY m.horizon_minutes)" for c in _ISSUE_ARRAYS)
            + f" FROM (SELECT * FROM {_unnest('n', _ISSUE_ARRAYS, 'excluded.')} UNION ALL "
            f"SELECT * FROM {_unnest('o', _ISSUE_ARRAYS, 'predictions.')} "
            "WHERE o.horizon_minutes <> ALL (excluded.horizon_minutes)) m"
        )
        latest = ", ".join(_q(c) for c in (*_LATEST_ARRAYS, *_LATEST_BOUNDS))
        if len(issues.column("segment_id").combine_chunks().unique()) == issues.num_rows:
            # The usual batch, one issue per segment (one cycle of one model):
            # the issue row is already the segment's batch entry.
            n = "ARRAY[cardinality(s.horizon_minutes)]"
            batch = (
                f"SELECT s.segment_id, s.horizon_minutes, array_fill(s.model_version, {n}), "
                f"array_fill(s.issued_at, {n}), "
                + ", ".join(f"s.{_q(c)}" for c in _ISSUE_ARRAYS[1:])
                + f", s.issued_at, s.issued_at FROM {_STAGE} s"
            )
        else:
            # Several issues of a segment (a catch-up, several models): its
            # newest issue per horizon and model. No ORDER BY in array_agg: no
            # reader or merge depends on the order of a row's entries.
            batch = (
                "SELECT b.segment_id, "
                + ", ".join(f"array_agg(b.{_q(c)})" for c in _LATEST_ARRAYS)
                + ", min(b.issued_ms), max(b.issued_ms) FROM (SELECT DISTINCT ON "
                "(s.segment_id, u.horizon_minutes, s.model_version) s.segment_id, "
                "u.horizon_minutes, s.model_version, s.issued_at AS issued_ms, "
                + ", ".join(f"u.{_q(c)}" for c in _ISSUE_ARRAYS[1:])
                + f" FROM {_STAGE} s CROSS JOIN LATERAL {_unnest('u', _ISSUE_ARRAYS, 's.')} "
                "ORDER BY s.segment_id, u.horizon_minutes, s.model_version, s.issued_at DESC"
                ") b GROUP BY b.segment_id"
            )
        # Per horizon: the stored entries newer than the batch's newest stay;
        # if none does, the batch's entries take their place. The usual case,
        # a newer issue with every stored horizon, replaces the row outright:
        # the gate is a one-time filter, so the merge then never runs.
        superseded = (
            "excluded.horizon_minutes @> latest_predictions.horizon_minutes AND "
            "latest_predictions.newest_issue_ms <= excluded.oldest_issue_ms"
        )
        replaced = ", ".join(f"excluded.{_q(c)}" for c in (*_LATEST_ARRAYS, *_LATEST_BOUNDS))
        merged = (
            f"WITH n AS (SELECT * FROM {_unnest('n', _LATEST_ARRAYS, 'excluded.')}), "
            f"o AS (SELECT * FROM {_unnest('o', _LATEST_ARRAYS, 'latest_predictions.')} "
            "WHERE o.issued_ms > ALL (SELECT n.issued_ms FROM n "
            "WHERE n.horizon_minutes = o.horizon_minutes)), "
            "r AS (SELECT * FROM o UNION ALL SELECT * FROM n "
            "WHERE n.horizon_minutes NOT IN (SELECT o.horizon_minutes FROM o)) SELECT "
            + ", ".join(
                f'array_agg(r.{_q(c)} ORDER BY r.horizon_minutes, r.model_version COLLATE "C")'
                for c in _LATEST_ARRAYS
            )
            + ", min(r.issued_ms), max(r.issued_ms) FROM r"
        )
        self._upsert(
            issues,
            schema,
            f"INSERT INTO predictions ({_cols(schema)}) SELECT {_staged(schema)} FROM {_STAGE} "
            f"ON CONFLICT (segment_id, issued_at, model_version) DO UPDATE SET "
            f"(first_target, last_target, {arrays}) = ({merged_issue})",
            f"INSERT INTO latest_predictions (segment_id, {latest}) {batch} "
            f"ON CONFLICT (segment_id) DO UPDATE SET ({latest}) = (SELECT {replaced} "
            f"WHERE {superseded} UNION ALL SELECT * FROM ({merged}) m WHERE NOT ({superseded}))",
        )

    def latest_predictions(self, segment_id: str | None, limit: int) -> pa.Table:
        # The same id the stream processor gives an issue (see forecasts_table).
        cols = (
            "l.segment_id || '@' || u.issued_ms || '/' || u.model_version AS prediction_id, "
            "l.segment_id, u.issued_ms AS issued_at, u.horizon_minutes, "
            "u.target_ms AS target_time, "
            + ", ".join(f"u.{_q(v)}" for v in _VALUES)
            + ", u.model_version, "
            + _INPUT_FILL.format(col="u.input_fill")
        )
        rows = f"latest_predictions l CROSS JOIN LATERAL {_unnest('u', _LATEST_ARRAYS, 'l.')}"
        if segment_id is not None:
            return self._read(
                f"SELECT {cols} FROM {rows} WHERE l.segment_id = %s "
                'ORDER BY u.horizon_minutes, u.model_version COLLATE "C" LIMIT %s',
                STORED_PREDICTION_SCHEMA,
                [segment_id, limit],
            )
        return self._read(
            f"SELECT {cols} FROM {rows} ORDER BY u.issued_ms DESC, l.segment_id, "
            'u.horizon_minutes, u.model_version COLLATE "C" LIMIT %s',
            STORED_PREDICTION_SCHEMA,
            [limit],
        )

    def latest_predictions_at(self, horizon_minutes: int) -> pa.Table:
        # As latest_predictions: one row per segment whose arrays hold the
        # newest issue per horizon, or several models' forecasts of one issue.
        cols = (
            "l.segment_id || '@' || u.issued_ms || '/' || u.model_version AS prediction_id, "
            "l.segment_id, u.issued_ms AS issued_at, u.horizon_minutes, "
            "u.target_ms AS target_time, "
            + ", ".join(f"u.{_q(v)}" for v in _VALUES)
            + ", u.model_version, "
            + _INPUT_FILL.format(col="u.input_fill")
        )
        rows = f"latest_predictions l CROSS JOIN LATERAL {_unnest('u', _LATEST_ARRAYS, 'l.')}"
        return self._read(
            f"SELECT DISTINCT ON (l.segment_id) {cols} FROM {rows} WHERE u.horizon_minutes = %s "
            'ORDER BY l.segment_id, u.issued_ms DESC, u.model_version COLLATE "C"',
            STORED_PREDICTION_SCHEMA,
            [horizon_minutes],
        )

    def window_start_range(self, window_minutes: int) -> tuple[int, int] | None:
        # window_start has only a BRIN (migration 0002), which cannot give a
        # min or max: each segment's first and last window come from the key
        # (segment_id, window_minutes, window_start), the segments found by
        # skipping through it (a loose index scan), as in max_event_ms.
        query = (
            "WITH RECURSIVE s(segment_id) AS (SELECT min(segment_id) FROM window_aggregates "
            "UNION ALL SELECT (SELECT min(w.segment_id) FROM window_aggregates w "
            "WHERE w.segment_id > s.segment_id) FROM s WHERE s.segment_id IS NOT NULL) "
            f"SELECT {_to_ms('min(b.lo)')}, {_to_ms('max(b.hi)')} FROM s CROSS JOIN LATERAL "
            "(SELECT min(w.window_start) AS lo, max(w.window_start) AS hi "
            "FROM window_aggregates w WHERE w.segment_id = s.segment_id "
            "AND w.window_minutes = %s) b"
        )
        with self._connection() as conn:
            row = conn.execute(query, [window_minutes]).fetchone()
        if row is None or row[0] is None:
            return None
        return int(row[0]), int(row[1])

    def count_forecast_issues(
        self, start_ms: int, end_ms: int, segment_ids: Sequence[str] | None = None
    ) -> int:
        # One row per issue (migration 0002's key: segment, issued_at, model).
        only, params = _segment_filter(segment_ids)
        return self._scalar(
            f"SELECT count(*) FROM predictions WHERE issued_at >= {_MS} AND issued_at < {_MS}"
            + only,
            [start_ms, end_ms, *params],
        )

    def forecast_history(
        self, segment_id: str, horizon_minutes: int, start_ms: int, end_ms: int
    ) -> pa.Table:
        # The key's segment_id prefix finds the segment's issues; first/last_target
        # skip those aimed wholly outside the range before their arrays are unnested.
        # A target is never before its issue, so issued_at < end bounds the index scan.
        cols = (
            f"p.segment_id || '@' || {_to_ms('p.issued_at')} || '/' || p.model_version "
            f"AS prediction_id, p.segment_id, {_to_ms('p.issued_at')} AS issued_at, "
            "u.horizon_minutes, u.target_ms AS target_time, "
            + ", ".join(f"u.{_q(v)}" for v in _VALUES)
            + ", p.model_version, "
            + _INPUT_FILL.format(col="u.input_fill")
        )
        return self._read(
            f"SELECT {cols} FROM predictions p CROSS JOIN LATERAL "
            f"{_unnest('u', _ISSUE_ARRAYS, 'p.')} "
            f"WHERE p.segment_id = %s AND p.issued_at < {_MS} "
            f"AND p.last_target >= {_MS} AND p.first_target < {_MS} "
            "AND u.horizon_minutes = %s AND u.target_ms >= %s AND u.target_ms < %s "
            'ORDER BY u.target_ms, p.issued_at, p.model_version COLLATE "C"',
            STORED_PREDICTION_SCHEMA,
            [segment_id, end_ms, start_ms, end_ms, horizon_minutes, start_ms, end_ms],
        )

    def upsert_alerts(self, alerts: pa.Table) -> pa.Table:
        if not alerts.num_rows:
            return ALERT_RECORD_SCHEMA.empty_table()
        t = pipeline_rows(alerts)
        with self.transaction():
            self._upsert(
                t,
                ALERT_WRITE_SCHEMA,
                f"INSERT INTO alerts ({_cols(ALERT_WRITE_SCHEMA)}) "
                f"SELECT {_staged(ALERT_WRITE_SCHEMA)} FROM {_STAGE} "
                f"ON CONFLICT (alert_id) DO UPDATE SET {UPSERT_SET}",
            )
            return self._read(
                f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = ANY(%s::text[])",
                ALERT_RECORD_SCHEMA,
                [t.column("alert_id").to_pylist()],
            )

    def alerts(self, state: str | None, limit: int) -> pa.Table:
        return self.query_alerts(AlertQuery(None if state is None else (state,), limit=limit))

    def query_alerts(self, query: AlertQuery) -> pa.Table:
        where, params = alert_filters(query, _DIALECT)
        return self._read(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} "
            "ORDER BY opened_at DESC, alert_id LIMIT %s",
            ALERT_RECORD_SCHEMA,
            [*params, query.limit],
        )

    def alert(self, alert_id: str) -> pa.Table:
        return self._read(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE alert_id = %s",
            ALERT_RECORD_SCHEMA,
            [alert_id],
        )

    def update_alert(
        self, alert_id: str, state: str, note: str | None, at_ms: int, by: str | None = None
    ) -> AlertUpdate:
        sql = (
            f"UPDATE alerts SET {update_set(state, _DIALECT)} "
            f"WHERE alert_id = %s AND state IN ({ACTIVE_SQL}) RETURNING alert_id"
        )
        with self.transaction():
            with self._connection() as conn:
                changed = (
                    conn.execute(sql, [*update_params(state, note, at_ms, by), alert_id]).fetchone()
                    is not None
                )
            return AlertUpdate(self.alert(alert_id), changed)

    def summary(self, query: SummaryQuery) -> tuple[dict[str, float], pa.Table]:
        where, params = summary_filters(query, "w.window_start", "w.segment_id", _DIALECT)
        where = ["w.window_minutes = %s", *where]
        params = [query.window_minutes, *params]
        clause = " AND ".join(where)
        hours = query.window_minutes / 60.0
        alert_where, alert_params = summary_filters(query, "opened_at", "segment_id", _DIALECT)
        alert_where = ["alert_type = 'incident'", *alert_where]
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

    def summary_by_day(self, query: SummaryQuery) -> pa.Table:
        # The same filters and expressions as summary's totals, grouped by UTC day.
        where, params = summary_filters(query, "window_start", "segment_id", _DIALECT)
        clause = " AND ".join(["window_minutes = %s", *where])
        alert_where, alert_params = summary_filters(query, "opened_at", "segment_id", _DIALECT)
        alert_clause = " AND ".join(["alert_type = 'incident'", *alert_where])
        return self._read(
            # A UTC date minus the epoch date is the day number, and cheaper than
            # numeric arithmetic on extract(epoch).
            "WITH w AS (SELECT (window_start AT TIME ZONE 'UTC')::date - date '1970-01-01' AS d, "
            "sum(count)::int8 AS total_events, sum(mean_speed) AS speed_sum, "
            "count(mean_speed) AS speed_count, sum(volume) AS volume_sum, "
            "count(volume) AS volume_count, "
            "sum(CASE WHEN level_of_service IN ('E', 'F') THEN %s::float8 ELSE 0 END)::float8 "
            f"AS congestion_hours FROM window_aggregates WHERE {clause} GROUP BY 1), "
            "a AS (SELECT (opened_at AT TIME ZONE 'UTC')::date - date '1970-01-01' AS d, "
            f"count(*) AS n FROM alerts WHERE {alert_clause} GROUP BY 1) "
            "SELECT coalesce(w.d, a.d)::int8 * 86400000 AS day, coalesce(w.total_events, 0), "
            "w.speed_sum, coalesce(w.speed_count, 0), w.volume_sum, "
            "coalesce(w.volume_count, 0), coalesce(w.congestion_hours, 0), coalesce(a.n, 0) "
            "FROM w FULL OUTER JOIN a ON w.d = a.d ORDER BY day",
            DAILY_SUMMARY_SCHEMA,
            [query.window_minutes / 60.0, query.window_minutes, *params, *alert_params],
        )

    def forecast_accuracy(self, query: AccuracyQuery) -> pa.Table:
        """Forecasts scored against the 5-minute windows that closed at their target time.

        Keys are enforced here, so each window and each forecast issue is one
        row already (the newest written), which is what DuckDB's deduplication
        picks. DuckDB's `NOT isnan(x)` is `x <> 'NaN'` here: PostgreSQL's NaN
        equals itself, and a comparison with null is null, so both drop nulls
        and NaNs alike.
        """
        filters = accuracy_filters(query, _DIALECT)
        window_filter, window_params = filters.windows, filters.window_params
        prediction_filter, prediction_params = filters.predictions, filters.prediction_params
        bucket_ms = query.bucket_minutes * 60_000
        start, end = query.start_ms, query.end_ms
        schema = ACCURACY_SCHEMA.set(0, pa.field("bucket_ms", pa.int64()))
        table = self._read(
            # The join compares epoch ms, which the arrays hold, rather than
            # building a timestamptz per forecast. w is MATERIALIZED because the
            # planner cannot estimate unnested rows: given the choice, it
            # probed the windows once per forecast (a nested loop, 50x slower
            # on an hour of 1 000 segments) or sorted all forecasts once per
            # parallel worker; a CTE scan leaves it a hash or merge join.
            "WITH w AS MATERIALIZED (SELECT segment_id, "
            f"{_to_ms('window_end')} AS end_ms, mean_speed, volume "
            "FROM window_aggregates WHERE window_minutes = 5 "
            f"AND window_end >= {_MS} AND window_end < {_MS}{window_filter}), "
            # An issue's horizons are unnested only when its target times
            # reach into the range (first/last_target, which the BRIN serves).
            # unnest() in the select list streams the arrays in step, about
            # twice as fast as a lateral unnest(a, b, ...), which materialises.
            "p AS (SELECT segment_id, model_version, "
            + ", ".join(f"unnest({_q(c)}) AS {_q(c)}" for c in _PREDICTION_SCORED)
            + f" FROM predictions WHERE last_target >= {_MS} AND first_target < {_MS}"
            f"{prediction_filter}), "
            "e AS (SELECT p.target_ms AS t, p.model_version, p.horizon_minutes, "
            "p.predicted_speed - w.mean_speed AS err, w.mean_speed AS actual, "
            "p.speed_lower, p.speed_upper, p.predicted_volume - w.volume AS volume_err "
            "FROM p JOIN w ON w.segment_id = p.segment_id AND w.end_ms = p.target_ms "
            # No range test on p.target_ms: the join to w, whose window_end is
            # in range, implies it, and the planner would take that test on
            # unnested values for a selective one and pick a nested loop.
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

    # notification attempts -----------------------------------------------------
    def add_notification_attempts(self, attempts: Sequence[NotificationAttempt]) -> None:
        if not attempts:
            return
        with self._connection() as conn, conn.cursor() as cur:
            cur.executemany(
                notification_sql.insert("%s"), [notification_sql.params(a) for a in attempts]
            )

    def notification_attempts(self, alert_id: str, limit: int = 1000) -> list[NotificationAttempt]:
        with self._connection() as conn:
            rows = conn.execute(notification_sql.select("%s"), [alert_id, limit]).fetchall()
        return [notification_sql.from_row(r) for r in rows]

    # data quality --------------------------------------------------------------
    def detector_day_stats(self, start_ms: int, end_ms: int, max_plausible_mph: float) -> pa.Table:
        query = DETECTOR_STATS_SQL.format(p="%s", to_ms=_to_ms('"timestamp"'), time=_MS)
        with self._connection() as conn:
            rows = conn.execute(query, [max_plausible_mph, start_ms, end_ms]).fetchall()
        return pa.Table.from_pylist(
            [dict(zip(DETECTOR_DAY_STATS_SCHEMA.names, r, strict=True)) for r in rows],
            schema=DETECTOR_DAY_STATS_SCHEMA,
        )

    # accounts ------------------------------------------------------------------
    def add_user(self, user: UserRecord) -> None:
        try:
            with self._connection() as conn:
                conn.execute(account_sql.insert_user("%s"), account_sql.user_params(user))
        except psycopg.errors.UniqueViolation as exc:
            raise AccountExists(f"user {user.username!r} already exists") from exc

    def update_user(self, user: UserRecord) -> bool:
        with self._connection() as conn:
            cur = conn.execute(account_sql.update_user("%s"), account_sql.user_update_params(user))
            return cur.rowcount > 0

    def users(self) -> list[UserRecord]:
        with self._connection() as conn:
            rows = conn.execute(account_sql.SELECT_USERS).fetchall()
        return [account_sql.user_from_row(r) for r in rows]

    def add_api_key(self, key: ApiKeyRecord) -> None:
        try:
            with self._connection() as conn:
                conn.execute(account_sql.insert_key("%s"), account_sql.key_params(key))
        except psycopg.errors.UniqueViolation as exc:
            raise AccountExists(f"API key prefix {key.prefix!r} already exists") from exc

    def revoke_api_key(self, prefix: str, at_ms: int) -> ApiKeyRecord | None:
        with self._connection() as conn:
            row = conn.execute(account_sql.revoke_key("%s"), [at_ms, prefix]).fetchone()
        return None if row is None else account_sql.key_from_row(row)

    def api_keys(self) -> list[ApiKeyRecord]:
        with self._connection() as conn:
            rows = conn.execute(account_sql.SELECT_KEYS).fetchall()
        return [account_sql.key_from_row(r) for r in rows]

    # whole tables (backup and restore) ------------------------------------------
    def schema_revision(self) -> str:
        return migrate.current(self.url) or "none"

    def count_rows(self, table: str) -> int:
        return self._scalar(f'SELECT count(*) FROM "{checked_table(table)}"')

    def read_table(self, table: str, batch_rows: int) -> Iterator[pa.RecordBatch]:
        name = checked_table(table)
        with self._connection() as conn:
            schema = _table_schema(conn, name)
            query = pgsql.SQL("SELECT {} FROM {}").format(
                pgsql.SQL(", ").join(pgsql.Identifier(c) for c in schema.names),
                pgsql.Identifier(name),
            )
            # A server-side cursor: the rows come batch_rows at a time, never all at once.
            with conn.cursor(name=f"read_{name}") as cur:
                cur.execute(query)
                empty = True
                while rows := cur.fetchmany(batch_rows):
                    empty = False
                    columns = zip(*rows, strict=True)
                    yield pa.RecordBatch.from_arrays(
                        [pa.array(c, f.type) for c, f in zip(columns, schema, strict=True)],
                        schema=schema,
                    )
                if empty:  # the columns, even without rows
                    yield pa.RecordBatch.from_pylist([], schema=schema)

    def append_rows(self, table: str, batch: pa.RecordBatch) -> None:
        name = checked_table(table)
        with self._connection() as conn:
            unknown = set(batch.schema.names) - set(_table_schema(conn, name).names)
            if unknown:
                raise ValueError(f"table {name} has no columns {sorted(unknown)}")
            statement = pgsql.SQL("COPY {} ({}) FROM STDIN").format(
                pgsql.Identifier(name),
                pgsql.SQL(", ").join(pgsql.Identifier(c) for c in batch.schema.names),
            )
            values = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            with conn.cursor() as cur, cur.copy(statement) as copy:
                for row in zip(*values, strict=True):
                    copy.write_row(row)

    def delete_rows(self, table: str) -> None:
        with self._connection() as conn:
            conn.execute(pgsql.SQL("DELETE FROM {}").format(pgsql.Identifier(checked_table(table))))

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


_ALERT_COLUMNS = _selected(ALERT_RECORD_SCHEMA, {"updated_at": _to_ms(UPDATED_AT)})


def _segment_filter(segment_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    if segment_ids is None:
        return "", []
    return " AND segment_id = ANY(%s::text[])", [list(segment_ids)]


_ARROW_OF_UDT: dict[str, pa.DataType] = {
    "text": pa.string(),
    "varchar": pa.string(),
    "float8": pa.float64(),
    "float4": pa.float32(),
    "int2": pa.int16(),
    "int4": pa.int32(),
    "int8": pa.int64(),
    "bool": pa.bool_(),
    "timestamptz": pa.timestamp("us", tz="UTC"),
}


def _table_schema(conn: psycopg.Connection[Any], table: str) -> pa.Schema:
    """The table's columns as Arrow fields (arrays as lists), in their stored order."""
    rows = conn.execute(
        "SELECT column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = %s ORDER BY ordinal_position",
        [table],
    ).fetchall()
    fields = []
    for column, udt in rows:
        inner = _ARROW_OF_UDT.get(udt.removeprefix("_"))
        if inner is None:
            raise ValueError(f"column {table}.{column} has a type backup does not know: {udt}")
        fields.append(pa.field(column, pa.list_(inner) if udt.startswith("_") else inner))
    return pa.schema(fields)
