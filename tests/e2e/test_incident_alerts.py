"""An incident the simulator injects becomes a stored incident alert through a Runtime's
stream processor (windows, profile, road graph and alert write, as in production)."""

from __future__ import annotations

from pathlib import Path

from trafficcast.config import Settings
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator, SimulatorConfig
from trafficcast.store.base import AlertQuery

MIN = 60_000
T0 = 1_767_600_000_000  # 2026-01-05T08:00:00Z


def test_an_injected_incident_raises_one_incident_alert(tmp_path: Path) -> None:
    sim = Simulator(
        SimulatorConfig(
            n_segments=12,
            seed=2,
            incidents_per_segment_day=1.0,
            dropout_probability=0.0,
            noise_probability=0.0,
        )
    )
    # An incident alone in the hour before it and the half hour after: every alert
    # then belongs to it.
    found = sim.incidents(T0, T0 + 24 * 60 * MIN)
    incident = next(
        i
        for i in found
        if i.start_ms > T0 + 60 * MIN
        and all(
            o is i or o.effect_end_ms < i.start_ms - 60 * MIN or o.start_ms > i.start_ms + 30 * MIN
            for o in found
        )
    )
    start, stop = incident.start_ms - 60 * MIN, incident.start_ms + 30 * MIN
    start -= start % (5 * MIN)
    runtime = Runtime(Settings(data_dir=tmp_path))
    try:
        runtime.register_segments(sim.segments, sim.links)
        for a in range(start, stop, 10 * MIN):
            runtime.processor.process(sim.events(a, a + 10 * MIN))
        alerts = runtime.store.query_alerts(
            AlertQuery(alert_type="incident", limit=100)
        ).to_pylist()
    finally:
        runtime.stop()
    assert len(alerts) == 1, alerts
    alert = alerts[0]
    assert alert["segment_id"] == incident.segment_id
    assert alert["state"] == "open"
    assert alert["alert_id"].startswith(f"incident:{incident.segment_id}:")
    opened = alert["opened_at"].timestamp() * 1000
    # Dated from the window the incident started in (or the next, if it started late in it).
    assert incident.start_ms - 5 * MIN <= opened <= incident.start_ms + 5 * MIN
    assert alert["severity"] in ("major", "minor")
    # After a restart the processor carries the open alert on (it resolves it later,
    # and opens no second one while the incident lasts).
    again = Runtime(Settings(data_dir=tmp_path))
    try:
        index = again.catalog.index.get(incident.segment_id)
        assert index is not None
        assert again.processor.incidents.open_since_ms[index] == opened
    finally:
        again.stop()
