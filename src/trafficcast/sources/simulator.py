"""The project's own traffic simulator.

A synthetic city around a centre point: a grid of freeway and arterial
corridors (each direction a separate chain of segments), daily speed profiles
with rush hours, incidents whose queues spread upstream, and sensors that drop
out or turn noisy. It is the demo's live source, the load generator for the
benchmarks and the ground truth for incident-detection tests.

All randomness is counter based: every hour block (and every local day, for the
day-to-day variation) draws from its own generator seeded with
``[seed, stream, index]``, so any time range can be generated on its own and
``events(a, c)`` equals ``events(a, b)`` followed by ``events(b, c)``.
Generation works on whole (slots x segments) matrices with numpy; the string
columns are assembled directly as Arrow buffers, because per-row string
building would dominate the cost.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from trafficcast.domain.schema import EVENT_SCHEMA, LINK_SCHEMA, SEGMENT_SCHEMA, TIMESTAMP

__all__ = [
    "DAY_MS",
    "HOUR_MS",
    "MINUTE_MS",
    "AffectedSegment",
    "Incident",
    "Simulator",
    "SimulatorConfig",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MINUTE_MS: Final = 60_000
HOUR_MS: Final = 3_600_000
DAY_MS: Final = 86_400_000
BLOCK_MS: Final = HOUR_MS

KM_PER_MILE: Final = 1.609344
_SEGMENT_KM: Final = 1.2  # about 0.75 mile; jittered per segment
_TARGET_EXTENT_KM: Final = 30.0
_DIRECTION_SEPARATION_KM: Final = 0.02  # carriageways drawn side by side on the map

# Greenshields fundamental diagram. A jam density of 130 veh/mile/lane gives a
# capacity of ~2100 veh/h/lane at 65 mph free flow, close to real freeways.
_JAM_DENSITY: Final = 130.0
_EFFECTIVE_VEHICLE_MILES: Final = 22.0 / 5280.0  # vehicle plus detector zone

_ALONG_ROAD_WEIGHT: Final = 1.0
_CROSSING_WEIGHT: Final = 0.5

_RAMP_MS: Final = 2 * MINUTE_MS
_MAX_HOPS: Final = 6
_MIN_INCIDENT_SEVERITY: Final = 0.05
_HOP_END_LAG_MS: Final = 2 * MINUTE_MS
_MAX_DURATION_MS: Final = 90 * MINUTE_MS
_MAX_EFFECT_MS: Final = _MAX_DURATION_MS + _MAX_HOPS * _HOP_END_LAG_MS
_LOOKBACK_BLOCKS: Final = -(-_MAX_EFFECT_MS // BLOCK_MS)

# Separate counter-based streams, so that e.g. changing the dropout rate does
# not reshuffle the reading noise.
_STREAM_NETWORK: Final = 1
_STREAM_PARAMS: Final = 2
_STREAM_SENSORS: Final = 3
_STREAM_READINGS: Final = 4
_STREAM_INCIDENTS: Final = 5
_STREAM_DAYS: Final = 6

_NS_FREEWAYS: Final = ("I-5", "I-405", "I-710", "I-605", "SR-110", "SR-170", "I-215")
_EW_FREEWAYS: Final = ("I-10", "SR-60", "I-105", "SR-91", "SR-134", "SR-118", "SR-210")


@dataclass(frozen=True)
class SimulatorConfig:
    n_segments: int = 300
    center_latitude: float = 34.05
    center_longitude: float = -118.25
    seed: int = 42
    reading_interval_s: int = 30
    incidents_per_segment_day: float = 0.05
    dropout_probability: float = 0.01
    noise_probability: float = 0.01
    source: str = "simulator"
    # Fixed offset rather than a tz database: rush hours must not jump at DST
    # changes, and the simulated city has no real calendar anyway.
    utc_offset_hours: float = -8.0

    def __post_init__(self) -> None:
        if self.n_segments < 1:
            raise ValueError("n_segments must be >= 1")
        if self.reading_interval_s < 1:
            raise ValueError("reading_interval_s must be >= 1")
        if self.incidents_per_segment_day < 0:
            raise ValueError("incidents_per_segment_day must be >= 0")
        for name in ("dropout_probability", "noise_probability"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.dropout_probability + self.noise_probability > 1.0:
            raise ValueError("dropout_probability + noise_probability must be <= 1")
        if self.seed < 0:
            raise ValueError("seed must be >= 0")


@dataclass(frozen=True)
class AffectedSegment:
    """One segment slowed by an incident, during [start_ms, end_ms)."""

    segment_id: str
    hops: int  # 0 = the origin, n = n links upstream of it
    start_ms: int
    end_ms: int
    severity: float  # fraction of speed lost at full effect


@dataclass(frozen=True)
class Incident:
    """Ground truth: an incident at ``segment_id`` and the queue it causes upstream.

    ``severity`` is the fraction of speed lost on the origin segment between
    ``start_ms`` and ``end_ms`` (with short ramps at both ends).
    """

    segment_id: str
    start_ms: int
    end_ms: int
    severity: float
    upstream: tuple[AffectedSegment, ...] = ()
    incident_id: str = ""

    @property
    def affected(self) -> tuple[AffectedSegment, ...]:
        """The origin (hops 0) followed by every upstream segment."""
        origin = AffectedSegment(self.segment_id, 0, self.start_ms, self.end_ms, self.severity)
        return (origin, *self.upstream)

    @property
    def effect_end_ms(self) -> int:
        return max([self.end_ms, *(a.end_ms for a in self.upstream)])


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _counter_key(index: int) -> int:
    # SeedSequence only takes non-negative entries; keep pre-1970 blocks distinct.
    return index if index >= 0 else (1 << 62) - index


# --------------------------------------------------------------------------- network


@dataclass(frozen=True)
class _Network:
    segments: pa.Table
    links: pa.Table
    segment_ids: list[str]
    free_flow: FloatArray
    lanes: FloatArray
    freeway: npt.NDArray[np.bool_]
    inbound: FloatArray  # +1 heading toward the centre, -1 heading away
    pred_indptr: IntArray  # CSR of upstream neighbours, by downstream segment
    pred_index: IntArray
    pred_weight: FloatArray
    pred_along: npt.NDArray[np.bool_]  # same road, as opposed to a crossing road


def _build_network(config: SimulatorConfig) -> _Network:
    n = config.n_segments
    rng = np.random.default_rng([config.seed, _STREAM_NETWORK])

    per_corridor_max = round(_TARGET_EXTENT_KM / _SEGMENT_KM)
    n_corridors = _ceil_div(n, 2 * per_corridor_max)
    m = _ceil_div(n, 2 * n_corridors)  # segments per corridor and direction
    extent = m * _SEGMENT_KM
    n_ns = _ceil_div(n_corridors, 2)
    n_ew = n_corridors // 2

    # Corridors alternate N-S / E-W so a truncated network still has crossings.
    orient_ns = np.arange(n_corridors) % 2 == 0
    within = np.arange(n_corridors) // 2
    count = np.where(orient_ns, n_ns, n_ew)
    offset = -extent / 2 + (within + 0.5) * extent / np.maximum(count, 1)
    freeway = (within % 4) == np.where(count == 1, 0, 1)

    interior = (np.arange(1, m) + rng.uniform(-0.15, 0.15, (n_corridors, m - 1))) * _SEGMENT_KM
    bounds = np.concatenate(
        [np.zeros((n_corridors, 1)), interior, np.full((n_corridors, 1), extent)], axis=1
    )
    amplitude = np.where(freeway, rng.uniform(0.2, 0.6, n_corridors), 0.0)
    wavelength = rng.uniform(8.0, 20.0, n_corridors)
    phase = rng.uniform(0.0, 2 * math.pi, n_corridors)
    corridor_speed = np.where(
        freeway, rng.uniform(62.0, 68.0, n_corridors), rng.uniform(37.0, 43.0, n_corridors)
    )
    corridor_lanes = np.where(
        freeway, rng.integers(4, 6, n_corridors), rng.integers(2, 4, n_corridors)
    )

    km_per_deg_lat = 110.574
    km_per_deg_lon = 111.320 * math.cos(math.radians(config.center_latitude))

    ids: list[str] = []
    names: list[str] = []
    roads: list[str] = []
    directions: list[str] = []
    lats: list[float] = []
    lons: list[float] = []
    lengths: list[float] = []
    geometries: list[str] = []
    seg_corridor: list[int] = []
    inbound: list[float] = []

    n_ns_freeways = 0
    n_ew_freeways = 0
    for c in range(n_corridors):
        ns = bool(orient_ns[c])
        if freeway[c]:
            if ns:
                pool, k = _NS_FREEWAYS, n_ns_freeways
                n_ns_freeways += 1
            else:
                pool, k = _EW_FREEWAYS, n_ew_freeways
                n_ew_freeways += 1
            road = pool[k] if k < len(pool) else f"SR-{(300 if ns else 600) + k}"
            code = road.replace("-", "")
        else:
            number = int(within[c]) + 1
            road = f"Ave {number}" if ns else f"St {number}"
            code = f"AV{number}" if ns else f"ST{number}"
        b = bounds[c]
        for d, (dir_name, sign) in enumerate(
            (("N", 1.0), ("S", -1.0)) if ns else (("E", 1.0), ("W", -1.0))
        ):
            base = c * 2 * m + d * m
            if base >= n:
                break
            for i in range(min(m, n - base)):
                if sign > 0:
                    s0, s1 = float(b[i]), float(b[i + 1])
                else:
                    s0, s1 = float(b[m - i]), float(b[m - i - 1])
                along = np.array([s0, (s0 + s1) / 2, s1])
                lateral = amplitude[c] * np.sin(2 * math.pi * along / wavelength[c] + phase[c])
                # Right-hand traffic: each direction sits on its own side.
                side = _DIRECTION_SEPARATION_KM * sign * (1.0 if ns else -1.0)
                cross = offset[c] + lateral + side
                pos = along - extent / 2
                x, y = (cross, pos) if ns else (pos, cross)
                lon = config.center_longitude + x / km_per_deg_lon
                lat = config.center_latitude + y / km_per_deg_lat
                u0 = s0 if sign > 0 else extent - s0
                ids.append(f"{code}-{dir_name}-{i:03d}")
                names.append(f"{road} {dir_name} @ mile {u0 / KM_PER_MILE:.1f}")
                roads.append(road)
                directions.append(dir_name)
                lats.append(float(lat[1]))
                lons.append(float(lon[1]))
                lengths.append(round(abs(s1 - s0) / KM_PER_MILE, 3))
                geometries.append(
                    json.dumps(
                        [
                            [round(float(a), 6), round(float(o), 6)]
                            for a, o in zip(lon, lat, strict=True)
                        ]
                    )
                )
                seg_corridor.append(c)
                mid_x, mid_y = float(x[1]), float(y[1])
                heading = (0.0, sign) if ns else (sign, 0.0)
                dist = math.hypot(mid_x, mid_y)
                inbound.append(
                    0.0 if dist == 0 else -(mid_x * heading[0] + mid_y * heading[1]) / dist
                )

    corridor_of = np.asarray(seg_corridor, dtype=np.int64)
    free_flow = np.round(corridor_speed[corridor_of] + rng.uniform(-2.0, 2.0, n), 1)
    lanes = corridor_lanes[corridor_of].astype(np.int32)

    # Links in construction numbering (corridor, direction, position).
    def gidx(c: IntArray, d: IntArray | int, i: IntArray) -> IntArray:
        return np.asarray(c * 2 * m + d * m + i, dtype=np.int64)

    link_from: list[IntArray] = []
    link_to: list[IntArray] = []
    link_w: list[FloatArray] = []
    link_along: list[npt.NDArray[np.bool_]] = []
    if m > 1:
        cc, dd, ii = np.meshgrid(
            np.arange(n_corridors), np.arange(2), np.arange(m - 1), indexing="ij"
        )
        frm = gidx(cc.ravel(), dd.ravel(), ii.ravel())
        link_from.append(frm)
        link_to.append(frm + 1)
        link_w.append(np.full(frm.size, _ALONG_ROAD_WEIGHT))
        link_along.append(np.ones(frm.size, np.bool_))
    if n_ns and n_ew:
        jj, kk = np.meshgrid(np.arange(n_ns), np.arange(n_ew), indexing="ij")
        c_ns = (2 * jj).ravel().astype(np.int64)
        c_ew = (2 * kk + 1).ravel().astype(np.int64)
        # Where each corridor crosses the other, measured along it.
        at_ns = offset[c_ew] + extent / 2
        at_ew = offset[c_ns] + extent / 2
        i_ns = np.clip((bounds[c_ns] <= at_ns[:, None]).sum(axis=1) - 1, 0, m - 1)
        i_ew = np.clip((bounds[c_ew] <= at_ew[:, None]).sum(axis=1) - 1, 0, m - 1)
        ns_segs = (gidx(c_ns, 0, i_ns), gidx(c_ns, 1, m - 1 - i_ns))
        ew_segs = (gidx(c_ew, 0, i_ew), gidx(c_ew, 1, m - 1 - i_ew))
        for a in ns_segs:
            for e in ew_segs:
                link_from.extend([a, e])
                link_to.extend([e, a])
                link_w.extend([np.full(a.size, _CROSSING_WEIGHT)] * 2)
                link_along.extend([np.zeros(a.size, np.bool_)] * 2)
    if link_from:
        frm_all = np.concatenate(link_from)
        to_all = np.concatenate(link_to)
        w_all = np.concatenate(link_w)
        along_all = np.concatenate(link_along)
        keep = (frm_all < n) & (to_all < n)
        frm_all, to_all, w_all = frm_all[keep], to_all[keep], w_all[keep]
        along_all = along_all[keep]
    else:
        frm_all = np.empty(0, np.int64)
        to_all = np.empty(0, np.int64)
        w_all = np.empty(0, np.float64)
        along_all = np.empty(0, np.bool_)

    # Number segments in id order, so rows generated segment-major per slot
    # come out sorted by (timestamp, segment_id) without a sort.
    order = np.array(sorted(range(n), key=ids.__getitem__), dtype=np.int64)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    frm_all, to_all = rank[frm_all], rank[to_all]
    link_order = np.lexsort((to_all, frm_all))
    frm_all, to_all, w_all = frm_all[link_order], to_all[link_order], w_all[link_order]
    along_all = along_all[link_order]

    def pick(values: list[str] | list[float]) -> list[object]:
        return [values[k] for k in order]

    sorted_ids = [ids[k] for k in order]
    segments = pa.Table.from_arrays(
        [
            pa.array(sorted_ids, pa.string()),
            pa.array(pick(names), pa.string()),
            pa.array(pick(roads), pa.string()),
            pa.array(pick(directions), pa.string()),
            pa.array(np.asarray(lats)[order], pa.float64()),
            pa.array(np.asarray(lons)[order], pa.float64()),
            pa.array(free_flow[order], pa.float64()),
            pa.array(np.asarray(lengths)[order], pa.float64()),
            pa.array(lanes[order], pa.int32()),
            pa.array(pick(geometries), pa.string()),
        ],
        schema=SEGMENT_SCHEMA,
    )
    id_array = pa.array(sorted_ids, pa.string())
    links = pa.Table.from_arrays(
        [id_array.take(frm_all), id_array.take(to_all), pa.array(w_all, pa.float64())],
        schema=LINK_SCHEMA,
    )

    by_to = np.argsort(to_all, kind="stable")
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(to_all, minlength=n), out=indptr[1:])
    return _Network(
        segments=segments,
        links=links,
        segment_ids=sorted_ids,
        free_flow=free_flow[order].astype(np.float64),
        lanes=lanes[order].astype(np.float64),
        freeway=freeway[corridor_of][order],
        inbound=np.asarray(inbound, np.float64)[order],
        pred_indptr=indptr,
        pred_index=frm_all[by_to],
        pred_weight=w_all[by_to],
        pred_along=along_all[by_to],
    )


# --------------------------------------------------------------------- string columns


def _pack_strings(values: list[str]) -> tuple[npt.NDArray[np.uint8], IntArray]:
    encoded = [v.encode() for v in values]
    offsets = np.zeros(len(encoded) + 1, np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), np.uint8), offsets


def _string_array(offsets: IntArray, data: npt.NDArray[np.uint8]) -> pa.Array:
    if offsets[-1] >= 2**31:
        raise OverflowError("string column too large for one block")
    return pa.Array.from_buffers(
        pa.string(),
        len(offsets) - 1,
        [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)],
    )


def _slot_major_strings(
    buf: npt.NDArray[np.uint8], offs: IntArray, active: IntArray, suffixes: list[bytes]
) -> pa.Array:
    """Rows (slot, segment) in slot-major order: text[segment] + suffixes[slot].

    Every slot repeats the same byte layout, so one slot is laid out once as a
    template and copied; only the suffix bytes differ, and they are written as
    one strided scatter. Suffixes of different lengths (rare: a new digit in
    the timestamp) are handled as separate runs.
    """
    starts = offs[active]
    plen = offs[active + 1] - starts
    n_active = active.size
    pieces: list[pa.Array] = []
    run_begin = 0
    while run_begin < len(suffixes):
        width_suffix = len(suffixes[run_begin])
        run_end = run_begin
        while run_end < len(suffixes) and len(suffixes[run_end]) == width_suffix:
            run_end += 1
        n_slots = run_end - run_begin
        row_len = plen + width_suffix
        row_start = np.zeros(n_active, np.int64)
        np.cumsum(row_len[:-1], out=row_start[1:])
        width = int(row_len.sum())
        template = np.zeros(width, np.uint8)
        total_prefix = int(plen.sum())
        prefix_start = np.zeros(n_active, np.int64)
        np.cumsum(plen[:-1], out=prefix_start[1:])
        intra = np.arange(total_prefix) - np.repeat(prefix_start, plen)
        template[np.repeat(row_start, plen) + intra] = buf[np.repeat(starts, plen) + intra]
        data = np.empty((n_slots, width), np.uint8)
        data[:] = template
        if width_suffix:
            suffix = np.frombuffer(b"".join(suffixes[run_begin:run_end]), np.uint8)
            suffix = suffix.reshape(n_slots, width_suffix)
            positions = ((row_start + plen)[:, None] + np.arange(width_suffix)).ravel()
            data[:, positions] = np.tile(suffix, (1, n_active))
        offsets = np.empty(n_slots * n_active + 1, np.int64)
        offsets[:-1] = (np.arange(n_slots)[:, None] * width + row_start[None, :]).ravel()
        offsets[-1] = n_slots * width
        pieces.append(_string_array(offsets, data.ravel()))
        run_begin = run_end
    if not pieces:
        return pa.array([], pa.string())
    return pieces[0] if len(pieces) == 1 else pa.concat_arrays(pieces)


def _constant_strings(value: str, n: int) -> pa.Array:
    encoded = value.encode()
    offsets = np.arange(n + 1, dtype=np.int64) * len(encoded)
    data = np.frombuffer(encoded * n, np.uint8) if encoded else np.zeros(0, np.uint8)
    return _string_array(offsets, data)


# ------------------------------------------------------------------------ simulator


@dataclass(frozen=True)
class _Block:
    table: pa.Table
    first_slot: int
    n_slots: int
    n_active: int


class Simulator:
    """Deterministic synthetic traffic for ``config``; see the module docstring."""

    def __init__(self, config: SimulatorConfig = SimulatorConfig()) -> None:
        self.config = config
        net = _build_network(config)
        self._net = net
        self.segments: pa.Table = net.segments
        self.links: pa.Table = net.links
        self.segment_ids: list[str] = net.segment_ids
        self._interval_ms = config.reading_interval_s * 1000
        self._offset_ms = round(config.utc_offset_hours * HOUR_MS)
        self._lat = net.segments.column("latitude").to_numpy()
        self._lon = net.segments.column("longitude").to_numpy()
        self._id_buf, self._id_offs = _pack_strings(net.segment_ids)
        self._eid_buf, self._eid_offs = _pack_strings([f"sim-{s}-" for s in net.segment_ids])

        n = config.n_segments
        rng = np.random.default_rng([config.seed, _STREAM_PARAMS])
        fw = net.freeway
        # Inbound traffic queues in the morning, outbound in the evening.
        self._base_loss = rng.uniform(0.03, 0.10, n)
        self._am_loss = np.where(fw, rng.uniform(0.15, 0.45, n), rng.uniform(0.08, 0.30, n)) * (
            1.0 + 0.4 * net.inbound
        )
        self._pm_loss = np.where(fw, rng.uniform(0.20, 0.50, n), rng.uniform(0.10, 0.30, n)) * (
            1.0 - 0.4 * net.inbound
        )
        self._weekend_loss = rng.uniform(0.05, 0.15, n)

        self._day_cache: dict[int, FloatArray] = {}
        self._incident_cache: dict[int, list[Incident]] = {}
        self._block_cache: tuple[int, _Block] | None = None
        self._index_of = {s: i for i, s in enumerate(net.segment_ids)}

    # ------------------------------------------------------------------ profile

    def _day_factors(self, days: IntArray) -> FloatArray:
        """Day-to-day variation of rush-hour depth, shape (len(days), n_segments)."""
        rows = []
        for day in days.tolist():
            factor = self._day_cache.get(day)
            if factor is None:
                rng = np.random.default_rng([self.config.seed, _STREAM_DAYS, _counter_key(day)])
                factor = rng.uniform(0.8, 1.2, self.config.n_segments)
                if len(self._day_cache) > 64:
                    self._day_cache.clear()
                self._day_cache[day] = factor
            rows.append(factor)
        return np.stack(rows) if rows else np.empty((0, self.config.n_segments))

    def speed_profile(
        self, segment_index: int | npt.ArrayLike, timestamps_ms: int | npt.ArrayLike
    ) -> FloatArray:
        """Expected speed (mph) without incidents; the arguments broadcast together."""
        seg = np.asarray(segment_index, dtype=np.int64)
        t = np.asarray(timestamps_ms, dtype=np.int64)
        local = t + self._offset_ms
        day = local // DAY_MS
        hour = (local - day * DAY_MS) / HOUR_MS
        weekend = ((day + 3) % 7) >= 5  # 1970-01-01 was a Thursday

        def bump(centre: float, width: float) -> FloatArray:
            # Circular distance keeps the profile continuous across midnight.
            dist = (hour - centre + 12.0) % 24.0 - 12.0
            return np.asarray(np.exp(-0.5 * (dist / width) ** 2), np.float64)

        am = bump(7.9, 0.8) * np.where(weekend, 0.15, 1.0)
        pm = bump(17.4, 1.1) * np.where(weekend, 0.3, 1.0)
        midday = bump(13.5, 2.2) * weekend
        daytime = bump(13.0, 4.5) * np.where(weekend, 0.8, 1.0)

        days, inverse = np.unique(day, return_inverse=True)
        factor = self._day_factors(days)[inverse.reshape(day.shape), seg]
        loss = self._base_loss[seg] * daytime + factor * (
            self._am_loss[seg] * am + self._pm_loss[seg] * pm + self._weekend_loss[seg] * midday
        )
        ratio = np.clip(0.98 - loss, 0.08, 1.0)
        return np.asarray(self._net.free_flow[seg] * ratio, np.float64)

    # ---------------------------------------------------------------- incidents

    def _block_incidents(self, block: int) -> list[Incident]:
        cached = self._incident_cache.get(block)
        if cached is not None:
            return cached
        cfg = self.config
        n = cfg.n_segments
        rng = np.random.default_rng([cfg.seed, _STREAM_INCIDENTS, _counter_key(block)])
        rate = cfg.incidents_per_segment_day * BLOCK_MS / DAY_MS
        counts = rng.poisson(rate, n)
        origins = np.repeat(np.arange(n), counts)
        k = origins.size
        start = block * BLOCK_MS + rng.integers(0, BLOCK_MS // 1000, k) * 1000
        duration = rng.integers(20 * 60, 90 * 60 + 1, k) * 1000
        severity = rng.uniform(0.3, 0.85, k)
        decay = rng.uniform(0.5, 0.8, k)
        hop_delay = rng.integers(5 * 60, 10 * 60 + 1, (k, _MAX_HOPS)) * 1000

        incidents = []
        for j in range(k):
            origin = int(origins[j])
            s0 = int(start[j])
            e0 = s0 + int(duration[j])
            sev = float(severity[j])
            upstream = self._spread_upstream(
                origin, s0, e0, sev, float(decay[j]), hop_delay[j].tolist()
            )
            seg_id = self.segment_ids[origin]
            incidents.append(
                Incident(
                    segment_id=seg_id,
                    start_ms=s0,
                    end_ms=e0,
                    severity=round(sev, 4),
                    upstream=upstream,
                    incident_id=f"inc-{seg_id}-{s0}",
                )
            )
        if len(self._incident_cache) >= 512:
            self._incident_cache.clear()
        self._incident_cache[block] = incidents
        return incidents

    def _spread_upstream(
        self, origin: int, start: int, end: int, severity: float, decay: float, delays: list[int]
    ) -> tuple[AffectedSegment, ...]:
        """The queue behind an incident: one more segment up the same road every
        hop delay, each weaker by ``decay``. Cross streets feeding the blocked
        segment back up too, but the queue is not followed along them: in a dense
        grid that would spread a single crash over hundreds of segments.
        """
        net = self._net
        affected: list[AffectedSegment] = []
        visited = {origin}
        frontier = [origin]
        onset = start
        for hop in range(1, _MAX_HOPS + 1):
            onset += delays[hop - 1]
            hop_end = end + hop * _HOP_END_LAG_MS
            hop_severity = severity * decay**hop
            if onset >= hop_end - 2 * _RAMP_MS or hop_severity < _MIN_INCIDENT_SEVERITY:
                break
            following: list[int] = []
            for seg in frontier:
                lo, hi = int(net.pred_indptr[seg]), int(net.pred_indptr[seg + 1])
                for p, w, along in zip(
                    net.pred_index[lo:hi].tolist(),
                    net.pred_weight[lo:hi].tolist(),
                    net.pred_along[lo:hi].tolist(),
                    strict=True,
                ):
                    if p in visited or not (along or hop == 1):
                        continue
                    sev = hop_severity * w
                    if sev < _MIN_INCIDENT_SEVERITY:
                        continue
                    visited.add(p)
                    if along:
                        following.append(p)
                    affected.append(
                        AffectedSegment(self.segment_ids[p], hop, onset, hop_end, round(sev, 4))
                    )
            frontier = following
            if not frontier:
                break
        return tuple(affected)

    def incidents(self, start_ms: int, end_ms: int) -> list[Incident]:
        """Incidents whose effect (origin or upstream) overlaps [start_ms, end_ms)."""
        if end_ms <= start_ms:
            return []
        first = start_ms // BLOCK_MS - _LOOKBACK_BLOCKS
        last = (end_ms - 1) // BLOCK_MS
        found = [
            inc
            for b in range(first, last + 1)
            for inc in self._block_incidents(b)
            if inc.start_ms < end_ms and inc.effect_end_ms > start_ms
        ]
        found.sort(key=lambda inc: (inc.start_ms, inc.segment_id))
        return found

    @staticmethod
    def _incident_shape(t: IntArray, start: int, end: int) -> FloatArray:
        rise = np.clip((t - start) / _RAMP_MS, 0.0, 1.0)
        fall = np.clip((end - t) / _RAMP_MS, 0.0, 1.0)
        return np.asarray(rise * fall, np.float64)

    def incident_factor(
        self, segment_index: int | npt.ArrayLike, timestamps_ms: int | npt.ArrayLike
    ) -> FloatArray:
        """Ground-truth multiplier (<= 1) that incidents apply to the speed profile."""
        seg, t = np.broadcast_arrays(
            np.asarray(segment_index, dtype=np.int64), np.asarray(timestamps_ms, dtype=np.int64)
        )
        factor = np.ones(seg.shape, np.float64)
        if t.size == 0:
            return factor
        for inc in self.incidents(int(t.min()), int(t.max()) + 1):
            for a in inc.affected:
                hit = (seg == self._index_of[a.segment_id]) & (t > a.start_ms) & (t < a.end_ms)
                if hit.any():
                    factor[hit] *= 1.0 - a.severity * self._incident_shape(
                        t[hit], a.start_ms, a.end_ms
                    )
        return factor

    # ------------------------------------------------------------------- events

    def _block(self, block: int) -> _Block:
        # Only the latest block is kept: live callers ask for short consecutive
        # ranges inside the same hour, and one block of 10 000 segments already
        # holds ~150 MB.
        cached = self._block_cache
        if cached is not None and cached[0] == block:
            return cached[1]
        built = self._build_block(block)
        self._block_cache = (block, built)
        return built

    def _build_block(self, block: int) -> _Block:
        cfg = self.config
        n = cfg.n_segments
        interval = self._interval_ms
        first_slot = _ceil_div(block * BLOCK_MS, interval)
        end_slot = _ceil_div((block + 1) * BLOCK_MS, interval)
        slots = np.arange(first_slot, end_slot, dtype=np.int64)
        t = slots * interval
        n_slots = t.size
        key = _counter_key(block)

        sensors = np.random.default_rng([cfg.seed, _STREAM_SENSORS, key])
        draw = sensors.random(n)
        quality_clean = sensors.uniform(0.85, 1.0, n)
        quality_noisy = sensors.uniform(0.2, 0.55, n)
        dropped = draw < cfg.dropout_probability
        noisy = ~dropped & (draw < cfg.dropout_probability + cfg.noise_probability)
        quality = np.where(noisy, quality_noisy, quality_clean)
        active = np.flatnonzero(~dropped).astype(np.int64)

        true_speed = self.speed_profile(np.arange(n)[None, :], t[:, None])
        for b in range(block - _LOOKBACK_BLOCKS, block + 1):
            for inc in self._block_incidents(b):
                for a in inc.affected:
                    lo = int(np.searchsorted(t, a.start_ms, side="right"))
                    hi = int(np.searchsorted(t, a.end_ms, side="left"))
                    if lo < hi:
                        col = self._index_of[a.segment_id]
                        true_speed[lo:hi, col] *= 1.0 - a.severity * self._incident_shape(
                            t[lo:hi], a.start_ms, a.end_ms
                        )

        readings = np.random.default_rng([cfg.seed, _STREAM_READINGS, key])
        z = readings.standard_normal((3, n_slots, n))
        free_flow = self._net.free_flow
        density = _JAM_DENSITY * np.clip(1.0 - true_speed / free_flow, 0.0, 1.0)
        mean_volume = density * true_speed * (self._net.lanes * (interval / HOUR_MS))
        speed = true_speed * (1.0 + 0.03 * z[0])
        # Counts are roughly Poisson: spread grows with the square root of the mean.
        volume = mean_volume + np.sqrt(mean_volume) * z[1]
        occupancy = (100.0 * _EFFECTIVE_VEHICLE_MILES) * density * (1.0 + 0.05 * z[2])

        noisy_cols = np.flatnonzero(noisy)
        if noisy_cols.size:
            zn = readings.standard_normal((3, n_slots, noisy_cols.size))
            gain = readings.uniform(0.3, 2.0, (2, noisy_cols.size))
            speed[:, noisy_cols] += 15.0 * zn[0]
            volume[:, noisy_cols] = volume[:, noisy_cols] * gain[0] + 10.0 * zn[1]
            occupancy[:, noisy_cols] = occupancy[:, noisy_cols] * gain[1] + 10.0 * zn[2]

        if active.size < n:
            speed, volume, occupancy = speed[:, active], volume[:, active], occupancy[:, active]
        np.clip(speed, 0.0, 120.0, out=speed)
        np.rint(volume, out=volume)
        np.maximum(volume, 0.0, out=volume)
        np.clip(occupancy, 0.0, 100.0, out=occupancy)

        n_active = active.size
        rows = n_slots * n_active
        stamps = [str(int(v)).encode() for v in t]
        table = pa.Table.from_arrays(
            [
                _slot_major_strings(self._eid_buf, self._eid_offs, active, stamps),
                _slot_major_strings(self._id_buf, self._id_offs, active, [b""] * n_slots),
                pa.array(np.repeat(t, n_active), TIMESTAMP),
                pa.array(speed.ravel(), pa.float64()),
                pa.array(volume.ravel(), pa.float64()),
                pa.array(occupancy.ravel(), pa.float64()),
                pa.array(np.tile(self._lat[active], n_slots), pa.float64()),
                pa.array(np.tile(self._lon[active], n_slots), pa.float64()),
                _constant_strings(cfg.source, rows),
                pa.array(np.tile(quality[active], n_slots), pa.float64()),
            ],
            schema=EVENT_SCHEMA,
        )
        return _Block(table, first_slot, n_slots, n_active)

    def events(self, start_ms: int, end_ms: int) -> pa.Table:
        """Every reading with timestamp in [start_ms, end_ms), sorted by timestamp, segment_id."""
        interval = self._interval_ms
        first = _ceil_div(start_ms, interval)
        stop = _ceil_div(end_ms, interval)
        if stop <= first:
            return EVENT_SCHEMA.empty_table()
        pieces = []
        first_block = first * interval // BLOCK_MS
        last_block = (stop - 1) * interval // BLOCK_MS
        for b in range(first_block, last_block + 1):
            blk = self._block(b)
            lo = max(first, blk.first_slot) - blk.first_slot
            hi = min(stop, blk.first_slot + blk.n_slots) - blk.first_slot
            if hi > lo:
                pieces.append(blk.table.slice(lo * blk.n_active, (hi - lo) * blk.n_active))
        if not pieces:
            return EVENT_SCHEMA.empty_table()
        return pieces[0] if len(pieces) == 1 else pa.concat_tables(pieces)

    def segment_index(self, segment_id: str) -> int:
        return self._index_of[segment_id]
