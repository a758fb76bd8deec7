"""Initial schema: the tables of the DuckDB store, with enforced keys and the API's indexes.

Revision ID: 0001
Revises:
Create Date: 2026-01-05

Unlike DuckDB (decision 0006), every table has its key enforced: replicas and a
processor replaying after a crash write with ON CONFLICT, so a replay never
doubles a row. Text is COLLATE "C" so ORDER BY gives DuckDB's byte order
whatever the database's locale (and compares faster).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = """
CREATE TABLE segments (
    segment_id text COLLATE "C" PRIMARY KEY,
    name text COLLATE "C",
    road text COLLATE "C",
    direction text COLLATE "C",
    latitude float8,
    longitude float8,
    free_flow_speed float8,
    length_miles float8,
    lanes integer,
    geometry text COLLATE "C"
);
CREATE TABLE segment_links (
    from_segment text COLLATE "C" NOT NULL,
    to_segment text COLLATE "C" NOT NULL,
    weight float8,
    PRIMARY KEY (from_segment, to_segment)
);
CREATE TABLE events (
    event_id text COLLATE "C" PRIMARY KEY,
    segment_id text COLLATE "C" NOT NULL,
    "timestamp" timestamptz NOT NULL,
    speed float8,
    volume float8,
    occupancy float8,
    latitude float8,
    longitude float8,
    source text COLLATE "C",
    quality_score float8
);
CREATE INDEX events_segment_time ON events (segment_id, "timestamp");
CREATE INDEX events_time ON events ("timestamp");
CREATE TABLE late_events (
    event_id text COLLATE "C" PRIMARY KEY,
    segment_id text COLLATE "C" NOT NULL,
    "timestamp" timestamptz NOT NULL,
    speed float8,
    volume float8,
    occupancy float8,
    latitude float8,
    longitude float8,
    source text COLLATE "C",
    quality_score float8,
    reason text COLLATE "C",
    recorded_at timestamptz
);
CREATE TABLE latest_readings (
    segment_id text COLLATE "C" PRIMARY KEY,
    "timestamp" timestamptz NOT NULL,
    speed float8,
    volume float8,
    occupancy float8,
    source text COLLATE "C"
);
CREATE TABLE window_aggregates (
    segment_id text COLLATE "C" NOT NULL,
    window_minutes integer NOT NULL,
    window_start timestamptz NOT NULL,
    window_end timestamptz NOT NULL,
    mean_speed float8,
    harmonic_mean_speed float8,
    volume float8,
    occupancy float8,
    count bigint NOT NULL,
    quality float8,
    level_of_service text COLLATE "C",
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (segment_id, window_minutes, window_start)
);
CREATE INDEX window_aggregates_minutes_start ON window_aggregates (window_minutes, window_start);
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
-- The key's leading (segment_id, issued_at) serves lookups by segment and issue
-- time, so that query needs no index of its own.
CREATE INDEX predictions_target_time ON predictions (target_time);
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
CREATE TABLE alerts (
    alert_id text COLLATE "C" PRIMARY KEY,
    alert_type text COLLATE "C" NOT NULL,
    severity text COLLATE "C" NOT NULL,
    segment_id text COLLATE "C",
    state text COLLATE "C" NOT NULL,
    opened_at timestamptz NOT NULL,
    resolved_at timestamptz,
    message text COLLATE "C"
);
CREATE INDEX alerts_state_opened ON alerts (state, opened_at);
CREATE TABLE processor_state (
    key text COLLATE "C" PRIMARY KEY,
    value text COLLATE "C"
);
"""

_DROP = """
DROP TABLE IF EXISTS processor_state, alerts, latest_predictions, predictions,
    window_aggregates, latest_readings, late_events, events, segment_links, segments;
"""


def upgrade() -> None:
    op.execute(_TABLES)


def downgrade() -> None:
    op.execute(_DROP)
