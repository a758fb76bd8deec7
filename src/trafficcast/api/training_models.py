"""Request and response shapes of the training jobs (POST /api/models/train and the job reads)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_TRAIN_DAYS = 56


class TrainRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    days: int = Field(
        7,
        ge=1,
        le=MAX_TRAIN_DAYS,
        strict=True,
        description="Train on the store's last N days of 5-minute windows, ending at the "
        "newest data",
    )


class TrainingJobOut(BaseModel):
    job_id: str
    state: Literal["queued", "running", "succeeded", "failed"]
    stage: str = Field(description="what the job is doing now, for people")
    progress: float = Field(ge=0, le=1, description="share of the work done; never decreases")
    days: float = Field(description="days of history asked for")
    source: str = Field(description="where the history comes from, as recorded in the model")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    version: str | None = Field(description="the registered model once succeeded")
    promoted: bool = Field(description="the job also promoted it (the demo's first model)")
    error: str | None = Field(description="why the job failed")


class TrainingJobCreated(BaseModel):
    job: TrainingJobOut


class TrainingJobList(BaseModel):
    jobs: list[TrainingJobOut] = Field(description="newest first; this process's recent jobs")
