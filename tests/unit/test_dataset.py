"""Loading recorded datasets, wide and long (sources/dataset.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from trafficcast.domain.schema import EVENT_SCHEMA, LINK_SCHEMA, SEGMENT_SCHEMA
from trafficcast.sources.dataset import DatasetError, load_dataset

LOS_LOOP = Path(__file__).parents[2].parent / "shared" / "data" / "los-loop"

MIN = 60_000
# 2012-03-01 00:00 in Los Angeles (PST, UTC-8).
LA_MIDNIGHT = int(datetime(2012, 3, 1, 8, tzinfo=UTC).timestamp() * 1000)


def write(path: Path, text: str) -> Path:
    path.write_text(text.strip() + "\n")
    return path


def ms(table: pa.Table) -> list[int]:
    return [int(v) for v in table.column("timestamp").cast(pa.int64()).to_pylist()]


def absent(value: float | None) -> bool:
    return value is None or bool(np.isnan(value))


def by_key(table: pa.Table) -> dict[tuple[str, int], dict[str, Any]]:
    rows = table.to_pylist()
    return {(r["segment_id"], int(r["timestamp"].timestamp() * 1000)): r for r in rows}


@pytest.fixture
def wide(tmp_path: Path) -> Path:
    root = tmp_path / "wide-set"
    root.mkdir()
    write(
        root / "speed.csv",
        """
timestamp,101,102,103
2012-03-01 00:00:00,60.5,0,40
2012-03-01 00:05:00,61,55,
2012-03-01 00:10:00,0,54,41
""",
    )
    write(
        root / "flow.csv",
        """
timestamp,101,102,103
2012-03-01 00:00:00,10,20,0
2012-03-01 00:05:00,11,21,31
2012-03-01 00:10:00,12,22,32
""",
    )
    write(
        root / "occupancy.csv",
        """
timestamp,101,102,103
2012-03-01 00:00:00,0.05,0.5,0.1
2012-03-01 00:05:00,0.06,0.0,0.2
2012-03-01 00:10:00,0.07,1.0,0.3
""",
    )
    write(
        root / "sensors.csv",
        """
sensor_id,latitude,longitude
101,34.1,-118.1
103,34.3,-118.3
999,1,1
""",
    )
    write(
        root / "edges.csv",
        """
from_sensor,to_sensor,weight
101,102,0.5
102,103,0.25
103,103,1.0
""",
    )
    return root


# --- wide layout ---


def test_wide_events(wide: Path) -> None:
    ds = load_dataset(wide)
    assert ds.name == "wide-set"
    assert ds.events.schema == EVENT_SCHEMA
    # 9 cells, 2 zeros and 1 empty cell: missing, no event.
    assert ds.events.num_rows == 6
    rows = by_key(ds.events)
    t0, t1, t2 = LA_MIDNIGHT, LA_MIDNIGHT + 5 * MIN, LA_MIDNIGHT + 10 * MIN
    assert set(rows) == {
        ("101", t0),
        ("103", t0),
        ("101", t1),
        ("102", t1),
        ("102", t2),
        ("103", t2),
    }
    r = rows[("101", t0)]
    assert r["speed"] == 60.5
    assert r["volume"] == 10.0
    assert r["occupancy"] == pytest.approx(5.0)  # fraction -> percent
    assert r["source"] == "replay:wide-set"
    assert r["event_id"] == f"replay:wide-set/101/{t0}"
    assert absent(rows[("103", t0)]["volume"])  # zero volume is missing, the event stays
    assert absent(rows[("102", t1)]["occupancy"])  # zero occupancy is missing
    assert rows[("102", t2)]["occupancy"] == pytest.approx(100.0)
    assert ds.rejected == 0


def test_wide_events_sorted_by_time_then_segment(wide: Path) -> None:
    ds = load_dataset(wide)
    keys = list(zip(ms(ds.events), ds.events.column("segment_id").to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert ds.start_ms == LA_MIDNIGHT
    assert ds.end_ms == LA_MIDNIGHT + 10 * MIN


def test_naive_timestamps_read_in_the_given_zone(wide: Path) -> None:
    la = load_dataset(wide, timezone="America/Los_Angeles")
    utc = load_dataset(wide, timezone="UTC")
    tokyo = load_dataset(wide, timezone="Asia/Tokyo")
    assert la.start_ms == LA_MIDNIGHT
    assert utc.start_ms == LA_MIDNIGHT - 8 * 60 * MIN
    assert tokyo.start_ms == LA_MIDNIGHT - 17 * 60 * MIN


def test_occupancy_already_in_percent_is_kept(wide: Path) -> None:
    write(
        wide / "occupancy.csv",
        """
