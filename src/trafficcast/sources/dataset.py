"""Read recorded traffic data from a folder into events, segments and links.

Two layouts:
- wide (the research sets): `speed.csv` with `timestamp` then one column per
  sensor, optionally `flow.csv` and `occupancy.csv` of the same shape,
  `sensors.csv` (sensor_id, latitude, longitude) and `edges.csv`
  (from_sensor, to_sensor, weight | distance_m);
- long: one CSV or Parquet file (or a folder holding `events.csv` /
  `events.parquet`) with columns timestamp, segment_id, speed and optionally
  volume, occupancy.
Zero or empty readings are missing values and produce no event. Timestamps
without a zone are read in `timezone`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from trafficcast.domain.events import Limits, validate_columns
from trafficcast.domain.schema import LINK_SCHEMA, SEGMENT_SCHEMA, TIMESTAMP


class DatasetError(ValueError):
    """The folder does not hold data in a layout we read; the message says what is wrong."""


@dataclass
class Dataset:
    name: str
    events: pa.Table  # EVENT_SCHEMA, sorted by timestamp then segment
    segments: pa.Table  # SEGMENT_SCHEMA
    links: pa.Table  # LINK_SCHEMA
    rejected: int = 0

    @property
    def start_ms(self) -> int:
        return int(pc.min(self.events.column("timestamp")).cast(pa.int64()).as_py())

    @property
    def end_ms(self) -> int:
        return int(pc.max(self.events.column("timestamp")).cast(pa.int64()).as_py())


def load_dataset(
    path: str | Path,
    *,
    timezone: str = "America/Los_Angeles",
    start_ms: int | None = None,
    end_ms: int | None = None,
    links_file: str | Path | None = None,
) -> Dataset:
    """Load a dataset; `start_ms`/`end_ms` keep only readings in [start, end).

    The road graph is the folder's `edges.csv`, or `links_file` when given (a set
    published without its own graph, e.g. a subset of a larger network's).
    """
    root = Path(path)
    if not root.exists():
        raise DatasetError(f"{root}: no such file or folder")
    name = root.stem if root.is_file() else root.name
    source = f"replay:{name}"
    if root.is_dir() and (root / "speed.csv").exists():
        columns, segment_ids = _read_wide(root, timezone)
    else:
        columns = _read_long(_long_file(root), timezone)
        segment_ids = pc.unique(columns["segment_id"])
    ts = np.asarray(columns["timestamp"], dtype=np.int64)
    columns["source"] = pa.array(np.full(len(ts), source))
    keep = np.ones(len(ts), dtype=np.bool_)
    if start_ms is not None:
        keep &= ts >= start_ms
    if end_ms is not None:
        keep &= ts < end_ms
    if not keep.all():
        columns = {k: _take(v, keep) for k, v in columns.items()}
    validated = validate_columns(
        columns, now_ms=2**62, limits=Limits(max_speed=250.0), default_source=source
    )
    events = validated.events.sort_by([("timestamp", "ascending"), ("segment_id", "ascending")])
    segments = _segments(root, segment_ids, events)
    if links_file is not None and not Path(links_file).is_file():
        raise DatasetError(f"{links_file}: no such edges file")
    links = _links(Path(links_file) if links_file is not None else _edges_file(root))
    return Dataset(name, events, segments, links, validated.rejected_rows)


def _long_file(root: Path) -> Path:
    if root.is_file():
        return root
    for candidate in ("events.parquet", "events.csv"):
        if (root / candidate).exists():
            return root / candidate
    raise DatasetError(
        f"{root}: expected speed.csv (wide layout) or events.csv / events.parquet (long layout)"
    )


def _read_table(path: Path) -> pa.Table:
    if path.suffix == ".parquet":
        return pq.read_table(path)
    return pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(strings_can_be_null=True))


def _times_ms(column: pa.Array | pa.ChunkedArray, timezone: str) -> npt.NDArray[np.int64]:
    """Epoch ms of a timestamp column; zone-less values are local to `timezone`."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        try:
            column = column.cast(pa.timestamp("ms", tz="UTC"))
        except pa.ArrowInvalid:
            column = column.cast(pa.timestamp("ms"))
    if not pa.types.is_timestamp(column.type):
        raise DatasetError(f"timestamp column has type {column.type}; expected ISO 8601 times")
    if column.type.tz is None:
        column = pc.assume_timezone(
            column, timezone=timezone, ambiguous="earliest", nonexistent="earliest"
        )
    # safe=False truncates sub-millisecond precision instead of raising.
    ms = column.cast(TIMESTAMP, safe=False)
    return np.asarray(ms.cast(pa.int64()).to_numpy(), dtype=np.int64)


