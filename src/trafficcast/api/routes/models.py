"""The model registry over HTTP: list, inspect, promote and roll back trained forecasters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.errors import ApiError
from trafficcast.api.models import CONFLICT_RESPONSES, ERROR_RESPONSES
from trafficcast.api.responses import JSON
from trafficcast.auth.roles import ADMINS, READERS
from trafficcast.forecast.blend import MODEL_VERSION as BLEND_VERSION
from trafficcast.forecast.registry import (
    InvalidName,
    ModelRecord,
    RegistryError,
    UnknownModel,
)
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/models", tags=["models"])
VERSION = Path(min_length=1, max_length=64, description="A version, or `latest`")


class ModelSummary(BaseModel):
    version: str
    kind: str
    created_at: str
    promoted: bool
    live: bool = Field(description="Serving the live forecasts now")
    training_window: dict[str, Any] | None = None
    horizons_minutes: list[int] = []
    validation: dict[str, Any] | None = None
    test: dict[str, Any] | None = None


class ModelList(BaseModel):
    models: list[ModelSummary]
    live_model_version: str


class ModelDetail(ModelSummary):
    metadata: dict[str, Any]


def _summary(runtime: Runtime, record: ModelRecord) -> dict[str, Any]:
    live = runtime.processor.model
    meta = record.metadata
    return {
        "version": record.version,
        "kind": record.kind,
        "created_at": record.created_at,
        "promoted": record.promoted,
        "live": live is not None and live.version == record.version,
        "training_window": meta.get("training_window"),
        "horizons_minutes": meta.get("horizons_minutes", []),
        "validation": meta.get("validation"),
        "test": meta.get("test"),
    }


def _live_version(runtime: Runtime) -> str:
    live = runtime.processor.model
    return live.version if live is not None else BLEND_VERSION


def _registry_error(exc: RegistryError) -> ApiError:
    # Not there: 404; not a valid name: 422; the registry's state refuses it: 409.
    status = 404 if isinstance(exc, UnknownModel) else 422 if isinstance(exc, InvalidName) else 409
    return ApiError(status, str(exc), details=[{"field": "version", "reason": str(exc)}])


@router.get(
    "",
    dependencies=[allow(READERS)],
    response_model=ModelList,
    summary="Every trained model, newest first",
)
async def list_models(runtime: Runtime = Depends(get_runtime)) -> JSON:
    records = await run_in_threadpool(runtime.registry.list)
    return JSON(
        {
            "models": [_summary(runtime, r) for r in records],
            "live_model_version": _live_version(runtime),
        }
    )


@router.get(
    "/{version}",
    dependencies=[allow(READERS)],
    response_model=ModelDetail,
    responses=ERROR_RESPONSES,
    summary="One model with all its metadata",
)
async def show_model(version: str = VERSION, runtime: Runtime = Depends(get_runtime)) -> JSON:
    try:
        record = await run_in_threadpool(runtime.registry.resolve, version)
    except RegistryError as exc:
        raise _registry_error(exc) from exc
    return JSON({**_summary(runtime, record), "metadata": record.metadata})


@router.post(
    "/{version}/promote",
    dependencies=[allow(ADMINS)],
    response_model=ModelList,
    responses=CONFLICT_RESPONSES,
    summary="Serve this version live from the next window close on",
)
async def promote(version: str = VERSION, runtime: Runtime = Depends(get_runtime)) -> JSON:
    try:
        await run_in_threadpool(runtime.promote, version)
    except RegistryError as exc:
        raise _registry_error(exc) from exc
    return await list_models(runtime)


@router.post(
    "/rollback",
    dependencies=[allow(ADMINS)],
    response_model=ModelList,
    responses=CONFLICT_RESPONSES,
    summary="Serve the version promoted before the current one",
)
async def rollback(runtime: Runtime = Depends(get_runtime)) -> JSON:
    try:
        await run_in_threadpool(runtime.rollback)
    except RegistryError as exc:
        raise _registry_error(exc) from exc
    return await list_models(runtime)