timestamp,101,102,103
2012-03-01 00:00:00,5,50,10
2012-03-01 00:05:00,6,0,20
2012-03-01 00:10:00,7,99,30
""",
    )
    rows = by_key(load_dataset(wide).events)
    assert rows[("101", LA_MIDNIGHT)]["occupancy"] == 5.0
    assert rows[("102", LA_MIDNIGHT + 10 * MIN)]["occupancy"] == 99.0


def test_wide_segments(wide: Path) -> None:
    ds = load_dataset(wide)
    assert ds.segments.schema == SEGMENT_SCHEMA
    seg = {r["segment_id"]: r for r in ds.segments.to_pylist()}
    assert list(seg) == ["101", "102", "103"]
    assert (seg["101"]["latitude"], seg["101"]["longitude"]) == (34.1, -118.1)
    assert (seg["103"]["latitude"], seg["103"]["longitude"]) == (34.3, -118.3)
    assert absent(seg["102"]["latitude"])  # not in sensors.csv
    assert seg["101"]["name"] == "Sensor 101"
    # Free-flow: the 95th percentile of the sensor's speeds, bounded 35-75 mph.
    assert seg["101"]["free_flow_speed"] == pytest.approx(np.percentile([60.5, 61], 95))
    assert seg["103"]["free_flow_speed"] == pytest.approx(np.percentile([40, 41], 95))


def test_free_flow_is_clamped(tmp_path: Path) -> None:
    write(
        tmp_path / "speed.csv",
        """
timestamp,fast,slow
2012-03-01 00:00:00,90,10
2012-03-01 00:05:00,95,12
""",
    )
    seg = {r["segment_id"]: r for r in load_dataset(tmp_path).segments.to_pylist()}
    assert seg["fast"]["free_flow_speed"] == 75.0
    assert seg["slow"]["free_flow_speed"] == 35.0


def test_edges_with_weight(wide: Path) -> None:
    links = load_dataset(wide).links
    assert links.schema == LINK_SCHEMA
    assert links.to_pylist() == [
        {"from_segment": "101", "to_segment": "102", "weight": 0.5},
        {"from_segment": "102", "to_segment": "103", "weight": 0.25},
    ]  # the self-loop is dropped


def test_edges_with_distance(wide: Path) -> None:
    write(
        wide / "edges.csv",
        """
from_sensor,to_sensor,distance_m
101,102,100
102,103,300
103,101,200
""",
    )
    links = load_dataset(wide).links
    d = np.array([100.0, 300.0, 200.0])
    expected = np.exp(-((d / d.std()) ** 2))
    np.testing.assert_allclose(links.column("weight").to_numpy(), expected)
    w = links.column("weight").to_numpy()
    assert ((w > 0) & (w <= 1)).all()
    assert w[0] > w[2] > w[1]  # closer means heavier


def test_edges_without_weight_or_distance(wide: Path) -> None:
    write(wide / "edges.csv", "from_sensor,to_sensor,cost\n101,102,3")
    with pytest.raises(DatasetError, match="needs a weight or distance_m column"):
        load_dataset(wide)


def test_no_edges_file_gives_empty_links(wide: Path) -> None:
    (wide / "edges.csv").unlink()
    links = load_dataset(wide).links
    assert links.num_rows == 0
    assert links.schema == LINK_SCHEMA


def test_start_end_filter(wide: Path) -> None:
    ds = load_dataset(wide, start_ms=LA_MIDNIGHT + 5 * MIN, end_ms=LA_MIDNIGHT + 10 * MIN)
    assert set(ms(ds.events)) == {LA_MIDNIGHT + 5 * MIN}
    assert sorted(ds.events.column("segment_id").to_pylist()) == ["101", "102"]
    only_start = load_dataset(wide, start_ms=LA_MIDNIGHT + 10 * MIN)
    assert set(ms(only_start.events)) == {LA_MIDNIGHT + 10 * MIN}
    only_end = load_dataset(wide, end_ms=LA_MIDNIGHT + 1)
    assert set(ms(only_end.events)) == {LA_MIDNIGHT}


def test_wide_flow_shape_mismatch(wide: Path) -> None:
    write(wide / "flow.csv", "timestamp,101,102\n2012-03-01 00:00:00,1,2")
    with pytest.raises(DatasetError, match=r"differ from speed\.csv"):
        load_dataset(wide)


def test_wide_without_timestamp_column(tmp_path: Path) -> None:
    write(tmp_path / "speed.csv", "time,101\n2012-03-01 00:00:00,50")
    with pytest.raises(DatasetError, match="first column must be 'timestamp'"):
        load_dataset(tmp_path)


def test_wide_with_zoned_and_sub_millisecond_timestamps(tmp_path: Path) -> None:
    write(
        tmp_path / "speed.csv",
        """
