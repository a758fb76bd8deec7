"""Training inside a running server: one job at a time, in the background, with progress.

A job reads its panel (from the store, or the demo's simulated history), trains
every candidate as `trafficcast train` does, scores a held-out slice when there is
room for one and registers the result. It trains on one thread with one LightGBM
worker, so on a small machine the live pipeline keeps a core. Jobs are kept in
memory: the registry is the durable record of what training produced.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal

from trafficcast.forecast.panel import STEP_MS, PanelError
from trafficcast.forecast.registry import ModelRegistry, RegistryError
from trafficcast.forecast.sources import DAY_MS, WINDOW_MINUTES
from trafficcast.live.messages import iso
from trafficcast.store.base import Store

if TYPE_CHECKING:
    from trafficcast.forecast.models.gbm import GbmParams
    from trafficcast.forecast.panel import Panel
    from trafficcast.forecast.training import Split

log = logging.getLogger(__name__)

JobState = Literal["queued", "running", "succeeded", "failed"]
ACTIVE: tuple[JobState, ...] = ("queued", "running")
KEEP_JOBS = 20
# The longest horizon is 12 steps; training.fit_quantity reads 11 steps of lags before its
# first row and needs every target before validation: 11 + 12 + 1 rows at least.
LONGEST_STEPS = 12
MIN_TRAIN_STEPS = 11 + LONGEST_STEPS + 1
# A validation or test slice holds at least one forecast whose every target lies inside it.
MIN_SLICE_STEPS = LONGEST_STEPS + 1
MIN_STEPS = MIN_TRAIN_STEPS + MIN_SLICE_STEPS
SLICE_FRACTION = 0.1
# Bounds a job's memory and time on a server: rows per horizon sampled beyond this.
MAX_TRAIN_ROWS = 500_000
# Shares of the progress bar; training the candidates is most of the work.
_LOAD_END, _TRAIN_END, _TEST_END = 0.05, 0.85, 0.95
# Relative cost of the candidates within the training share (gbm fits trees per horizon).
_CANDIDATE_WEIGHT = {"gbm": 10.0}


class JobConflict(RuntimeError):
    """A job is already queued or running in this process."""

    def __init__(self, running: TrainingJob) -> None:
        super().__init__(
            f"training job {running.job_id} is still {running.state}; "
            "wait for it to finish before starting another"
        )
        self.running = running


@dataclass(frozen=True)
class TrainingRequest:
    days: float
    source: str  # recorded in the model's metadata
    load: Callable[[], Panel]  # reads the panel; runs on the job's thread
    seed: int = 0
    with_test: bool = True
    promote: bool = False
    gbm: GbmParams | None = None  # None: one worker, rows sampled to MAX_TRAIN_ROWS


@dataclass
class TrainingJob:
    job_id: str
    days: float
    source: str
    created_ms: int
    state: JobState = "queued"
    stage: str = "queued"
    progress: float = 0.0
    started_ms: int | None = None
    finished_ms: int | None = None
    version: str | None = None
    promoted: bool = False
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "state": self.state,
            "stage": self.stage,
            "progress": round(self.progress, 4),
            "days": self.days,
            "source": self.source,
            "created_at": iso(self.created_ms),
            "started_at": None if self.started_ms is None else iso(self.started_ms),
            "finished_at": None if self.finished_ms is None else iso(self.finished_ms),
            "version": self.version,
            "promoted": self.promoted,
            "error": self.error,
        }


def plan_split(steps: int, with_test: bool) -> tuple[Split, bool]:
    """Train / validation / test rows of a panel of `steps` rows, and whether it has a test.

    A tenth each for validation and test as `trafficcast train` does, but never less than
    one full forecast; the test slice is left out when the history cannot spare it.
    """
    from trafficcast.forecast.training import Split, TrainingError

    if steps < MIN_STEPS:
        raise TrainingError(
            f"too little history to train: {describe_steps(steps)} of 5-minute windows, "
            f"need at least {describe_steps(MIN_STEPS)}"
        )
    share = max(round(steps * SLICE_FRACTION), MIN_SLICE_STEPS)
    test = share if with_test and steps - 2 * share >= MIN_TRAIN_STEPS else 0
    valid_end = steps - test
    return Split(valid_end - share, valid_end), test > 0


def describe_steps(steps: int) -> str:
    """5-minute steps as hours and minutes, e.g. "3 h 05 min"."""
    minutes = steps * WINDOW_MINUTES
    return f"{minutes // 60} h {minutes % 60:02d} min"


def available_steps(store: Store, days: float) -> int:
    """Rows the panel of the last `days` would have (see sources.panel_from_store), read
    from the stored window range only."""
    span = int(days * DAY_MS)
    newest_event = store.max_event_ms()
    found = None
    if newest_event is not None:
        found = store.window_span(WINDOW_MINUTES, newest_event - span, newest_event + 1)
    if found is None:
        # Windows stored without their events: panel_from_store looks at them all.
        found = store.window_span(WINDOW_MINUTES, -62_135_596_800_000, 253_402_300_800_000)
    if found is None:
        return 0
    first, last = found
    first = max(first, last - span + STEP_MS)
    return (last - first) // STEP_MS + 1


class StageProgress:
    """training.StageProgress callbacks as one bar from 0 to 1 that never moves back."""

    def __init__(
        self,
        quantities: list[str],
        candidates: tuple[str, ...],
        report: Callable[[str, float], None],
    ) -> None:
        weights = [_CANDIDATE_WEIGHT.get(c, 1.0) for c in candidates]
        total = sum(weights) * len(quantities)
        self._start: dict[str, tuple[float, float]] = {}
        before = 0.0
        for q in quantities:
            for kind, weight in zip(candidates, weights, strict=True):
                self._start[f"{q}: {kind}"] = (before / total, weight / total)
                before += weight
        self._report = report

    def __call__(self, stage: str, done: int, total: int) -> None:
        start, width = self._start.get(stage, (0.0, 0.0))
        share = start + width * (min(done, total) / total if total > 0 else 1.0)
        self._report(
            f"training {stage} ({done}/{total})", _LOAD_END + share * (_TRAIN_END - _LOAD_END)
        )


class TrainingJobs:
    """The training jobs of one process: at most one active, the last KEEP_JOBS kept."""

    def __init__(
        self,
        registry: ModelRegistry,
        promote: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self._promote = promote
        self._clock = clock
        self._lock = threading.Lock()
        self._jobs: dict[str, TrainingJob] = {}  # insertion order = creation order

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def start(self, request: TrainingRequest) -> tuple[TrainingJob, threading.Thread]:
        """Queue a job and start its thread; JobConflict while another is active."""
        with self._lock:
            for job in self._jobs.values():
                if job.state in ACTIVE:
                    raise JobConflict(replace(job))
            job = TrainingJob(uuid.uuid4().hex, request.days, request.source, self._now_ms())
            self._jobs[job.job_id] = job
            while len(self._jobs) > KEEP_JOBS:
                oldest = next(j for j in self._jobs.values() if j.state not in ACTIVE)
                del self._jobs[oldest.job_id]
            snapshot = replace(job)
        thread = threading.Thread(
            target=self._run, args=(job, request), name=f"training-{job.job_id[:8]}", daemon=True
        )
        thread.start()
        return snapshot, thread

    def get(self, job_id: str) -> TrainingJob | None:
        with self._lock:
            job = self._jobs.get(job_id)
            return None if job is None else replace(job)

    def list(self) -> list[TrainingJob]:
        """Newest first."""
        with self._lock:
            return [replace(j) for j in reversed(self._jobs.values())]

    def _update(self, job: TrainingJob, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                setattr(job, name, value)

    def _progress(self, job: TrainingJob, stage: str, progress: float) -> None:
        with self._lock:
            job.stage = stage
            job.progress = max(job.progress, min(progress, 1.0))

    def _run(self, job: TrainingJob, request: TrainingRequest) -> None:
        from trafficcast.forecast.training import TrainingError

        self._update(job, state="running", stage="reading history", started_ms=self._now_ms())
        try:
            version, promoted = self._train(job, request)
        except (PanelError, TrainingError, RegistryError, OSError) as exc:
            log.warning("training job %s failed: %s", job.job_id, exc)
            self._finish(job, "failed", error=str(exc))
        except Exception as exc:  # the server goes on; the job says what broke
            log.exception("training job %s failed", job.job_id)
            self._finish(job, "failed", error=f"{type(exc).__name__}: {exc}")
        else:
            self._finish(job, "succeeded", version=version, promoted=promoted)

    def _finish(self, job: TrainingJob, state: JobState, **changes: Any) -> None:
        with self._lock:
            job.state = state
            job.finished_ms = self._now_ms()
            if state == "succeeded":
                job.stage, job.progress = "done", 1.0
            else:
                job.stage = "failed"
            for name, value in changes.items():
                setattr(job, name, value)

    def _train(self, job: TrainingJob, request: TrainingRequest) -> tuple[str, bool]:
        from trafficcast.forecast import training
        from trafficcast.forecast.models.gbm import GbmParams
        from trafficcast.forecast.registration import held_out_scores, register_trained

        began = time.perf_counter()
        panel = request.load()
        split, has_test = plan_split(panel.steps, request.with_test)
        gbm = request.gbm or GbmParams(seed=request.seed, workers=1, max_train_rows=MAX_TRAIN_ROWS)
        config = training.TrainConfig(gbm=gbm)
        quantities = ["speed"] + (["volume"] if panel.volume is not None else [])
        self._progress(
            job,
            f"read {describe_steps(panel.steps)} of {panel.size} segments",
            _LOAD_END,
        )
        progress = StageProgress(
            quantities, config.candidates, lambda s, p: self._progress(job, s, p)
        )
        model, results = training.train(panel, config, split, progress)
        train_seconds = time.perf_counter() - began
        test = None
        if has_test:
            self._progress(job, "scoring the held-out slice", _TRAIN_END)
            test = held_out_scores(results, split, config.steps, panel.steps, config)
        self._progress(job, "registering the model", _TEST_END)
        record = register_trained(
            self.registry,
            model,
            results,
            source=request.source,
            panel=panel,
            split=split,
            config=config,
            seed=request.seed,
            train_seconds=train_seconds,
            test=test,
            promote=False,
        )
        if request.promote:
            self._progress(job, f"promoting {record.version}", _TEST_END)
            self._promote(record.version)
        log.info(
            "training job %s registered %s in %.1f s", job.job_id, record.version, train_seconds
        )
        return record.version, request.promote
