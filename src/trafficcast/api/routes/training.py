"""Training jobs over HTTP: retrain from the store's history in the background, watch it run.

A job registers its model without promoting it: promote it with
POST /api/models/{version}/promote once its metrics look right.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.errors import ApiError
from trafficcast.api.models import ERROR_RESPONSES, ErrorEnvelope
from trafficcast.api.responses import JSON
from trafficcast.api.training_models import (
    TrainingJobCreated,
    TrainingJobList,
    TrainingJobOut,
    TrainRequest,
)
from trafficcast.auth.roles import ANALYSTS, READERS
from trafficcast.forecast.sources import panel_from_store
from trafficcast.forecast.training_jobs import (
    MIN_STEPS,
    JobConflict,
    TrainingRequest,
    available_steps,
    describe_steps,
)
from trafficcast.runtime import Runtime

# Registered before the models router: GET /api/models/jobs is not a version.
router = APIRouter(prefix="/api/models", tags=["models"])
JOB_ID = Path(min_length=1, max_length=64, description="A job id from POST /api/models/train")
RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    409: {
        "model": ErrorEnvelope,
        "description": "A job is already running, or the store holds too little history",
    },
}


@router.post(
    "/train",
    dependencies=[allow(ANALYSTS)],
    status_code=202,
    response_model=TrainingJobCreated,
    responses=RESPONSES,
    summary="Train a new model on the store's recent history, in the background",
    description="Reads the last `days` of 5-minute windows (ending at the newest data), "
    "trains every candidate, scores a held-out slice when the history allows one and "
    "registers the winner without promoting it. One job runs at a time per process; "
    "poll GET /api/models/jobs/{job_id} for its progress.",
)
async def train(body: TrainRequest, runtime: Runtime = Depends(get_runtime)) -> JSON:
    steps = await run_in_threadpool(available_steps, runtime.store, body.days)
    if steps < MIN_STEPS:
        held = describe_steps(steps) if steps else "no 5-minute windows"
        raise ApiError(
            409,
            f"too little history to train: the store holds {held} in the last {body.days} "
            f"day(s), at least {describe_steps(MIN_STEPS)} of 5-minute windows are needed",
            code="insufficient_data",
            details=[
                {"field": "days", "reason": f"{held} of history; need {describe_steps(MIN_STEPS)}"}
            ],
        )
    store, timezone, days = runtime.store, runtime.settings.timezone, body.days
    request = TrainingRequest(
        days=days,
        source=f"store:last {days} day{'' if days == 1 else 's'}",
        load=lambda: panel_from_store(store, timezone, days),
    )
    try:
        job, _ = runtime.training.start(request)
    except JobConflict as exc:
        raise ApiError(
            409,
            str(exc),
            code="training_in_progress",
            details=[{"field": "job_id", "reason": f"{exc.running.job_id} is {exc.running.state}"}],
        ) from exc
    return JSON({"job": job.to_json()}, status_code=202)


@router.get(
    "/jobs",
    dependencies=[allow(READERS)],
    response_model=TrainingJobList,
    summary="This process's recent training jobs, newest first",
)
async def list_jobs(runtime: Runtime = Depends(get_runtime)) -> JSON:
    return JSON({"jobs": [j.to_json() for j in runtime.training.list()]})


@router.get(
    "/jobs/{job_id}",
    dependencies=[allow(READERS)],
    response_model=TrainingJobOut,
    responses=ERROR_RESPONSES,
    summary="One training job: state, stage, progress and the version it registered",
)
async def show_job(job_id: str = JOB_ID, runtime: Runtime = Depends(get_runtime)) -> JSON:
    job = runtime.training.get(job_id)
    if job is None:
        raise ApiError(
            404,
            f"unknown training job {job_id!r}; jobs are kept in memory by the process that "
            "ran them, up to the last 20",
            details=[{"field": "job_id", "reason": "unknown job"}],
        )
    return JSON(job.to_json())
