from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from trafficcast.domain.schema import EVENT_SCHEMA, LINK_SCHEMA, SEGMENT_SCHEMA
from trafficcast.sources.simulator import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    Incident,
    Simulator,
    SimulatorConfig,
)

# 2024-01-15 00:00 local time at UTC-8, a Monday.
MONDAY = 1_705_305_600_000
SATURDAY = MONDAY + 5 * DAY_MS


@cache
def sim(**overrides: float | int | str) -> Simulator:
    return Simulator(SimulatorConfig(**overrides))  # type: ignore[arg-type]


def clean(**overrides: float | int | str) -> Simulator:
    return sim(dropout_probability=0.0, noise_probability=0.0, **overrides)


def column(table: pa.Table, name: str) -> np.ndarray:
    return np.asarray(table.column(name).to_numpy())


def timestamps(table: pa.Table) -> np.ndarray:
    return np.asarray(table.column("timestamp").cast(pa.int64()).to_numpy())


def readings_of(table: pa.Table, segment_id: str) -> tuple[np.ndarray, np.ndarray]:
    rows = table.filter(pc.equal(table.column("segment_id"), segment_id))
    return timestamps(rows), column(rows, "speed")


# ----------------------------------------------------------------------------- schema


def test_schemas_are_exact() -> None:
    s = sim()
    assert s.segments.schema.equals(SEGMENT_SCHEMA, check_metadata=True)
    assert s.links.schema.equals(LINK_SCHEMA, check_metadata=True)
    events = s.events(MONDAY, MONDAY + 10 * MINUTE_MS)
    assert events.schema.equals(EVENT_SCHEMA, check_metadata=True)
    assert events.num_rows > 0
    empty = s.events(MONDAY, MONDAY)
    assert empty.schema.equals(EVENT_SCHEMA)
    assert empty.num_rows == 0
    assert s.events(MONDAY + 1, MONDAY + 2).num_rows == 0  # no reading boundary inside


