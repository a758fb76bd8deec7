"""Column schemas shared by every part of the pipeline.

Events, segments and links move between components as Arrow tables with these
exact schemas, so a source, the bus, the stream processor and every store
adapter agree on names, types and units without per-row conversion.
"""

from __future__ import annotations

import pyarrow as pa

TIMESTAMP = pa.timestamp("ms", tz="UTC")

# One sensor reading per row. Units: speed in mph, volume in vehicles per
# reading interval, occupancy in percent (0-100), quality_score in [0, 1].
# Optional numeric fields are NaN when the reading did not carry them.
EVENT_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("speed", pa.float64(), nullable=False),
        pa.field("volume", pa.float64()),
        pa.field("occupancy", pa.float64()),
        pa.field("latitude", pa.float64()),
        pa.field("longitude", pa.float64()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("quality_score", pa.float64(), nullable=False),
    ]
)

# Static description of a road segment (one detector station or link).
# geometry is a JSON array of [longitude, latitude] points along the road in the
# direction of travel; it may be null for point detectors.
SEGMENT_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("name", pa.string()),
        pa.field("road", pa.string()),
        pa.field("direction", pa.string()),
        pa.field("latitude", pa.float64()),
        pa.field("longitude", pa.float64()),
        pa.field("free_flow_speed", pa.float64()),
        pa.field("length_miles", pa.float64()),
        pa.field("lanes", pa.int32()),
        pa.field("geometry", pa.string()),
    ]
)

# Directed road-graph edges: traffic flows from `from_segment` (upstream) to
# `to_segment` (downstream); weight in (0, 1], larger means closer.
LINK_SCHEMA = pa.schema(
    [
        pa.field("from_segment", pa.string(), nullable=False),
        pa.field("to_segment", pa.string(), nullable=False),
        pa.field("weight", pa.float64(), nullable=False),
    ]
)


# One closed tumbling window of one segment; keyed by (segment_id, window_minutes, window_start).
WINDOW_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("window_minutes", pa.int32(), nullable=False),
        pa.field("window_start", TIMESTAMP, nullable=False),
        pa.field("window_end", TIMESTAMP, nullable=False),
        pa.field("mean_speed", pa.float64()),
        pa.field("harmonic_mean_speed", pa.float64()),
        pa.field("volume", pa.float64()),
        pa.field("occupancy", pa.float64()),
        pa.field("count", pa.int64(), nullable=False),
        pa.field("quality", pa.float64()),
        pa.field("level_of_service", pa.string()),
        pa.field("updated_at", TIMESTAMP, nullable=False),
    ]
)

# A window as stored and served: WINDOW_SCHEMA plus how it was filled (stream/gap_fill.py):
# observed (it had readings), imputed_neighbours, imputed_profile, or missing. Tables
# without `fill` given to a store count as observed where they had readings.
STORED_WINDOW_SCHEMA = WINDOW_SCHEMA.append(pa.field("fill", pa.string(), nullable=False))

# One forecast of one segment for one horizon; keyed by
# (segment_id, issued_at, horizon_minutes, model_version). target_time is the
# end of the 5-minute window forecast. prediction_id names one issue (all
# horizons of a segment forecast together share it).
PREDICTION_SCHEMA = pa.schema(
    [
        pa.field("prediction_id", pa.string(), nullable=False),
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("issued_at", TIMESTAMP, nullable=False),
        pa.field("horizon_minutes", pa.int32(), nullable=False),
        pa.field("target_time", TIMESTAMP, nullable=False),
        pa.field("predicted_speed", pa.float64()),
        pa.field("speed_lower", pa.float64()),
        pa.field("speed_upper", pa.float64()),
        pa.field("predicted_volume", pa.float64()),
        pa.field("volume_lower", pa.float64()),
        pa.field("volume_upper", pa.float64()),
        pa.field("confidence", pa.float64()),
        pa.field("model_version", pa.string(), nullable=False),
    ]
)

# A forecast as stored and served: PREDICTION_SCHEMA plus the fill (domain/fill.py) of
# the segment's 5-minute window it was issued from, so a forecast made over a silent
# detector says so. Null for forecasts stored before it was recorded, and for those made
# on demand (their input is whatever the API process last learned).
STORED_PREDICTION_SCHEMA = PREDICTION_SCHEMA.append(pa.field("input_fill", pa.string()))

# The newest reading of each segment (what the live map shows first).
LATEST_READING_SCHEMA = pa.schema(
    [
        pa.field("segment_id", pa.string(), nullable=False),
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("speed", pa.float64()),
        pa.field("volume", pa.float64()),
        pa.field("occupancy", pa.float64()),
        pa.field("source", pa.string()),
    ]
)

ALERT_SCHEMA = pa.schema(
    [
        pa.field("alert_id", pa.string(), nullable=False),
        pa.field("alert_type", pa.string(), nullable=False),
        pa.field("severity", pa.string(), nullable=False),
        pa.field("segment_id", pa.string()),
        pa.field("state", pa.string(), nullable=False),
        pa.field("opened_at", TIMESTAMP, nullable=False),
        pa.field("resolved_at", TIMESTAMP),
        pa.field("message", pa.string()),
    ]
)

# Forecast accuracy per (bucket_start, model_version, horizon_minutes): stored
# forecasts scored against the 5-minute windows that later closed at their
# target_time. n counts forecasts with both a predicted and an actual speed;
# speed_mape is in percent over actuals > 0, speed_bias is mean(predicted -
# actual) and speed_coverage the share of actuals inside [speed_lower,
# speed_upper]. Metrics with nothing to average over are null.
ACCURACY_SCHEMA = pa.schema(
    [
        pa.field("bucket_start", TIMESTAMP, nullable=False),
        pa.field("model_version", pa.string(), nullable=False),
        pa.field("horizon_minutes", pa.int32(), nullable=False),
        pa.field("n", pa.int64(), nullable=False),
        pa.field("speed_mae", pa.float64()),
        pa.field("speed_rmse", pa.float64()),
        pa.field("speed_mape", pa.float64()),
        pa.field("speed_bias", pa.float64()),
        pa.field("speed_coverage", pa.float64()),
        pa.field("volume_mae", pa.float64()),
    ]
)

# The analytics summary's totals as additive parts per UTC day (window_start
# for windows, opened_at for incidents), so any calendar bucket made of whole
# days sums them: an average is speed_sum / speed_count. A NaN speed or volume
# is counted and makes its sum NaN, as it makes the summary's average NaN.
DAILY_SUMMARY_SCHEMA = pa.schema(
    [
        pa.field("day", TIMESTAMP, nullable=False),
        pa.field("total_events", pa.int64(), nullable=False),
        pa.field("speed_sum", pa.float64()),
        pa.field("speed_count", pa.int64(), nullable=False),
        pa.field("volume_sum", pa.float64()),
        pa.field("volume_count", pa.int64(), nullable=False),
        pa.field("congestion_hours", pa.float64(), nullable=False),
        pa.field("incident_count", pa.int64(), nullable=False),
    ]
)
