"""Cheaper writes: composite event key, BRIN time indexes, one forecast row per issue.

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-12

The processor's store writes were its bottleneck; each change here keeps the
writes keyed (a replay doubles nothing) and the Store contract unchanged.

- events: the key is (segment_id, "timestamp", event_id). A resent event has the
  same segment, time and id, so it is still stored once, and the key doubles as
  the (segment, time) index the API and the processor's restore use, so the two
  separate btrees go. Time-range scans use a BRIN: events arrive in time order,
  and a BRIN costs almost nothing to maintain.
- window_aggregates: the (window_minutes, window_start) btree becomes a BRIN on
  (window_start, window_end); window_end serves forecast_accuracy's range.
- predictions: one row per issue (segment_id, issued_at, model_version) with one
  array element per horizon, sorted by horizon. first_target/last_target bound
  the issue's target times so forecast_accuracy can skip issues by BRIN.
- latest_predictions: one row per segment, with one array element per
  (horizon, model) it holds: the "newest issue per segment and horizon, whatever
  the model" rule crosses models, so a segment's entries live in one row that
  ON CONFLICT locks and merges atomically.

Target and issue times inside arrays are epoch milliseconds (int8): that is the
form they are staged and read in, so no per-element conversion is needed.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _ms(column: str) -> str:
    return f"(extract(epoch FROM {column}) * 1000)::int8"


def _from_ms(column: str) -> str:
    return f"(timestamptz 'epoch' + {column} * interval '1 millisecond')"


_VALUES = (
    "predicted_speed",
    "speed_lower",
    "speed_upper",
    "predicted_volume",
    "volume_lower",
    "volume_upper",
    "confidence",
)
_VALUE_ARRAYS = ",\n    ".join(f"{v} float8[] NOT NULL" for v in _VALUES)
_VALUE_COLUMNS = ", ".join(_VALUES)

_UPGRADE = f"""
ALTER TABLE events DROP CONSTRAINT events_pkey;
DROP INDEX events_segment_time;
DROP INDEX events_time;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (segment_id, "timestamp", event_id);
CREATE INDEX events_time ON events USING brin ("timestamp") WITH (autosummarize = on);

DROP INDEX window_aggregates_minutes_start;
CREATE INDEX window_aggregates_time ON window_aggregates
    USING brin (window_start, window_end) WITH (autosummarize = on);

ALTER TABLE predictions RENAME TO predictions_0001;
ALTER INDEX predictions_pkey RENAME TO predictions_0001_pkey;
DROP INDEX predictions_target_time;
CREATE TABLE predictions (
    segment_id text COLLATE "C" NOT NULL,
    issued_at timestamptz NOT NULL,
    model_version text COLLATE "C" NOT NULL,
    first_target timestamptz NOT NULL,
    last_target timestamptz NOT NULL,
    horizon_minutes int4[] NOT NULL,
    target_ms int8[] NOT NULL,
    {_VALUE_ARRAYS},
    PRIMARY KEY (segment_id, issued_at, model_version)
);
CREATE INDEX predictions_targets ON predictions
    USING brin (first_target, last_target) WITH (autosummarize = on);
INSERT INTO predictions
SELECT segment_id, issued_at, model_version, min(target_time), max(target_time),
    array_agg(horizon_minutes ORDER BY horizon_minutes),
    array_agg({_ms("target_time")} ORDER BY horizon_minutes),
    {", ".join(f"array_agg({v} ORDER BY horizon_minutes)" for v in _VALUES)}
FROM predictions_0001 GROUP BY segment_id, issued_at, model_version;
DROP TABLE predictions_0001;

