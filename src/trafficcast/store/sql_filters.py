"""SQL filter fragments the SQL adapters build alike, in their own placeholder style."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trafficcast.store.base import AccuracyQuery, SummaryQuery


@dataclass(frozen=True)
class Dialect:
    """How an adapter writes a parameter, an epoch-ms parameter as a time, and list
    membership of a column ({col} in `in_list`)."""

    param: str
    time: str
    in_list: str


def summary_filters(
    query: SummaryQuery, time_column: str, segment_column: str, dialect: Dialect
) -> tuple[list[str], list[Any]]:
    """Conditions (to AND together) and parameters for a summary's time range and segments."""
    where: list[str] = []
    params: list[Any] = []
    if query.start_ms is not None:
        where.append(f"{time_column} >= {dialect.time}")
        params.append(query.start_ms)
    if query.end_ms is not None:
        where.append(f"{time_column} < {dialect.time}")
        params.append(query.end_ms)
    if query.segment_ids:
        where.append(dialect.in_list.format(col=segment_column))
        params.append(list(query.segment_ids))
    return where, params


@dataclass
class AccuracyFilters:
    """Extra WHERE conditions (each starting with AND) for the windows and the forecasts."""

    windows: str = ""
    window_params: list[Any] = field(default_factory=list)
    predictions: str = ""
    prediction_params: list[Any] = field(default_factory=list)


def accuracy_filters(query: AccuracyQuery, dialect: Dialect) -> AccuracyFilters:
    f = AccuracyFilters()
    placeholder = dialect.param
    if query.segment_ids is not None:
        f.windows += " AND " + dialect.in_list.format(col="segment_id")
        f.window_params.append(list(query.segment_ids))
        f.predictions += " AND " + dialect.in_list.format(col="segment_id")
        f.prediction_params.append(list(query.segment_ids))
    if query.segment_id is not None:
        f.windows += f" AND segment_id = {placeholder}"
        f.window_params.append(query.segment_id)
        f.predictions += f" AND segment_id = {placeholder}"
        f.prediction_params.append(query.segment_id)
    if query.model_version is not None:
        f.predictions += f" AND model_version = {placeholder}"
        f.prediction_params.append(query.model_version)
    return f


# Per segment over a time range: reading count, distinct speeds, implausible readings and
# the longest gap between readings (epoch ms), for detector health. Placeholders: {p} a
# parameter, {to_ms} the timestamp column as epoch ms, {time} an epoch-ms parameter as a time.
DETECTOR_STATS_SQL = """
SELECT segment_id, count(*) AS samples, count(DISTINCT speed) AS distinct_speeds,
    count(*) FILTER (WHERE speed > {p} OR (speed = 0 AND volume > 0)) AS implausible,
    coalesce(max(gap), 0) AS max_gap_ms, min(t) AS first_ms, max(t) AS last_ms
FROM (SELECT segment_id, speed, volume, t,
             t - lag(t) OVER (PARTITION BY segment_id ORDER BY t) AS gap
      FROM (SELECT segment_id, speed, volume, {to_ms} AS t FROM events
            WHERE "timestamp" >= {time} AND "timestamp" < {time}) e) g
GROUP BY segment_id ORDER BY segment_id
"""