def _matrix(path: Path) -> tuple[pa.Array, list[str], npt.NDArray[np.float64]]:
    table = _read_table(path)
    if "timestamp" not in table.column_names:
        raise DatasetError(f"{path}: first column must be 'timestamp'")
    sensors = [c for c in table.column_names if c != "timestamp"]
    values = np.column_stack(
        [np.asarray(table.column(c).to_numpy(), dtype=np.float64) for c in sensors]
    )
    return table.column("timestamp").combine_chunks(), sensors, values


def _evenly_spaced(ts_col: pa.Array, ts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Rows of a wide file are consecutive steps: keep them so across a DST change.

    The research sets label rows with zone-less times at a fixed interval, so a
    spring-forward day holds labels (02:00-02:55) that do not exist on the local
    clock. Read as local time they would collapse onto one another and shift every
    later row; the rows are consecutive measurements, so their spacing is kept.
    """
    if len(ts) < 3:
        return ts
    try:
        naive = ts_col.cast(pa.timestamp("ms")).cast(pa.int64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return ts
    step = np.diff(np.asarray(naive, dtype=np.int64))
    if step[0] > 0 and (step == step[0]).all():
        even: npt.NDArray[np.int64] = ts[0] + np.arange(len(ts), dtype=np.int64) * step[0]
        return even
    return ts


def _read_wide(root: Path, timezone: str) -> tuple[dict[str, object], pa.Array]:
    ts_col, sensors, speed = _matrix(root / "speed.csv")
    ts = _evenly_spaced(ts_col, _times_ms(ts_col, timezone))
    n_t, n_s = speed.shape
    flat_ts = np.repeat(ts, n_s)
    flat_seg = np.tile(np.arange(n_s), n_t)
    values = {"speed": speed.ravel()}
    for name, file in (("volume", "flow.csv"), ("occupancy", "occupancy.csv")):
        if (root / file).exists():
            _, other_sensors, matrix = _matrix(root / file)
            if other_sensors != sensors or matrix.shape != speed.shape:
                raise DatasetError(f"{root / file}: columns or rows differ from speed.csv")
            if name == "occupancy" and np.nanmax(matrix) <= 1.0:
                matrix = matrix * 100.0  # published as a fraction; we use percent
            values[name] = matrix.ravel()
    # Zero speed in these sets marks a missing reading, not stopped traffic.
    present = np.isfinite(values["speed"]) & (values["speed"] > 0)
    for name in ("volume", "occupancy"):
        if name in values:
            v = values[name]
            values[name] = np.where(np.isfinite(v) & (v > 0), v, np.nan)
    ids = pa.array(sensors, type=pa.string())
    columns: dict[str, object] = {
        "segment_id": ids.take(pa.array(flat_seg[present])),
        "timestamp": flat_ts[present],
        **{k: v[present] for k, v in values.items()},
    }
    return columns, ids


def _read_long(path: Path, timezone: str) -> dict[str, object]:
    table = _read_table(path)
    missing = {"timestamp", "segment_id", "speed"} - set(table.column_names)
    if missing:
        raise DatasetError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
    speed = np.asarray(table.column("speed").to_numpy(zero_copy_only=False), dtype=np.float64)
    present = np.isfinite(speed) & (speed > 0)
    columns: dict[str, object] = {
        "segment_id": table.column("segment_id").cast(pa.string()).combine_chunks(),
        "timestamp": _times_ms(table.column("timestamp"), timezone),
        "speed": speed,
    }
    for name in ("volume", "occupancy"):
        if name in table.column_names:
            columns[name] = np.asarray(
                table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64
            )
    return {k: _take(v, present) for k, v in columns.items()}


def _take(values: object, mask: npt.NDArray[np.bool_]) -> object:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values.filter(pa.array(mask))
    return np.asarray(values)[mask]


def _segments(root: Path, segment_ids: pa.Array, events: pa.Table) -> pa.Table:
    ids = segment_ids.cast(pa.string())
    n = len(ids)
    lat = np.full(n, np.nan)
    lon = np.full(n, np.nan)
    sensors_file = root / "sensors.csv" if root.is_dir() else root.parent / "sensors.csv"
    if sensors_file.exists():
        sensors = pacsv.read_csv(
            sensors_file,
            convert_options=pacsv.ConvertOptions(column_types={"sensor_id": pa.string()}),
        )
        pos = pc.index_in(ids, value_set=sensors.column("sensor_id").combine_chunks())
        found = np.asarray(pos.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
        rows = np.asarray(pos.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
        lat = np.where(found, sensors.column("latitude").to_numpy()[rows], np.nan)
        lon = np.where(found, sensors.column("longitude").to_numpy()[rows], np.nan)
    free_flow = _free_flow(ids, events)
    return pa.Table.from_arrays(
        [
            ids,
            pc.binary_join_element_wise(pa.array(["Sensor"] * n), ids, " "),
            pa.nulls(n, pa.string()),
            pa.nulls(n, pa.string()),
            pa.array(lat, from_pandas=True),
            pa.array(lon, from_pandas=True),
            pa.array(free_flow, from_pandas=True),
            pa.nulls(n, pa.float64()),
            pa.nulls(n, pa.int32()),
            pa.nulls(n, pa.string()),
        ],
        schema=SEGMENT_SCHEMA,
    )


def _free_flow(ids: pa.Array, events: pa.Table) -> npt.NDArray[np.float64]:
    """Per sensor, the 95th percentile of its speeds (bounded 35-75 mph).

    Recorded sets rarely publish posted or free-flow speeds; the fast tail of a
    detector's own readings is the usual stand-in.
    """
    seg = np.asarray(
        pc.index_in(events.column("segment_id"), value_set=ids).to_numpy(zero_copy_only=False),
        dtype=np.int64,
    )
    speed = np.asarray(events.column("speed").to_numpy(), dtype=np.float64)
    out = np.full(len(ids), np.nan)
    if len(seg) == 0:
        return out
    order = np.argsort(seg, kind="stable")
    seg_sorted, speed_sorted = seg[order], speed[order]
    bounds = np.flatnonzero(np.r_[True, seg_sorted[1:] != seg_sorted[:-1], True])
    for a, b in itertools.pairwise(bounds.tolist()):
        out[seg_sorted[a]] = np.percentile(speed_sorted[a:b], 95)
    clipped: npt.NDArray[np.float64] = np.clip(out, 35.0, 75.0)
    return clipped


def _edges_file(root: Path) -> Path:
    return root / "edges.csv" if root.is_dir() else root.parent / "edges.csv"


def _links(edges_file: Path) -> pa.Table:
    if not edges_file.exists():
        return LINK_SCHEMA.empty_table()
    edges = pacsv.read_csv(
        edges_file,
        convert_options=pacsv.ConvertOptions(
            column_types={"from_sensor": pa.string(), "to_sensor": pa.string()}
        ),
    )
    if "weight" in edges.column_names:
        weight = np.asarray(edges.column("weight").to_numpy(), dtype=np.float64)
    elif "distance_m" in edges.column_names:
        # Gaussian kernel of road distance, as the published graphs do.
        d = np.asarray(edges.column("distance_m").to_numpy(), dtype=np.float64)
        sigma = float(np.std(d)) or 1.0
        weight = np.exp(-((d / sigma) ** 2))
    else:
        raise DatasetError(f"{edges_file}: needs a weight or distance_m column")
    keep = pc.not_equal(edges.column("from_sensor"), edges.column("to_sensor"))
    return pa.Table.from_arrays(
        [edges.column("from_sensor"), edges.column("to_sensor"), pa.array(weight)],
        schema=LINK_SCHEMA,
    ).filter(keep)
