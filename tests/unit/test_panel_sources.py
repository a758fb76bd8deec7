"""Forecasting panels from the store's windows and from dataset folders (forecast/sources.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from trafficcast.domain.schema import EVENT_SCHEMA, LINK_SCHEMA, TIMESTAMP, WINDOW_SCHEMA
from trafficcast.forecast import sources
from trafficcast.forecast.panel import PanelError
from trafficcast.forecast.sources import panel_from_dataset, panel_from_store
from trafficcast.store.duckdb_store import DuckDBStore

MIN = 60_000
STEP = 5 * MIN
DAY = 288  # 5-minute steps
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z
NAN = float("nan")


def ts(values: list[int]) -> pa.Array:
    return pa.array(values, type=pa.int64()).cast(TIMESTAMP)


def windows(seg: str, starts: list[int], speeds: list[float | None], volume: float) -> pa.Table:
    n = len(starts)
    return pa.Table.from_arrays(
        [
            pa.array([seg] * n),
            pa.array([5] * n, pa.int32()),
            ts(starts),
            ts([s + STEP for s in starts]),
            pa.array(speeds, pa.float64()),
            pa.array(speeds, pa.float64()),
            pa.array([volume] * n),
            pa.array([5.0] * n),
            pa.array([10] * n, pa.int64()),
            pa.array([1.0] * n),
            pa.array(["C"] * n),
            ts([T0] * n),
        ],
        schema=WINDOW_SCHEMA,
    )


def links(pairs: list[tuple[str, str, float]]) -> pa.Table:
    src, dst, weight = zip(*pairs, strict=True)
    return pa.Table.from_arrays(
        [pa.array(src), pa.array(dst), pa.array(weight, pa.float64())], schema=LINK_SCHEMA
    )


def event(seg: str, at: int) -> pa.Table:
    row = {
        "event_id": "e1",
        "segment_id": seg,
        "timestamp": at,
        "speed": 50.0,
        "volume": 1.0,
        "occupancy": None,
        "latitude": None,
        "longitude": None,
        "source": "test",
        "quality_score": 1.0,
    }
    table = pa.Table.from_pylist([row])
    return table.set_column(2, "timestamp", ts([at])).cast(EVENT_SCHEMA)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[DuckDBStore]:
    s = DuckDBStore(tmp_path / "store.duckdb")
    s.init_schema()
    try:
        yield s
    finally:
        s.close()


def at(*steps: int) -> list[int]:
    return [T0 + k * STEP for k in steps]


def test_windows_become_a_matrix_with_gaps_and_the_stored_graph(store: DuckDBStore) -> None:
    # Inserted out of column order: columns come out sorted by id.
    store.insert_windows(windows("c", at(0, 3), [30.0, 33.0], 12.0))
    store.insert_windows(windows("a", at(0, 1, 2, 3), [60.0, 61.0, None, 63.0], 20.0))
    store.insert_windows(windows("b", at(1), [45.0], 0.0))  # zero volume is "not counted"
    store.upsert_links(links([("a", "b", 0.5), ("b", "c", 1.0), ("c", "zz", 1.0)]))

    panel = panel_from_store(store, "UTC", None)

    assert panel.segment_ids.to_pylist() == ["a", "b", "c"]
    assert panel.start_ms == T0
    assert panel.steps == 4
    expected_speed = np.array(
        [[60.0, NAN, 30.0], [61.0, 45.0, NAN], [NAN, NAN, NAN], [63.0, NAN, 33.0]],
        dtype=np.float32,
    )
    np.testing.assert_array_equal(panel.speed, expected_speed)
    assert panel.volume is not None
    np.testing.assert_array_equal(
        panel.volume,
        np.array(
            [[20.0, NAN, 12.0], [20.0, NAN, NAN], [20.0, NAN, NAN], [20.0, NAN, 12.0]],
            dtype=np.float32,
        ),
    )
    # The link to a segment without windows has no column to land on.
    assert sorted(zip(panel.graph.src.tolist(), panel.graph.dst.tolist(), strict=True)) == [
        (0, 1),
        (1, 2),
    ]
    assert panel.graph.weight[panel.graph.src == 0].tolist() == [0.5]
    assert panel.graph.size == 3
    assert panel.timezone == "UTC"


@pytest.mark.parametrize("with_events", [True, False], ids=["events", "windows-only"])
def test_days_keeps_the_newest_days_of_windows(store: DuckDBStore, with_events: bool) -> None:
    steps = list(range(3 * DAY))
    store.insert_windows(windows("a", at(*steps), [float(50 + k % 7) for k in steps], 10.0))
    if with_events:
        # The newest event falls inside the newest window, as the processor leaves them.
        store.write_events(event("a", at(steps[-1])[0] + 2 * MIN))

    panel = panel_from_store(store, "UTC", days=1)

    assert panel.steps == DAY
    assert panel.start_ms == at(2 * DAY)[0]
    assert panel.speed[-1, 0] == 50 + (3 * DAY - 1) % 7

    half = panel_from_store(store, "UTC", days=0.5)
    assert half.steps == DAY // 2
    assert panel_from_store(store, "UTC", days=30).steps == 3 * DAY


def test_an_empty_store_is_a_clear_error(store: DuckDBStore) -> None:
    with pytest.raises(PanelError, match="no 5-minute windows"):
        panel_from_store(store, "UTC", None)
    with pytest.raises(PanelError, match="no 5-minute windows"):
        panel_from_store(store, "UTC", days=7)


def test_days_must_be_positive(store: DuckDBStore) -> None:
    store.insert_windows(windows("a", at(0), [50.0], 1.0))
    with pytest.raises(PanelError, match="positive"):
        panel_from_store(store, "UTC", days=0)


def test_windows_years_apart_are_refused_not_allocated(
    store: DuckDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two replays years apart in one store would pivot into a mostly empty, huge grid.
    monkeypatch.setattr(sources, "MAX_CELLS", DAY)
    store.insert_windows(windows("a", at(0), [50.0], 1.0))
    store.insert_windows(windows("b", at(-4 * DAY), [50.0], 1.0))
    with pytest.raises(PanelError, match="--days"):
        panel_from_store(store, "UTC", None)
    assert panel_from_store(store, "UTC", days=1).steps == 1


def test_dataset_readings_become_five_minute_cells_like_the_windows(tmp_path: Path) -> None:
    # One reading a minute: speed averages, volume adds up, as in the store's windows.
    lines = ["timestamp,segment_id,speed,volume"]
    for minute in range(10):
        stamp = f"2026-01-05T08:{minute:02d}:00Z"
        lines.append(f"{stamp},z-road,{50 + minute},{'' if minute == 7 else 2}")
        if minute < 5:
            lines.append(f"{stamp},a-road,40,")
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n")

    panel = panel_from_dataset(tmp_path, "UTC")

    # Columns keep the dataset's order (first appearance), not sorted.
    assert panel.segment_ids.to_pylist() == ["z-road", "a-road"]
    assert panel.start_ms == T0
    np.testing.assert_array_equal(
        panel.speed, np.array([[52.0, 40.0], [57.0, NAN]], dtype=np.float32)
    )
    assert panel.volume is not None
    np.testing.assert_array_equal(
        # A reading without a count adds nothing, as in the windows (not NaN for the cell).
        panel.volume,
        np.array([[10.0, NAN], [8.0, NAN]], dtype=np.float32),
    )


def test_a_nan_count_drops_out_of_the_cell_sum(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": ts([T0, T0 + MIN, T0 + 2 * MIN]),
            "segment_id": ["s", "s", "s"],
            "speed": [50.0, 52.0, 54.0],
            "volume": [3.0, NAN, 4.0],
        }
    )
    pq.write_table(table, tmp_path / "events.parquet")

    panel = panel_from_dataset(tmp_path, "UTC")

    assert panel.volume is not None
    assert panel.volume.tolist() == [[7.0]]
    assert panel.speed.tolist() == [[52.0]]


def test_dataset_without_volume_has_no_volume_panel(tmp_path: Path) -> None:
    (tmp_path / "speed.csv").write_text(
        "timestamp,s2,s1\n2026-01-05T00:00:00,50,0\n2026-01-05T00:05:00,51,60\n"
    )
    (tmp_path / "edges.csv").write_text("from_sensor,to_sensor,weight\ns2,s1,0.7\n")

    panel = panel_from_dataset(tmp_path, "UTC")

    assert panel.segment_ids.to_pylist() == ["s2", "s1"]
    assert panel.volume is None
    np.testing.assert_array_equal(
        panel.speed, np.array([[50.0, NAN], [51.0, 60.0]], dtype=np.float32)
    )
    assert (panel.graph.src.tolist(), panel.graph.dst.tolist()) == ([0], [1])


def test_real_dataset_columns_follow_the_file(shared_data: Path) -> None:
    folder = shared_data / "pems08-partial"
    header = (folder / "speed.csv").open().readline().strip().split(",")[1:]

    panel = panel_from_dataset(folder, "America/Los_Angeles")

    assert panel.segment_ids.to_pylist() == header
    assert panel.steps == 1282
    assert panel.volume is not None
    assert panel.graph.src.size > 0