def test_segments_look_like_a_road_network() -> None:
    s = sim()
    seg = s.segments.to_pylist()
    assert len(seg) == 300
    ids = [r["segment_id"] for r in seg]
    assert len(set(ids)) == 300
    assert ids == sorted(ids)
    roads = {r["road"] for r in seg}
    assert any(r.startswith(("I-", "SR-")) for r in roads)
    assert any(r.startswith(("Ave", "St")) for r in roads)
    for r in seg:
        assert r["direction"] in {"N", "S", "E", "W"}
        assert r["name"].startswith(f"{r['road']} {r['direction']} @ mile ")
        freeway = r["road"].startswith(("I-", "SR-"))
        low, high = (60.0, 70.0) if freeway else (35.0, 45.0)
        assert low <= r["free_flow_speed"] <= high
        assert (4 if freeway else 2) <= r["lanes"] <= (5 if freeway else 3)
        assert 0.5 <= r["length_miles"] <= 1.0
        points = json.loads(r["geometry"])
        assert len(points) >= 2
        lon, lat = points[len(points) // 2]
        assert lat == pytest.approx(r["latitude"], abs=1e-5)
        assert lon == pytest.approx(r["longitude"], abs=1e-5)
        # Geometry runs in the direction of travel.
        (lon0, lat0), (lon1, lat1) = points[0], points[-1]
        step = {"N": lat1 - lat0, "S": lat0 - lat1, "E": lon1 - lon0, "W": lon0 - lon1}
        assert step[r["direction"]] > 0
    lats = s.segments.column("latitude").to_numpy()
    lons = s.segments.column("longitude").to_numpy()
    height_km = (lats.max() - lats.min()) * 111
    width_km = (lons.max() - lons.min()) * 111 * np.cos(np.radians(34.05))
    assert 15 < height_km < 45
    assert 15 < width_km < 45
    assert abs(lats.mean() - 34.05) < 0.1
    assert abs(lons.mean() + 118.25) < 0.1


def test_links_reference_existing_segments() -> None:
    s = sim()
    ids = set(s.segment_ids)
    links = s.links.to_pylist()
    assert links
    pairs = {(lk["from_segment"], lk["to_segment"]) for lk in links}
    assert len(pairs) == len(links)
    for lk in links:
        assert lk["from_segment"] in ids
        assert lk["to_segment"] in ids
        assert lk["from_segment"] != lk["to_segment"]
        assert 0.0 < lk["weight"] <= 1.0
    # Along a road, the upstream segment links to the next one in travel order.
    assert ("AV1-N-000", "AV1-N-001") in pairs
    assert ("AV1-N-001", "AV1-N-000") not in pairs
    # Roads that cross are connected.
    roads = dict(zip(s.segment_ids, s.segments.column("road").to_pylist(), strict=True))
    assert any(roads[a] != roads[b] for a, b in pairs)


# ------------------------------------------------------------------------------ events


def test_event_rows_are_complete_and_sorted() -> None:
    s = clean()
    start = MONDAY + 7 * HOUR_MS + 12_345
    events = s.events(start, start + 5 * MINUTE_MS)
    ts = timestamps(events)
    assert ts.min() >= start
    assert ts.max() < start + 5 * MINUTE_MS
    assert (ts % 30_000 == 0).all()
    assert len(np.unique(ts)) == 10
    assert events.num_rows == 10 * 300  # no dropouts configured
    keys = list(zip(ts.tolist(), events.column("segment_id").to_pylist(), strict=True))
    assert keys == sorted(keys)
    ids = events.column("event_id").to_pylist()
    assert len(set(ids)) == len(ids)
    first = events.slice(0, 1).to_pylist()[0]
    assert first["event_id"] == f"sim-{first['segment_id']}-{ts[0]}"
    assert set(events.column("source").to_pylist()) == {"simulator"}
    midpoints = {r["segment_id"]: (r["latitude"], r["longitude"]) for r in s.segments.to_pylist()}
    for row in events.slice(0, 400).to_pylist():
        assert (row["latitude"], row["longitude"]) == midpoints[row["segment_id"]]


def test_source_name_comes_from_config() -> None:
    events = sim(source="city-loop", n_segments=5).events(MONDAY, MONDAY + MINUTE_MS)
    assert set(events.column("source").to_pylist()) == {"city-loop"}


def test_same_seed_same_output_different_seed_differs() -> None:
    a = Simulator(SimulatorConfig(seed=7))
    b = Simulator(SimulatorConfig(seed=7))
    c = Simulator(SimulatorConfig(seed=8))
    start, end = MONDAY + 8 * HOUR_MS, MONDAY + 8 * HOUR_MS + 20 * MINUTE_MS
    assert a.segments.equals(b.segments)
    assert a.links.equals(b.links)
    assert a.events(start, end).equals(b.events(start, end))
    assert a.incidents(MONDAY, MONDAY + DAY_MS) == b.incidents(MONDAY, MONDAY + DAY_MS)
    assert not a.events(start, end).equals(c.events(start, end))
    assert not a.segments.equals(c.segments)


@pytest.mark.parametrize(
    "split",
    [30_000, 7 * MINUTE_MS, HOUR_MS - 30_000, HOUR_MS, HOUR_MS + 30_000, 100 * MINUTE_MS],
)
def test_chunking_does_not_change_output(split: int) -> None:
    s = sim()
    a = MONDAY + 7 * HOUR_MS + 30 * MINUTE_MS
    c = a + 2 * HOUR_MS
    whole = s.events(a, c)
    # A fresh simulator for the pieces so no cached block is shared.
    t = Simulator(s.config)
    parts = pa.concat_tables([t.events(a, a + split), t.events(a + split, c)])
    assert parts.num_rows == whole.num_rows
    assert parts.equals(whole)


def test_many_small_chunks_equal_one_call() -> None:
    s = Simulator(SimulatorConfig(n_segments=40, seed=3))
    a = MONDAY + 23 * HOUR_MS
    c = a + 2 * HOUR_MS
    steps = [*range(a, c, 90_000), c]
    parts = pa.concat_tables([s.events(x, y) for x, y in itertools.pairwise(steps)])
    assert parts.equals(Simulator(s.config).events(a, c))


# ---------------------------------------------------------------------------- profiles


def mean_speed(s: Simulator, start: int, minutes: int = 30) -> float:
    return float(column(s.events(start, start + minutes * MINUTE_MS), "speed").mean())


def test_weekday_rush_hours_are_slower_than_night() -> None:
    s = clean()
    night = mean_speed(s, MONDAY + 3 * HOUR_MS)
    am = mean_speed(s, MONDAY + 7 * HOUR_MS + 45 * MINUTE_MS)
    pm = mean_speed(s, MONDAY + 17 * HOUR_MS + 15 * MINUTE_MS)
    assert am < 0.9 * night
    assert pm < 0.9 * night
    # Some segments are much worse than the network average.
    profile = s.speed_profile(np.arange(300), MONDAY + 8 * HOUR_MS)
    free_flow = s.segments.column("free_flow_speed").to_numpy()
    assert (profile / free_flow).min() < 0.5
    assert (profile / free_flow).max() > 0.8


def test_weekend_rush_is_milder() -> None:
    s = clean()
    drop = {}
    for name, day in (("weekday", MONDAY), ("weekend", SATURDAY)):
        night = mean_speed(s, day + 3 * HOUR_MS)
        rush = mean_speed(s, day + 7 * HOUR_MS + 45 * MINUTE_MS)
        drop[name] = night - rush
    assert drop["weekend"] < 0.5 * drop["weekday"]


def test_profile_is_smooth_and_segment_specific() -> None:
    s = sim()
    t = MONDAY + np.arange(0, 7 * DAY_MS, 30_000)
    for seg in (0, 57, 299):
        p = s.speed_profile(seg, t)
        assert np.abs(np.diff(p)).max() < 0.5  # mph per 30 s
    depth = 1 - s.speed_profile(np.arange(300), MONDAY + 8 * HOUR_MS) / s.speed_profile(
        np.arange(300), MONDAY + 3 * HOUR_MS
    )
    assert depth.std() > 0.05


def test_reading_noise_is_small_around_the_profile() -> None:
    s = clean(incidents_per_segment_day=0.0)
    start = MONDAY + 12 * HOUR_MS
    events = s.events(start, start + HOUR_MS)
    index = np.array([s.segment_index(x) for x in events.column("segment_id").to_pylist()])
    expected = s.speed_profile(index, timestamps(events))
    ratio = column(events, "speed") / expected
    assert abs(ratio.mean() - 1) < 0.01
    assert 0.01 < ratio.std() < 0.06


# --------------------------------------------------------------------------- incidents


def find_incident(s: Simulator, test: Callable[[Incident], bool]) -> Incident:
    for inc in s.incidents(MONDAY, MONDAY + 2 * DAY_MS):
        if test(inc):
            return inc
    raise AssertionError("no suitable incident")


def test_incident_slows_origin_then_upstream() -> None:
    s = clean(incidents_per_segment_day=0.2)
    all_incidents = s.incidents(MONDAY, MONDAY + 2 * DAY_MS)
    assert all_incidents

    def isolated(inc: Incident) -> bool:
        # Nothing else touches these segments around this time.
        window = (inc.start_ms - HOUR_MS, inc.effect_end_ms + HOUR_MS)
        mine = {a.segment_id for a in inc.affected}
        return (
            inc.severity > 0.5
            and any(a.hops == 1 for a in inc.upstream)
            and not any(
                other.incident_id != inc.incident_id
                and other.start_ms < window[1]
                and other.effect_end_ms > window[0]
                and mine & {a.segment_id for a in other.affected}
                for other in all_incidents
            )
        )

    inc = find_incident(s, isolated)
    assert 20 * MINUTE_MS <= inc.end_ms - inc.start_ms <= 90 * MINUTE_MS
    events = s.events(inc.start_ms - 30 * MINUTE_MS, inc.effect_end_ms + 30 * MINUTE_MS)

    def observed_ratio(segment_id: str, lo: int, hi: int) -> float:
        t, v = readings_of(events, segment_id)
        sel = (t >= lo) & (t < hi)
        assert sel.sum() >= 4
        return float((v[sel] / s.speed_profile(s.segment_index(segment_id), t[sel])).mean())

    ramp = 3 * MINUTE_MS
    assert observed_ratio(inc.segment_id, inc.start_ms - 20 * MINUTE_MS, inc.start_ms) > 0.97
    during = observed_ratio(inc.segment_id, inc.start_ms + ramp, inc.end_ms - ramp)
    assert during == pytest.approx(1 - inc.severity, abs=0.05)
    assert (
        observed_ratio(inc.segment_id, inc.effect_end_ms, inc.effect_end_ms + 20 * MINUTE_MS) > 0.97
    )

    hop1 = next(a for a in inc.upstream if a.hops == 1)
    assert hop1.start_ms - inc.start_ms >= 5 * MINUTE_MS
    assert hop1.severity < inc.severity
    # Upstream is still flowing while the origin is already blocked...
    assert observed_ratio(hop1.segment_id, inc.start_ms + ramp, hop1.start_ms) > 0.95
    # ...and slows once the queue reaches it.
    slowed = observed_ratio(hop1.segment_id, hop1.start_ms + ramp, hop1.end_ms - ramp)
    assert slowed == pytest.approx(1 - hop1.severity, abs=0.05)
    # The queue spreads hop by hop, later and weaker.
    by_hop = sorted(inc.affected, key=lambda a: a.hops)
    for near, far in itertools.pairwise(by_hop):
        if far.hops > near.hops:
            assert far.start_ms > near.start_ms
    links = set(
        zip(
            s.links.column("from_segment").to_pylist(),
            s.links.column("to_segment").to_pylist(),
            strict=True,
        )
    )
    assert (hop1.segment_id, inc.segment_id) in links


def test_incident_ground_truth_matches_factor() -> None:
    s = clean(incidents_per_segment_day=1.0)
    inc = s.incidents(MONDAY + 6 * HOUR_MS, MONDAY + 12 * HOUR_MS)[0]
    origin = s.segment_index(inc.segment_id)
    mid = (inc.start_ms + inc.end_ms) // 2
    assert s.incident_factor(origin, mid) <= 1 - inc.severity + 1e-9
    assert s.incident_factor(origin, inc.start_ms - MINUTE_MS) <= 1.0
    quiet = sim(incidents_per_segment_day=0.0)
    assert quiet.incidents(MONDAY, MONDAY + 7 * DAY_MS) == []
    # Ranges report what overlaps them, however they are cut.
    day = s.incidents(MONDAY, MONDAY + DAY_MS)
    halves = s.incidents(MONDAY, MONDAY + DAY_MS // 2) + s.incidents(
        MONDAY + DAY_MS // 2, MONDAY + DAY_MS
    )
    assert {i.incident_id for i in day} == {i.incident_id for i in halves}
    rate = len(s.incidents(MONDAY + DAY_MS, MONDAY + 2 * DAY_MS)) / 300
    assert 0.7 < rate < 1.4
    assert len({i.incident_id for i in day}) == len(day)


def test_readings_follow_profile_times_incident_factor() -> None:
    s = clean(incidents_per_segment_day=1.0)
    start = MONDAY + 6 * HOUR_MS
    events = s.events(start, start + 4 * HOUR_MS)
    index = np.array([s.segment_index(x) for x in events.column("segment_id").to_pylist()])
    ts = timestamps(events)
    factor = s.incident_factor(index, ts)
    assert (factor < 0.9).mean() > 0.01  # incidents are in there
    ratio = column(events, "speed") / (s.speed_profile(index, ts) * factor)
    assert abs(ratio.mean() - 1) < 0.01
    assert ratio.std() < 0.05


# ----------------------------------------------------------------------------- sensors


def test_dropouts_leave_gaps() -> None:
    s = sim(dropout_probability=0.2, noise_probability=0.0)
    start = MONDAY + 10 * HOUR_MS
    events = s.events(start, start + 4 * HOUR_MS)
    counts = pc.value_counts(events.column("segment_id").combine_chunks()).to_pylist()
    per_segment = {c["values"]: c["counts"] for c in counts}
    full = 4 * 120
    assert len(per_segment) >= 290  # almost nobody is offline for 4 hours straight...
    gaps = [n for n in per_segment.values() if n < full]
    assert len(gaps) > 50  # ...but many miss at least an hour
    assert all(n % 120 == 0 for n in per_segment.values())
    # The missing segment has no rows at all in that hour.
    hour = s.events(start, start + HOUR_MS)
    present = set(hour.column("segment_id").to_pylist())
    assert 0.6 * 300 < len(present) < 0.95 * 300
    assert clean().events(start, start + HOUR_MS).num_rows == 300 * 120


def test_noisy_sensors_have_low_quality_and_large_errors() -> None:
    s = sim(dropout_probability=0.0, noise_probability=0.2, incidents_per_segment_day=0.0)
    start = MONDAY + 11 * HOUR_MS
    events = s.events(start, start + HOUR_MS)
    quality = column(events, "quality_score")
    index = np.array([s.segment_index(x) for x in events.column("segment_id").to_pylist()])
    error = np.abs(column(events, "speed") - s.speed_profile(index, timestamps(events)))
    noisy = quality < 0.6
    assert 0.1 < noisy.mean() < 0.3
    assert np.median(error[noisy]) > 3 * np.median(error[~noisy])
    assert quality[~noisy].min() >= 0.85


def test_values_stay_in_valid_ranges() -> None:
    s = sim(noise_probability=0.5, dropout_probability=0.1, incidents_per_segment_day=2.0)
    events = s.events(MONDAY + 6 * HOUR_MS, MONDAY + 10 * HOUR_MS)
    speed, volume = column(events, "speed"), column(events, "volume")
    occupancy, quality = column(events, "occupancy"), column(events, "quality_score")
    assert np.isfinite(speed).all()
    assert np.isfinite(volume).all()
    assert np.isfinite(occupancy).all()
    assert speed.min() >= 0
    assert speed.max() <= 120
    assert volume.min() >= 0
    assert (volume == np.rint(volume)).all()
    assert occupancy.min() >= 0
    assert occupancy.max() <= 100
    assert quality.min() >= 0
    assert quality.max() <= 1
    assert events.column("event_id").null_count == 0


def test_volume_and_occupancy_follow_the_fundamental_diagram() -> None:
    s = clean(incidents_per_segment_day=1.0)
    events = s.events(MONDAY, MONDAY + DAY_MS)
    index = np.array([s.segment_index(x) for x in events.column("segment_id").to_pylist()])
    free_flow = s.segments.column("free_flow_speed").to_numpy()[index]
    lanes = s.segments.column("lanes").to_numpy()[index]
    speed, volume = column(events, "speed"), column(events, "volume")
    occupancy = column(events, "occupancy")
    # Slower traffic means denser traffic.
    assert np.corrcoef(speed / free_flow, occupancy)[0, 1] < -0.9
    # Flow = density x speed: volume per lane tracks occupancy x speed.
    assert np.corrcoef(volume / lanes, occupancy * speed)[0, 1] > 0.9
    night = (timestamps(events) - MONDAY) < 4 * HOUR_MS
    rush = np.abs(timestamps(events) - MONDAY - 8 * HOUR_MS) < 30 * MINUTE_MS
    assert volume[rush].mean() > 3 * volume[night].mean()
    assert occupancy[rush].mean() > 3 * occupancy[night].mean()


# ------------------------------------------------------------------------------ sizes


def test_single_segment_network() -> None:
    s = Simulator(SimulatorConfig(n_segments=1))
    assert s.segments.num_rows == 1
    assert s.links.num_rows == 0
    events = s.events(MONDAY, MONDAY + HOUR_MS)
    assert events.schema.equals(EVENT_SCHEMA)
    assert set(events.column("segment_id").to_pylist()) == {s.segment_ids[0]}
    assert events.num_rows in (0, 120)


@pytest.mark.parametrize("n", [2, 3, 51, 299])
def test_small_networks_have_exactly_n_segments(n: int) -> None:
    s = Simulator(SimulatorConfig(n_segments=n))
    assert s.segments.num_rows == n == len(set(s.segment_ids))
    ids = set(s.segment_ids)
    assert set(s.links.column("from_segment").to_pylist()) <= ids
    assert set(s.links.column("to_segment").to_pylist()) <= ids


def test_ten_thousand_segments() -> None:
    s = Simulator(SimulatorConfig(n_segments=10_000))
    assert s.segments.num_rows == 10_000 == len(set(s.segment_ids))
    ids = set(s.segment_ids)
    assert set(s.links.column("from_segment").to_pylist()) <= ids
    assert set(s.links.column("to_segment").to_pylist()) <= ids
    events = s.events(MONDAY + 8 * HOUR_MS, MONDAY + 8 * HOUR_MS + MINUTE_MS)
    assert 0.97 * 20_000 < events.num_rows <= 20_000
    assert events.schema.equals(EVENT_SCHEMA)


@pytest.mark.parametrize(
    "bad",
    [
        {"n_segments": 0},
        {"reading_interval_s": 0},
        {"dropout_probability": 1.5},
        {"noise_probability": -0.1},
        {"dropout_probability": 0.6, "noise_probability": 0.6},
        {"incidents_per_segment_day": -1.0},
    ],
)
def test_config_is_validated(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        SimulatorConfig(**bad)  # type: ignore[arg-type]


def test_other_reading_intervals() -> None:
    s = Simulator(SimulatorConfig(n_segments=20, reading_interval_s=7, dropout_probability=0.0))
    a, c = MONDAY + HOUR_MS - 100_000, MONDAY + HOUR_MS + 100_000
    events = s.events(a, c)
    ts = timestamps(events)
    assert (ts % 7_000 == 0).all()
    assert ts.min() >= a
    assert ts.max() < c
    assert len(np.unique(ts)) == len(range(-(-a // 7000), -(-c // 7000)))
    mid = MONDAY + HOUR_MS + 7_000 * 3
    assert pa.concat_tables([s.events(a, mid), s.events(mid, c)]).equals(events)
