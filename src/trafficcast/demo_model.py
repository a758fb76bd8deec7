"""The demo's forecaster: trained in the background on simulated history, then served live.

The simulator is deterministic, so the weeks before the demo's start can be
generated again for training without touching the store the pipeline is
writing. Until the model is ready the interim blend forecasts; then the model
is registered, promoted and served from the next window close, exactly as after
`trafficcast train` and `trafficcast models promote`. It runs as the server's
training job, so the dashboard shows its progress like any retraining.
"""

from __future__ import annotations

import logging
import threading

from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS, Panel
from trafficcast.forecast.sources import panel_from_events
from trafficcast.forecast.training_jobs import JobConflict, TrainingRequest
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


def train_in_background(
    runtime: Runtime, simulator: Simulator, end_ms: int, days: float, seed: int = 0
) -> threading.Thread:
    """Start training on `days` of simulated history ending at `end_ms`; returns the thread."""

    def load() -> Panel:
        end = end_ms // STEP_MS * STEP_MS  # whole 5-minute windows only
        events = simulator.events(end - int(days * DAY_MS) // STEP_MS * STEP_MS, end)
        return panel_from_events(
            events,
            simulator.segments.column("segment_id").combine_chunks(),
            simulator.links,
            runtime.settings.timezone,
            "simulated history",
        )

    request = TrainingRequest(
        days=days,
        source=f"simulator:seed={simulator.config.seed}",
        load=load,
        seed=seed,
        # Validation only: simulated traffic is regular, and the demo should switch
        # within minutes. One thread, so the pipeline and API keep the other core.
        with_test=False,
        promote=True,
        gbm=GbmParams(seed=seed, workers=1, max_train_rows=150_000, max_rounds=150),
    )
    try:
        job, thread = runtime.training.start(request)
    except JobConflict as exc:  # the demo goes on with the model it has, or the blend
        log.warning("the demo model is not trained: %s", exc)
        thread = threading.Thread(target=lambda: None, name="demo-training")
        thread.start()
        return thread
    log.info("training the demo model (job %s) on %g days of simulated history", job.job_id, days)
    return thread
