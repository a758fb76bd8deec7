"""A scaled-out trafficcast for tests: Kafka, PostgreSQL, `trafficcast process` and
`trafficcast serve` as real processes, fed a known simulated input, and the window
results that input must give, computed independently of the stream code."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

import httpx
import psycopg
import pyarrow as pa

from trafficcast.api.background import free_port
from trafficcast.bus.kafka import KafkaBus, KafkaBusConfig
from trafficcast.config import Settings
from trafficcast.runtime import open_store
from trafficcast.sources.simulator import Simulator, SimulatorConfig

MIN = 60_000
HOUR = 60 * MIN
T0 = 1_767_600_000_000 - 1_767_600_000_000 % HOUR  # a whole hour in January 2026
PARTITIONS = 4

Key = tuple[str, int, int]  # segment, window minutes, window start ms


def simulated(
    minutes: int, segments: int = 40, seed: int = 5, dropouts: float = 0.0
) -> tuple[Simulator, pa.Table]:
    sim = Simulator(SimulatorConfig(n_segments=segments, seed=seed, dropout_probability=dropouts))
    events = sim.events(T0, T0 + minutes * MIN).sort_by([("timestamp", "ascending")])
    return sim, events


def by_minute(events: pa.Table, minutes: int = 1) -> list[pa.Table]:
    """The input as a source would send it: one batch per `minutes` of event time (a live
    source sends small ones; a replay large ones, whose records span minutes)."""
    slot = (events.column("timestamp").cast(pa.int64()).to_numpy() - T0) // (minutes * MIN)
    return [events.filter(pa.array(slot == m)) for m in range(int(slot.max()) + 1)]


def expected_windows(
    events: pa.Table, closed_before_ms: int
) -> dict[Key, tuple[int, float, float]]:
    """(count, mean speed, volume sum) per window that ends by `closed_before_ms`, in plain
    Python over the input rows: no code shared with the stream processor."""
    acc: dict[Key, list[float]] = defaultdict(lambda: [0, 0.0, 0.0])
    for seg, ts, speed, volume in zip(
        events.column("segment_id").to_pylist(),
        events.column("timestamp").cast(pa.int64()).to_pylist(),
        events.column("speed").to_pylist(),
        events.column("volume").to_pylist(),
        strict=True,
    ):
        for minutes in (1, 5):
            start = ts - ts % (minutes * MIN)
            if start + minutes * MIN <= closed_before_ms:
                a = acc[(seg, minutes, start)]
                a[0] += 1
                a[1] += speed
                a[2] += volume or 0.0
    return {k: (int(c), s / c, v) for k, (c, s, v) in acc.items()}


class Cluster:
    """Processes of one scaled-out deployment sharing a Kafka broker and a database."""

    def __init__(self, tmp: Path, bootstrap: str, database_url: str, **env: str) -> None:
        self.tmp = tmp
        self.bootstrap = bootstrap
        self.database_url = database_url
        self.bus_url = f"kafka://{bootstrap}?partitions={PARTITIONS}"
        self.group = f"processors-{uuid.uuid4().hex[:8]}"
        self.env = {
            **os.environ,
            "TRAFFICCAST_BUS": self.bus_url,
            "TRAFFICCAST_DATABASE_URL": database_url,
            "TRAFFICCAST_CONSUMER_GROUP": self.group,
            "TRAFFICCAST_DATA_DIR": str(tmp / "data"),
            "TRAFFICCAST_HORIZONS_MIN": "15,30",
            "TRAFFICCAST_LOG_LEVEL": "INFO",
            **env,
        }
        self.processes: list[subprocess.Popen[bytes]] = []
        self._logs = 0

    def _spawn(self, *args: str) -> subprocess.Popen[bytes]:
        self._logs += 1
        log = open(self.tmp / f"{args[0]}-{self._logs}.log", "wb")  # noqa: SIM115 - closed at exit
        proc = subprocess.Popen(
            [sys.executable, "-m", "trafficcast.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.processes.append(proc)
        return proc

    def processor(self, *args: str, wait_assigned: bool = True) -> subprocess.Popen[bytes]:
        """A new `trafficcast process`; by default once it owns partitions."""
        proc = self._spawn("process", "--report-every", "1", *args)
        if wait_assigned:
            self.wait_for_log(proc, "assigned partitions")
        return proc

    def log_of(self, proc: subprocess.Popen[bytes]) -> str:
        n = self.processes.index(proc) + 1
        return next(self.tmp.glob(f"*-{n}.log")).read_text(errors="replace")

    def wait_for_log(self, proc: subprocess.Popen[bytes], text: str, times: int = 1) -> None:
        self.wait_for(f"{text!r} in a log", lambda: self.log_of(proc).count(text) >= times)

    def api(self) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        proc = self._spawn("serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code in (200, 503):
                    return proc, url
            except httpx.HTTPError:
                time.sleep(0.2)
        raise AssertionError(f"API did not start: {self.logs()}")

    def producer(self) -> KafkaBus:
        return KafkaBus(KafkaBusConfig.from_url(self.bus_url))

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.tmp.glob("*.log"))
        )

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()

    # what the store holds ---------------------------------------------------------
    def stored_windows(self, closed_before_ms: int) -> dict[Key, tuple[int, float, float]]:
        with psycopg.connect(self.database_url) as conn:
            rows = conn.execute(
                "SELECT segment_id, window_minutes, "
                "(extract(epoch FROM window_start) * 1000)::bigint, count, mean_speed, volume "
                "FROM window_aggregates WHERE window_end <= to_timestamp(%s / 1000.0)",
                (closed_before_ms,),
            ).fetchall()
        return {(s, m, t): (int(c), float(sp), float(v or 0.0)) for s, m, t, c, sp, v in rows}

    def stored_event_ids(self) -> tuple[int, int]:
        """(rows, distinct ids) in the events table."""
        with psycopg.connect(self.database_url) as conn:
            row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM events").fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def wait_for(
        self,
        what: str,
        done: Callable[[], bool],
        timeout: float = 90.0,
        detail: Callable[[], str] = lambda: "",
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if done():
                    return
            except psycopg.OperationalError:
                pass
            time.sleep(0.5)
        raise AssertionError(f"timed out waiting for {what}: {detail()}\n{self.logs()}")


def assert_exact(cluster: Cluster, events: pa.Table) -> None:
    """Every closed window equals the independent result; every event stored once."""
    last = int(events.column("timestamp").cast(pa.int64()).to_numpy().max())
    cutoff = last - last % (5 * MIN)  # windows ending here or before are closed everywhere
    expected = expected_windows(events, cutoff)
    n = events.num_rows

    def complete() -> bool:
        rows, _ = cluster.stored_event_ids()
        return rows >= n and len(cluster.stored_windows(cutoff)) >= len(expected)

    cluster.wait_for(
        "all events and windows to be stored",
        complete,
        detail=lambda: (
            f"stored {cluster.stored_event_ids()} of {n} events, "
            f"{len(cluster.stored_windows(cutoff))} of {len(expected)} closed windows"
        ),
    )
    rows, distinct = cluster.stored_event_ids()
    assert (rows, distinct) == (n, n), "events lost or doubled"
    stored = cluster.stored_windows(cutoff)
    assert stored.keys() == expected.keys()
    wrong = {
        k: (stored[k], e)
        for k, e in expected.items()
        if stored[k][0] != e[0]
        or abs(stored[k][1] - e[1]) > 1e-9
        or abs(stored[k][2] - e[2]) > 1e-6
    }
    assert not wrong, f"{len(wrong)} windows differ, e.g. {list(wrong.items())[:3]}"


__all__ = ["Cluster", "Settings", "assert_exact", "by_minute", "open_store", "simulated"]
