"""The /health response: overall status and one check per component."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Status = Literal["healthy", "degraded", "unhealthy"]

HEALTH_RULES = """\
Each check has a `status` and says whether it is `critical`:

* **database** (critical): unhealthy when the store does not answer a ping.
* **stream_processor** (critical, single process): unhealthy when its thread has died;
  degraded when events wait on the bus and no batch was processed for 60 s, or store
  writes are failing and being retried.
* **bus** (single process): degraded when the in-process bus is over 80 % full (ingest
  is about to answer 503 with Retry-After).
* **consumers**, **live_fanout** (critical, API process in front of Kafka): unhealthy
  when Kafka cannot be reached / the fan-out consumer died; consumers degraded when
  their lag is over TRAFFICCAST_MAX_CONSUMER_LAG_EVENTS. **bus** (Kafka) reports the
  producer's unacknowledged records and dead letters.
* **model**: healthy when the promoted model serves, and also when no model has been
  promoted yet (the interim blend forecaster serves by design: `model_kind` "blend");
  degraded when a promoted model cannot be loaded (the blend serves instead; `error`
  says why).
* **redis** (only when TRAFFICCAST_REDIS_URL is set): degraded when unreachable (rate
  limits fail open, so requests are still served).
* **feed:NAME** (a simulator or replay source in this process): unhealthy when it
  failed.

Overall: **unhealthy** (HTTP 503) when a critical check is unhealthy; **degraded**
(HTTP 200) when any other check is not healthy; else **healthy** (HTTP 200). A
non-critical component that is down (a feed, Redis) makes the process degraded, not
unavailable: it still serves reads, so a load balancer should keep it."""


class ComponentCheck(BaseModel):
    """One component's check; fields beyond these describe the component."""

    model_config = ConfigDict(extra="allow")

    status: Status
    critical: bool = Field(
        description="Whether this check being unhealthy makes the whole process unhealthy"
    )


class HealthReport(BaseModel):
    status: Status = Field(description="Overall: the worst critical check, see the rules")
    timestamp: datetime
    version: str
    checks: dict[str, ComponentCheck]