timestamp,a
2012-03-01T08:00:00Z,50
2012-03-01T08:05:00.123456Z,51
2012-03-01 00:10:00.5-08:00,52
""",
    )
    ds = load_dataset(tmp_path, timezone="Asia/Tokyo")  # zone in the data wins
    assert ms(ds.events) == [LA_MIDNIGHT, LA_MIDNIGHT + 5 * MIN + 123, LA_MIDNIGHT + 10 * MIN + 500]


def test_implausible_values_are_rejected_and_counted(tmp_path: Path) -> None:
    write(tmp_path / "speed.csv", "timestamp,a,b\n2012-03-01 00:00:00,50,300\n")
    ds = load_dataset(tmp_path)
    assert ds.events.column("segment_id").to_pylist() == ["a"]
    assert ds.rejected == 1


# --- long layout ---


LONG_CSV = """
timestamp,segment_id,speed,volume,occupancy
2024-01-15T08:00:00Z,s1,50,10,5
2024-01-15T08:00:00Z,s2,0,10,5
2024-01-15T08:05:00Z,s1,52,,
2024-01-15T08:05:00Z,s2,40,7,12
2024-01-15T08:10:00Z,s2,,7,12
"""
T_LONG = int(datetime(2024, 1, 15, 8, tzinfo=UTC).timestamp() * 1000)


def test_long_csv_folder(tmp_path: Path) -> None:
    root = tmp_path / "long-set"
    root.mkdir()
    write(root / "events.csv", LONG_CSV)
    ds = load_dataset(root)
    assert ds.name == "long-set"
    rows = by_key(ds.events)
    # Zero and empty speeds produce no event.
    assert set(rows) == {("s1", T_LONG), ("s1", T_LONG + 5 * MIN), ("s2", T_LONG + 5 * MIN)}
    assert rows[("s1", T_LONG)]["volume"] == 10.0
    assert rows[("s1", T_LONG)]["occupancy"] == 5.0
    assert absent(rows[("s1", T_LONG + 5 * MIN)]["volume"])
    assert absent(rows[("s1", T_LONG + 5 * MIN)]["occupancy"])
    assert rows[("s2", T_LONG + 5 * MIN)]["source"] == "replay:long-set"
    assert sorted(ds.segments.column("segment_id").to_pylist()) == ["s1", "s2"]
    assert ds.links.num_rows == 0


def test_long_csv_file_path_with_sensors_and_edges_beside_it(tmp_path: Path) -> None:
    path = write(tmp_path / "readings.csv", LONG_CSV)
    write(tmp_path / "sensors.csv", "sensor_id,latitude,longitude\ns1,34.0,-118.0")
    write(tmp_path / "edges.csv", "from_sensor,to_sensor,weight\ns1,s2,0.7")
    ds = load_dataset(path)
    assert ds.name == "readings"
    seg = {r["segment_id"]: r for r in ds.segments.to_pylist()}
    assert (seg["s1"]["latitude"], seg["s1"]["longitude"]) == (34.0, -118.0)
    assert absent(seg["s2"]["latitude"])
    assert ds.links.to_pylist() == [{"from_segment": "s1", "to_segment": "s2", "weight": 0.7}]


def test_long_parquet(tmp_path: Path) -> None:
    ts = pa.array(
        [T_LONG * 1000, T_LONG * 1000 + 1_500, (T_LONG + 5 * MIN) * 1000],
        type=pa.timestamp("us", tz="UTC"),
    )
    table = pa.table(
        {
            "timestamp": ts,
            "segment_id": pa.array([7, 8, 7], type=pa.int64()),  # numeric ids become strings
            "speed": [30.0, 0.0, 33.0],
            "volume": [1.0, 2.0, None],
        }
    )
    pq.write_table(table, tmp_path / "events.parquet")
    ds = load_dataset(tmp_path)
    assert ds.events.column("segment_id").to_pylist() == ["7", "7"]
    assert ms(ds.events) == [T_LONG, T_LONG + 5 * MIN]
    assert ds.events.column("volume")[0].as_py() == 1.0
    assert absent(ds.events.column("volume")[1].as_py())
    assert absent(ds.events.column("occupancy")[0].as_py())


def test_long_parquet_naive_and_sub_millisecond_timestamps(tmp_path: Path) -> None:
    naive = pa.array(
        [datetime(2012, 3, 1, 0, 0), datetime(2012, 3, 1, 0, 5, 0, 250_999)],
        type=pa.timestamp("us"),
    )
    pq.write_table(
        pa.table({"timestamp": naive, "segment_id": ["a", "a"], "speed": [1.0, 2.0]}),
        tmp_path / "x.parquet",
    )
    ds = load_dataset(tmp_path / "x.parquet")
    assert ms(ds.events) == [LA_MIDNIGHT, LA_MIDNIGHT + 5 * MIN + 250]


def test_long_parquet_preferred_over_csv(tmp_path: Path) -> None:
    write(tmp_path / "events.csv", LONG_CSV)
    pq.write_table(
        pa.table(
            {
                "timestamp": pa.array([T_LONG], type=pa.timestamp("ms", tz="UTC")),
                "segment_id": ["pq"],
                "speed": [12.0],
            }
        ),
        tmp_path / "events.parquet",
    )
    assert load_dataset(tmp_path).events.column("segment_id").to_pylist() == ["pq"]


def test_long_start_end_filter(tmp_path: Path) -> None:
    write(tmp_path / "events.csv", LONG_CSV)
    ds = load_dataset(tmp_path, start_ms=T_LONG + 1, end_ms=T_LONG + 10 * MIN)
    assert set(ms(ds.events)) == {T_LONG + 5 * MIN}
    assert ds.events.num_rows == 2


# --- errors ---


def test_missing_folder(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(DatasetError, match="no such file or folder") as info:
        load_dataset(missing)
    assert str(missing) in str(info.value)


def test_folder_without_known_files(tmp_path: Path) -> None:
    write(tmp_path / "readme.txt", "hello")
    with pytest.raises(DatasetError, match=r"expected speed.csv .* events.csv / events.parquet"):
        load_dataset(tmp_path)


def test_long_missing_columns(tmp_path: Path) -> None:
    write(tmp_path / "events.csv", "timestamp,sensor,velocity\n2024-01-15T08:00:00Z,a,5")
    with pytest.raises(DatasetError, match=r"missing column\(s\) segment_id, speed") as info:
        load_dataset(tmp_path)
    assert "events.csv" in str(info.value)


def test_long_timestamp_of_wrong_type(tmp_path: Path) -> None:
    write(tmp_path / "events.csv", "timestamp,segment_id,speed\n12345,a,5")
    with pytest.raises(DatasetError, match="timestamp column has type int64"):
        load_dataset(tmp_path)


def test_dataset_error_is_a_value_error() -> None:
    assert issubclass(DatasetError, ValueError)


# --- the real Los-loop data ---


@pytest.mark.skipif(not LOS_LOOP.is_dir(), reason=f"Los-loop data folder {LOS_LOOP} is absent")
def test_los_loop() -> None:
    ds = load_dataset(LOS_LOOP)
    assert ds.name == "los-loop"
    assert ds.segments.num_rows == 207
    assert pc.count_distinct(ds.events.column("segment_id")).as_py() == 207
    assert pc.count_distinct(ds.events.column("timestamp")).as_py() == 2016
    assert ds.events.num_rows == 207 * 2016 == 417_312
    assert ds.rejected == 0
    assert ds.start_ms == LA_MIDNIGHT  # 2012-03-01T00:00 local
    assert ds.end_ms == LA_MIDNIGHT + (7 * 24 * 60 - 5) * MIN
    assert ds.segments.column("latitude").null_count == 0
    assert ds.segments.column("longitude").null_count == 0
    lat = ds.segments.column("latitude").to_numpy()
    lon = ds.segments.column("longitude").to_numpy()
    assert np.isfinite(lat).all()
    assert ((lat > 33.5) & (lat < 34.5)).all()
    assert ((lon > -119) & (lon < -117.5)).all()
    assert ds.links.num_rows > 0
    speed = ds.events.column("speed").to_numpy()
    assert (speed > 0).all()
    assert speed.max() < 100
