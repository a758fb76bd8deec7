"""The training job runner: splits, progress, the state machine, one job at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from trafficcast.forecast.models.gbm import GbmParams
from trafficcast.forecast.panel import STEP_MS, Panel, PanelError
from trafficcast.forecast.registry import ModelRegistry
from trafficcast.forecast.sources import panel_from_events
from trafficcast.forecast.training import TrainConfig, TrainingError, train
from trafficcast.forecast.training_jobs import (
    KEEP_JOBS,
    MIN_STEPS,
    JobConflict,
    StageProgress,
    TrainingJob,
    TrainingJobs,
    TrainingRequest,
    describe_steps,
    plan_split,
)
from trafficcast.sources.simulator import Simulator, SimulatorConfig

T0 = 1_767_600_000_000 - 1_767_600_000_000 % STEP_MS
HOUR = 3_600_000
FAST = GbmParams(workers=1, max_rounds=20, max_train_rows=20_000)


def small_panel(hours: float = 5.0) -> Panel:
    sim = Simulator(SimulatorConfig(n_segments=8, seed=4))
    events = sim.events(T0, T0 + int(hours * HOUR))
    return panel_from_events(
        events, sim.segments.column("segment_id").combine_chunks(), sim.links, "UTC"
    )


@pytest.fixture(scope="module")
def panel() -> Panel:
    return small_panel()


def wait_done(jobs: TrainingJobs, job_id: str, timeout: float = 60) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while True:
        job = jobs.get(job_id)
        assert job is not None
        if job.state in ("succeeded", "failed"):
            return job
        assert time.monotonic() < deadline, f"job still {job.state} at {job.stage}"
        time.sleep(0.02)


# splits ------------------------------------------------------------------------------


def test_the_smallest_history_trains_without_a_test_slice() -> None:
    with pytest.raises(TrainingError, match=r"3 h 00 min .* at least 3 h 05 min"):
        plan_split(MIN_STEPS - 1, with_test=True)
    split, has_test = plan_split(MIN_STEPS, with_test=True)
    assert not has_test
    assert (split.train_end, split.valid_end) == (MIN_STEPS - 13, MIN_STEPS)


@pytest.mark.parametrize("steps", [37, 49, 50, 60, 288, 2016, 16_128])
def test_splits_leave_every_slice_room_for_a_full_forecast(steps: int) -> None:
    split, has_test = plan_split(steps, with_test=True)
    assert split.train_end >= 24  # 11 lags + 12 steps ahead + one row to learn from
    assert split.valid_end - split.train_end >= 13
    assert has_test == (steps >= 50)
    if has_test:
        assert steps - split.valid_end >= 13
        assert steps - split.valid_end == split.valid_end - split.train_end
    else:
        assert split.valid_end == steps
    no_test, _ = plan_split(steps, with_test=False)
    assert no_test.valid_end == steps


def test_steps_read_as_hours_and_minutes() -> None:
    assert describe_steps(37) == "3 h 05 min"
    assert describe_steps(288) == "24 h 00 min"


# progress ----------------------------------------------------------------------------


def test_progress_of_real_training_only_moves_forward(panel: Panel) -> None:
    seen: list[tuple[str, float]] = []
    config = TrainConfig(gbm=FAST)
    quantities = ["speed", "volume"]
    assert panel.volume is not None
    split, _ = plan_split(panel.steps, with_test=True)
    train(
        panel,
        config,
        split,
        StageProgress(quantities, config.candidates, lambda s, p: seen.append((s, p))),
    )
    values = [p for _, p in seen]
    assert values == sorted(values)
    assert 0.05 <= values[0] < 0.2
    assert values[-1] == pytest.approx(0.85)
    # Every horizon of the learned model reports its own step.
    assert any(s == "training speed: gbm (5/12)" for s, _ in seen)
    assert any(s.startswith("training volume: gbm") for s, _ in seen)


# the runner --------------------------------------------------------------------------


def test_a_job_runs_to_a_registered_unpromoted_model(tmp_path: Path, panel: Panel) -> None:
    registry = ModelRegistry(tmp_path / "models")
    promoted: list[str] = []
    jobs = TrainingJobs(registry, promoted.append)
    job, thread = jobs.start(TrainingRequest(1.0, "test:panel", lambda: panel, gbm=FAST))
    assert job.state == "queued"
    assert job.progress == 0.0
    assert job.started_ms is None
    thread.join(60)
    done = jobs.get(job.job_id)
    assert done is not None
    assert done.state == "succeeded", done.error
    assert (done.stage, done.progress, done.error) == ("done", 1.0, None)
    assert done.started_ms is not None
    assert done.finished_ms is not None
    assert done.created_ms <= done.started_ms <= done.finished_ms
    record = registry.get(str(done.version))
    assert not record.promoted
    assert registry.active() is None
    assert promoted == []
    assert record.metadata["source"] == "test:panel"
    # Five hours leave room for a held-out slice, scored like the CLI's.
    assert set(record.metadata["test"]["speed"]["mae"]) == {str(5 * h) for h in range(1, 13)}
    body = done.to_json()
    assert body["state"] == "succeeded"
    assert body["version"] == record.version
    assert body["finished_at"].endswith("Z")


def test_one_job_at_a_time_then_the_next(tmp_path: Path, panel: Panel) -> None:
    jobs = TrainingJobs(ModelRegistry(tmp_path / "models"), lambda v: None)
    release = threading.Event()

    def slow() -> Panel:
        release.wait(30)
        return panel

    first, thread = jobs.start(TrainingRequest(1.0, "slow", slow, gbm=FAST))
    with pytest.raises(JobConflict) as caught:
        jobs.start(TrainingRequest(1.0, "second", lambda: panel, gbm=FAST))
    assert caught.value.running.job_id == first.job_id
    running = jobs.get(first.job_id)
    assert running is not None
    assert running.state == "running"
    assert running.stage == "reading history"
    release.set()
    thread.join(60)
    second, thread = jobs.start(TrainingRequest(1.0, "second", lambda: panel, gbm=FAST))
    thread.join(60)
    assert [j.job_id for j in jobs.list()] == [second.job_id, first.job_id]


def test_failures_are_reported_and_do_not_block_the_next_job(tmp_path: Path) -> None:
    registry = ModelRegistry(tmp_path / "models")
    jobs = TrainingJobs(registry, lambda v: None)

    def no_data() -> Panel:
        raise PanelError("the store holds no 5-minute windows to train on")

    job, thread = jobs.start(TrainingRequest(1.0, "empty", no_data))
    thread.join(10)
    failed = wait_done(jobs, job.job_id)
    assert (failed.state, failed.stage) == ("failed", "failed")
    assert failed.error == "the store holds no 5-minute windows to train on"
    assert failed.version is None
    assert registry.list() == []

    short = small_panel(hours=2.0)  # 24 steps: too little for any split
    job, thread = jobs.start(TrainingRequest(1.0, "short", lambda: short))
    thread.join(10)
    failed = wait_done(jobs, job.job_id)
    assert failed.state == "failed"
    assert "too little history" in str(failed.error)

    def broken() -> Panel:
        raise KeyError("boom")

    job, thread = jobs.start(TrainingRequest(1.0, "broken", broken))
    thread.join(10)
    assert wait_done(jobs, job.job_id).error == "KeyError: 'boom'"


def test_a_promoting_job_promotes_what_it_registered(tmp_path: Path, panel: Panel) -> None:
    registry = ModelRegistry(tmp_path / "models")
    promoted: list[str] = []
    jobs = TrainingJobs(registry, promoted.append)
    job, thread = jobs.start(
        TrainingRequest(1.0, "demo", lambda: panel, gbm=FAST, with_test=False, promote=True)
    )
    thread.join(60)
    done = wait_done(jobs, job.job_id)
    assert done.promoted
    assert promoted == [done.version]
    assert "test" not in registry.get(str(done.version)).metadata


def test_only_the_newest_jobs_are_kept(tmp_path: Path) -> None:
    jobs = TrainingJobs(ModelRegistry(tmp_path / "models"), lambda v: None)

    def fail() -> Panel:
        raise PanelError("no")

    ids = []
    for _ in range(KEEP_JOBS + 3):
        job, thread = jobs.start(TrainingRequest(1.0, "x", fail))
        thread.join(10)
        wait_done(jobs, job.job_id)
        ids.append(job.job_id)
    assert [j.job_id for j in jobs.list()] == ids[::-1][:KEEP_JOBS]
    assert jobs.get(ids[0]) is None
