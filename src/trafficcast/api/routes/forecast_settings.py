"""Forecast settings: which horizons the live forecaster publishes, and how often.

Saved in the store, so a restart and every process on the same store keep them;
the environment's TRAFFICCAST_HORIZONS_MIN is only the default.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from trafficcast.api.authz import allow
from trafficcast.api.deps import get_runtime
from trafficcast.api.errors import ApiError
from trafficcast.api.forecast_settings_models import ForecastSettings, ForecastSettingsIn
from trafficcast.api.models import ERROR_RESPONSES
from trafficcast.api.responses import JSON
from trafficcast.auth.roles import ADMINS, READERS
from trafficcast.forecast.schedule import (
    REFRESH_CHOICES_MIN,
    ForecastSchedule,
    ScheduleError,
    validate,
)
from trafficcast.runtime import Runtime

router = APIRouter(prefix="/api/settings/forecast", tags=["settings"])


def _body(runtime: Runtime, schedule: ForecastSchedule) -> dict[str, Any]:
    default = runtime.default_schedule
    return {
        "horizons_min": list(schedule.horizons_min),
        "refresh_minutes": schedule.refresh_minutes,
        "available_horizons_min": list(runtime.available_horizons_min),
        "refresh_choices_minutes": list(REFRESH_CHOICES_MIN),
        "default_horizons_min": list(default.horizons_min),
        "default_refresh_minutes": default.refresh_minutes,
    }


@router.get(
    "",
    dependencies=[allow(READERS)],
    response_model=ForecastSettings,
    responses=ERROR_RESPONSES,
    summary="The horizons published and the refresh interval of the live forecasts",
)
async def show(runtime: Runtime = Depends(get_runtime)) -> JSON:
    schedule = await run_in_threadpool(runtime.stored_schedule)
    return JSON(_body(runtime, schedule))


@router.put(
    "",
    dependencies=[allow(ADMINS)],
    response_model=ForecastSettings,
    responses=ERROR_RESPONSES,
    summary="Choose the horizons published and the refresh interval; applies live",
    description="`horizons_min` is a non-empty subset of `available_horizons_min` "
    "(duplicates count once); `refresh_minutes` one of `refresh_choices_minutes`. From the "
    "next 5-minute window close on, forecasts are issued only at closes on that clock "
    "(aligned to UTC) and only for those horizons. Saved in the store.",
)
async def update(body: ForecastSettingsIn, runtime: Runtime = Depends(get_runtime)) -> JSON:
    try:
        schedule = validate(body.horizons_min, body.refresh_minutes, runtime.available_horizons_min)
    except ScheduleError as exc:
        raise ApiError(
            422,
            f"invalid forecast settings: {exc}",
            details=[{"field": f, "reason": r} for f, r in exc.problems],
        ) from exc
    await run_in_threadpool(runtime.set_schedule, schedule)
    return JSON(_body(runtime, schedule))