ALTER TABLE latest_predictions RENAME TO latest_predictions_0001;
ALTER INDEX latest_predictions_pkey RENAME TO latest_predictions_0001_pkey;
CREATE TABLE latest_predictions (
    segment_id text COLLATE "C" PRIMARY KEY,
    horizon_minutes int4[] NOT NULL,
    model_version text[] COLLATE "C" NOT NULL,
    issued_ms int8[] NOT NULL,
    target_ms int8[] NOT NULL,
    {_VALUE_ARRAYS},
    -- The row's oldest and newest issued_ms: whether a newer batch replaces
    -- the whole row is then known without unnesting it.
    oldest_issue_ms int8 NOT NULL,
    newest_issue_ms int8 NOT NULL
);
INSERT INTO latest_predictions
SELECT segment_id,
    array_agg(horizon_minutes ORDER BY horizon_minutes, model_version),
    array_agg(model_version ORDER BY horizon_minutes, model_version),
    array_agg({_ms("issued_at")} ORDER BY horizon_minutes, model_version),
    array_agg({_ms("target_time")} ORDER BY horizon_minutes, model_version),
    {", ".join(f"array_agg({v} ORDER BY horizon_minutes, model_version)" for v in _VALUES)},
    min({_ms("issued_at")}), max({_ms("issued_at")})
FROM latest_predictions_0001 GROUP BY segment_id;
DROP TABLE latest_predictions_0001;
"""

_DOWNGRADE = f"""
ALTER TABLE latest_predictions RENAME TO latest_predictions_0002;
ALTER INDEX latest_predictions_pkey RENAME TO latest_predictions_0002_pkey;
CREATE TABLE latest_predictions (
    segment_id text COLLATE "C" NOT NULL,
    issued_at timestamptz NOT NULL,
    horizon_minutes integer NOT NULL,
    target_time timestamptz NOT NULL,
    predicted_speed float8,
    speed_lower float8,
    speed_upper float8,
    predicted_volume float8,
    volume_lower float8,
    volume_upper float8,
    confidence float8,
    model_version text COLLATE "C" NOT NULL,
    PRIMARY KEY (segment_id, horizon_minutes, model_version)
);
INSERT INTO latest_predictions
SELECT l.segment_id, {_from_ms("u.issued_ms")}, u.horizon_minutes, {_from_ms("u.target_ms")},
    {", ".join(f"u.{v}" for v in _VALUES)}, u.model_version
FROM latest_predictions_0002 l CROSS JOIN LATERAL unnest(
    l.horizon_minutes, l.model_version, l.issued_ms, l.target_ms,
    {", ".join(f"l.{v}" for v in _VALUES)}
) AS u(horizon_minutes, model_version, issued_ms, target_ms, {_VALUE_COLUMNS});
DROP TABLE latest_predictions_0002;

ALTER TABLE predictions RENAME TO predictions_0002;
ALTER INDEX predictions_pkey RENAME TO predictions_0002_pkey;
DROP INDEX predictions_targets;
CREATE TABLE predictions (
    segment_id text COLLATE "C" NOT NULL,
    issued_at timestamptz NOT NULL,
    horizon_minutes integer NOT NULL,
    target_time timestamptz NOT NULL,
    predicted_speed float8,
    speed_lower float8,
    speed_upper float8,
    predicted_volume float8,
    volume_lower float8,
    volume_upper float8,
    confidence float8,
    model_version text COLLATE "C" NOT NULL,
    PRIMARY KEY (segment_id, issued_at, horizon_minutes, model_version)
);
CREATE INDEX predictions_target_time ON predictions (target_time);
INSERT INTO predictions
SELECT p.segment_id, p.issued_at, u.horizon_minutes, {_from_ms("u.target_ms")},
    {", ".join(f"u.{v}" for v in _VALUES)}, p.model_version
FROM predictions_0002 p CROSS JOIN LATERAL unnest(
    p.horizon_minutes, p.target_ms, {", ".join(f"p.{v}" for v in _VALUES)}
) AS u(horizon_minutes, target_ms, {_VALUE_COLUMNS});
DROP TABLE predictions_0002;

DROP INDEX window_aggregates_time;
CREATE INDEX window_aggregates_minutes_start ON window_aggregates (window_minutes, window_start);

DROP INDEX events_time;
ALTER TABLE events DROP CONSTRAINT events_pkey;
-- event_id alone was the key before: keep one row of an id stored under
-- several segments or times (the composite key allowed that).
DELETE FROM events a USING events b WHERE a.event_id = b.event_id AND a.ctid > b.ctid;
ALTER TABLE events ADD CONSTRAINT events_pkey PRIMARY KEY (event_id);
CREATE INDEX events_segment_time ON events (segment_id, "timestamp");
CREATE INDEX events_time ON events ("timestamp");
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute(_DOWNGRADE)
