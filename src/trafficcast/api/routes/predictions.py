"""Forecasts: the latest issued for each segment, and on-demand generation."""

from __future__ import annotations

import time
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from trafficcast.api.authz import allow
from trafficcast.api.deps import cached_json, get_runtime
from trafficcast.api.errors import ApiError
from trafficcast.api.models import (
    CONFLICT_RESPONSES,
    ERROR_RESPONSES,
    GeneratedPrediction,
    GenerateRequest,
    LatestPredictions,
)
from trafficcast.api.responses import JSON
from trafficcast.auth.roles import READERS
from trafficcast.encoding import arrow_rows
from trafficcast.forecast.blend import MODEL_VERSION as BLEND_VERSION
from trafficcast.forecast.registry import RegistryError, UnknownModel
from trafficcast.forecast.serving import ServingModel
from trafficcast.live.messages import iso, iso_times, nullable
from trafficcast.runtime import ModelLoadError, Runtime
from trafficcast.stream.processor import forecasts_table

router = APIRouter(prefix="/api/predictions", tags=["predictions"])


def _model(runtime: Runtime, name: str) -> ServingModel | None:
    """The model `name` selects; None = the interim blend (also `latest` before any training,
    or while the promoted model cannot be loaded)."""
    if name == BLEND_VERSION:
        return None
    try:
        return runtime.model(name)
    except ModelLoadError as exc:
        if name == "latest":
            return None  # as the stream does while the promoted model cannot load
        raise ApiError(
            409, str(exc), details=[{"field": "model_version", "reason": "model cannot be loaded"}]
        ) from exc
    except UnknownModel as exc:
        if name == "latest":
            return None
        raise ApiError(
            404,
            f"unknown model_version {name!r}; available: latest, {BLEND_VERSION}, "
            + ", ".join(r.version for r in runtime.registry.list()[:10]),
            details=[{"field": "model_version", "reason": "unknown model"}],
        ) from exc
    except RegistryError as exc:
        raise ApiError(
            422, str(exc), details=[{"field": "model_version", "reason": str(exc)}]
        ) from exc


@router.get(
    "/latest",
    dependencies=[allow(READERS)],
    response_model=LatestPredictions,
    responses=ERROR_RESPONSES,
    summary="The newest forecasts, for one segment or across segments",
)
async def latest(
    request: Request,
    runtime: Runtime = Depends(get_runtime),
    segment_id: Annotated[str | None, Query(min_length=1, max_length=128)] = None,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 100,
) -> Response:
    if segment_id is not None and not runtime.catalog.is_known(segment_id):
        raise ApiError(
            404,
            f"unknown segment {segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )

    async def build() -> dict[str, Any]:
        table = await run_in_threadpool(runtime.store.latest_predictions, segment_id, limit)
        return {"predictions": arrow_rows(table)}

    return await cached_json(
        request, ("predictions", segment_id, limit), runtime.processor.versions.predictions, build
    )


@router.post(
    "/generate",
    dependencies=[allow(READERS)],
    response_model=GeneratedPrediction,
    responses=CONFLICT_RESPONSES,
    summary="Forecast one segment now, every 5 minutes up to horizon_minutes",
)
async def generate(
    body: GenerateRequest, request: Request, runtime: Runtime = Depends(get_runtime)
) -> JSON:
    model = await run_in_threadpool(_model, runtime, body.model_version)
    seg = runtime.catalog.index.get(body.segment_id)
    if seg is None:
        raise ApiError(
            404,
            f"unknown segment {body.segment_id!r}",
            details=[{"field": "segment_id", "reason": "unknown segment"}],
        )
    horizons = np.arange(5, body.horizon_minutes + 1, 5, dtype=np.int64)
    forecasts = await run_in_threadpool(runtime.processor.forecast_on_demand, seg, horizons, model)
    if forecasts is None:
        raise ApiError(
            409,
            f"segment {body.segment_id!r} has no closed 5-minute window yet",
            code="insufficient_data",
            details=[{"field": "segment_id", "reason": "no data yet"}],
        )
    # On-demand forecasts are not stored: they derive from the same state as
    # the live issue and share its prediction_id.
    table = forecasts_table(forecasts, runtime.catalog.index.take(np.array([seg])))
    times = iso_times(forecasts.target_ms[0])
    points: list[dict[str, Any]] = []
    speed, volume = nullable(forecasts.speed[0]), nullable(forecasts.volume[0])
    lo, hi = nullable(forecasts.speed_lower[0]), nullable(forecasts.speed_upper[0])
    vlo, vhi = nullable(forecasts.volume_lower[0]), nullable(forecasts.volume_upper[0])
    conf = nullable(forecasts.confidence[0])
    for i, h in enumerate(horizons.tolist()):
        point: dict[str, Any] = {
            "timestamp": times[i],
            "horizon_minutes": h,
            "predicted_speed": speed[i],
            "predicted_volume": volume[i],
        }
        if body.include_confidence:
            point.update(
                confidence=conf[i],
                speed_lower=lo[i],
                speed_upper=hi[i],
                volume_lower=vlo[i],
                volume_upper=vhi[i],
            )
        points.append(point)
    request.app.state.metrics.predictions_made(len(points))
    return JSON(
        {
            "prediction_id": table.column("prediction_id")[0].as_py(),
            "segment_id": body.segment_id,
            "horizon_minutes": body.horizon_minutes,
            "predictions": points,
            "model_version": forecasts.model_version,
            "generated_at": iso(int(time.time() * 1000)),
            "issued_at": iso(forecasts.issued_ms),
        }
    )
