"""The demo's forecaster: trained in the background on simulated history, then served live.

The simulator is deterministic, so the weeks before the demo's start can be
generated again for training without touching the store the pipeline is
writing. Until the model is ready the interim blend forecasts; then the model
is registered, promoted and served from the next window close, exactly as after
`trafficcast train` and `trafficcast models promote`.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS
from trafficcast.forecast.registration import register_trained
from trafficcast.forecast.sources import panel_from_events
from trafficcast.forecast.training import Split, TrainConfig, train
from trafficcast.runtime import Runtime
from trafficcast.sources.simulator import Simulator

log = logging.getLogger(__name__)
DAY_MS = 86_400_000


def train_in_background(
    runtime: Runtime, simulator: Simulator, end_ms: int, days: float, seed: int = 0
) -> threading.Thread:
    """Start training on `days` of simulated history ending at `end_ms`; returns the thread."""

    def run() -> None:
        try:
            began = time.perf_counter()
            end = end_ms // STEP_MS * STEP_MS  # whole 5-minute windows only
            events = simulator.events(end - int(days * DAY_MS) // STEP_MS * STEP_MS, end)
            panel = panel_from_events(
                events,
                simulator.segments.column("segment_id").combine_chunks(),
                simulator.links,
                runtime.settings.timezone,
                "simulated history",
            )
            valid = max(int(panel.steps * 0.1), 13)
            split = Split(panel.steps - valid, panel.steps)
            # One thread, so the demo's pipeline and API keep the other core; a sample of the
            # rows, since simulated traffic is regular and the demo should switch within minutes.
            config = TrainConfig(
                gbm=GbmParams(seed=seed, workers=1, max_train_rows=150_000, max_rounds=150)
            )
            model, results = train(panel, config, split)
            record = register_trained(
                runtime.registry,
                model,
                results,
                source=f"simulator:seed={simulator.config.seed}",
                panel=panel,
                split=split,
                config=config,
                seed=seed,
                train_seconds=time.perf_counter() - began,
                test=None,
                promote=False,
            )
            runtime.promote(record.version)
            mae = results["speed"].candidates
            log.info(
                "demo model %s trained in %.0f s and promoted; validation MAE %s",
                record.version,
                time.perf_counter() - began,
                {c.kind: round(float(np.mean(list(c.validation_mae.values()))), 2) for c in mae},
            )
        except Exception:  # the demo goes on with the interim forecaster
            log.exception("training the demo model failed")

    thread = threading.Thread(target=run, name="demo-training", daemon=True)
    thread.start()
    return thread
