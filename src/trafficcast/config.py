"""One Settings object; every knob is an environment variable TRAFFICCAST_<NAME>.

An optional settings file (TOML or .env) can be named with TRAFFICCAST_CONFIG.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field, field_validator

# NoDecode: lists come as comma-separated text (15,30,60), not JSON.
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAFFICCAST_",
        env_file=os.environ.get("TRAFFICCAST_CONFIG"),
        extra="ignore",
    )

    host: str = Field("127.0.0.1", description="Address the API listens on")
    port: int = Field(8000, ge=0, le=65535, description="Port the API listens on")
    data_dir: Path = Field(Path("data"), description="Folder for the embedded database file")
    database_url: str = Field(
        "",
        description="Store: empty = duckdb file <data_dir>/trafficcast.duckdb; duckdb://PATH; "
        "or postgresql://USER@HOST:PORT/DB",
    )
    models_dir: str = Field("", description="Model registry folder; empty = <data_dir>/models")
    registry_poll_s: float = Field(
        10.0, gt=0, description="How often a server checks the registry for a newly promoted model"
    )
    bus: str = Field(
        "memory://",
        description="Event bus: memory:// (in-process) or kafka://HOST:PORT[?format=avro"
        "&partitions=N]",
    )
    consumer_group: str = Field(
        "trafficcast-processors", description="Kafka consumer group of `trafficcast process`"
    )
    max_consumer_lag_events: int = Field(
        1_000_000, gt=0, description="Consumer lag above which /health reports degraded"
    )
    redis_url: str = Field(
        "", description="Redis for rate limits shared by API processes; empty = in-process"
    )
    # PRODUCT.md §6's defaults; 0 turns a class's limit off.
    rate_limit_anonymous_per_hour: int = Field(
        100, ge=0, description="Requests per hour per anonymous client address; 0 = unlimited"
    )
    rate_limit_authenticated_per_hour: int = Field(
        1000, ge=0, description="Requests per hour per signed-in user or API key; 0 = unlimited"
    )
    rate_limit_premium_per_hour: int = Field(
        10_000, ge=0, description="Requests per hour per premium user or API key; 0 = unlimited"
    )
    rate_limit_exempt_paths: Annotated[tuple[str, ...], NoDecode] = Field(
        ("/health", "/metrics"), description="Paths never rate limited"
    )
    anonymous_role: str = Field(
        "",
        description="What a caller without credentials may do: empty = only sign in (and "
        "/health, /metrics, the page shell); viewer = read-only; analyst or admin only for a "
        "single-user laptop",
    )
    jwt_secret: str = Field(
        "",
        description="HMAC key that signs access tokens; empty = a random key made once and "
        "kept in the store, shared by every process on it",
    )
    access_token_minutes: int = Field(
        15, gt=0, le=24 * 60, description="Lifetime of an access token"
    )
    refresh_token_hours: int = Field(
        12, gt=0, le=90 * 24, description="Lifetime of a refresh token (a sign-in)"
    )
    accounts_refresh_s: float = Field(
        5.0,
        gt=0,
        description="How often an API process re-reads users and API keys from the store, "
        "so a disable, role change or revoke made elsewhere applies within this time",
    )
    bus_capacity_events: int = Field(2_000_000, gt=0, description="Bound of the in-process bus")
    window_minutes: Annotated[tuple[int, ...], NoDecode] = Field(
        (1, 5), description="Tumbling window sizes"
    )
    allowed_lateness_s: int = Field(
        300, ge=0, description="How late an event may still update its window"
    )
    watermark_delay_s: int = Field(
        0, ge=0, description="Out-of-orderness tolerated before a window closes"
    )
    horizons_min: Annotated[tuple[int, ...], NoDecode] = Field(
        tuple(range(5, 61, 5)), description="Forecast horizons (minutes, multiples of 5)"
    )
    timezone: str = Field("America/Los_Angeles", description="Local time zone of the road network")
    max_body_bytes: int = Field(32 * 1024 * 1024, gt=0, description="Largest accepted request body")
    max_batch_events: int = Field(100_000, gt=0, description="Most events in one batch request")
    max_future_skew_s: int = Field(
        300, ge=0, description="How far ahead of the clock a timestamp may be"
    )
    max_speed_mph: float = Field(150.0, gt=0, description="Speeds above this are rejected")
    detector_interval_s: float = Field(
        30.0,
        gt=0,
        le=3600,
        description="How often a detector reports; sets the readings expected per day in "
        "the detector-health report (PeMS loop detectors: 30 s)",
    )
    auto_register_segments: bool = Field(
        True, description="Accept events for segments not in the catalog and register them"
    )
    ws_queue_size: int = Field(
        10_000, gt=0, description="Frames buffered per WebSocket client before it is dropped"
    )
    ws_max_message_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="Largest command a WebSocket client may send; past it the connection "
        "is closed with 1009",
    )
    ws_max_segments: int = Field(
        20_000,
        gt=0,
        description='Most segment ids one WebSocket connection may subscribe to ("*" = all '
        "counts as one)",
    )
    ws_max_messages_per_s: float = Field(
        10.0,
        ge=0,
        description="Commands per second a WebSocket connection may send (bursts of twice "
        "that pass); past it the connection is closed with 1008; 0 = unlimited",
    )
    ws_max_connections_per_client: int = Field(
        32,
        ge=0,
        description="Open WebSocket connections per signed-in identity, or per address when "
        "anonymous, on each API process; 0 = unlimited",
    )
    live_interval_ms: int = Field(
        1000, gt=0, description="Minimum gap between traffic_event messages per segment"
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="Origins allowed to call the API from a browser"
    )
    log_level: str = Field(
        "INFO",
        description="Level of the JSON logs, ours and uvicorn's: DEBUG (adds one record per "
        "successful request), INFO, WARNING, ERROR or CRITICAL",
    )
    map_tiles_url: str = Field(
        "",
        max_length=2048,
        description="Base map of the dashboard's traffic map: an XYZ raster tile URL "
        "(https://…/{z}/{x}/{y}.png), a MapLibre style URL (https://….json) or a PMTiles "
        "raster archive (pmtiles://https://….pmtiles); empty = a plain background",
    )
    map_attribution: str = Field(
        "", max_length=500, description="Attribution shown on the map for map_tiles_url"
    )
    # Alert notifications (alerts/notify; docs/decisions/0016).
    webhook_secret: str = Field(
        "",
        description="Shared secret of the HMAC-SHA256 X-Trafficcast-Signature on webhook "
        "notifications; empty = sent unsigned (a warning is logged)",
    )
    notify_timeout_s: float = Field(
        5.0, gt=0, le=120, description="Timeout of one webhook POST or SMTP session"
    )
    notify_max_attempts: int = Field(
        4, ge=1, le=20, description="Tries per notification and target before giving up"
    )
    notify_backoff_s: float = Field(
        1.0, ge=0, le=600, description="Wait before the second try; doubled before each next"
    )
    notify_queue_size: int = Field(
        1000,
        gt=0,
        description="Alert-change batches waiting for delivery; past it they are dropped "
        "(trafficcast_notifications_dropped) rather than slowing the stream processor",
    )
    escalation_check_s: float = Field(
        30.0, gt=0, description="How often open alerts are checked for escalation"
    )
    system_check_s: float = Field(
        5.0, gt=0, description="How often an API process checks for system alerts"
    )
    smtp_host: str = Field("", description="SMTP server for e-mail alerts; empty = no e-mail")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port")
    smtp_user: str = Field("", description="SMTP login; empty = no AUTH")
    smtp_password: str = Field("", description="SMTP password")
    smtp_from: str = Field("trafficcast@localhost", description="From address of alert e-mail")
    smtp_starttls: bool = Field(True, description="Upgrade the SMTP session with STARTTLS")
    archive_url: str = Field(
        "",
        description="Parquet archive of raw events and windows: a folder, file://, s3://, "
        "hdfs://, gs:// or abfs:// URL (pyarrow.fs); empty = no archive",
    )
    archive_retention_days: str = Field(
        "",
        description="Days each archive dataset is kept, e.g. events=90,windows=730; "
        "absent or 0 = kept for ever (applied by `trafficcast archive retention`)",
    )
    archive_flush_mb: float = Field(
        64.0, gt=0, description="An archive buffer is written once it holds this much (MB)"
    )
    archive_flush_rows: int = Field(4_000_000, gt=0, description="... or this many rows")
    archive_flush_age_s: float = Field(
        60.0, ge=0, description="... or its oldest rows are this old (seconds)"
    )
    archive_queue_batches: int = Field(
        256,
        gt=0,
        description="Committed cycles waiting for the archive writer; beyond, the archive "
        "drops them (trafficcast_archive_dropped_rows) rather than slowing the processor",
    )
    archive_compact_target_mb: float = Field(
        128.0, gt=0, description="Size of the files `trafficcast archive compact` makes (MB)"
    )
    spark_master: str = Field(
        "local[2]",
        description="Spark master URL for `trafficcast spark` jobs: local[N] runs in this "
        "process's JVM, spark://host:7077, yarn or k8s://... run the same job on a cluster",
    )
    spark_shuffle_partitions: int = Field(
        16, gt=0, description="Partitions of a Spark job's shuffles (raise on a cluster)"
    )
    spark_driver_memory: str = Field(
        "2g", description="Spark driver memory (local mode runs the executors in it too)"
    )

    @field_validator("window_minutes", "horizons_min", mode="before")
    @classmethod
    def _split_ints(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(int(v) for v in value.replace(" ", "").split(",") if v)
        return value

    @field_validator("cors_origins", "rate_limit_exempt_paths", mode="before")
    @classmethod
    def _split_strings(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(v.strip() for v in value.split(",") if v.strip())
        return value

    @field_validator("window_minutes")
    @classmethod
    def _five_minute_window(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if 5 not in value:
            raise ValueError("must include 5: forecasts are made on 5-minute windows")
        if any(v <= 0 or 60 % v for v in value):
            raise ValueError("each window must be a positive divisor of 60 minutes")
        return value

    @field_validator("horizons_min")
    @classmethod
    def _five_minute_steps(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if not value or any(v <= 0 or v % 5 or v > 24 * 60 for v in value):
            raise ValueError("each horizon must be a positive multiple of 5 minutes, up to a day")
        return tuple(sorted(set(value)))

    @field_validator("anonymous_role")
    @classmethod
    def _known_role(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("", "viewer", "analyst", "admin"):
            raise ValueError("must be empty, viewer, analyst or admin")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
            raise ValueError("must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_store(cls, value: str) -> str:
        if value and not value.startswith(("duckdb://", "postgresql://", "postgres://")):
            raise ValueError("must start with duckdb:// or postgresql://")
        return value

    @field_validator("archive_retention_days")
    @classmethod
    def _retention(cls, value: str) -> str:
        from trafficcast.archive.maintenance import parse_retention

        parse_retention(value)
        return value

    @field_validator("bus")
    @classmethod
    def _known_bus(cls, value: str) -> str:
        if not value.startswith(("memory://", "kafka://")):
            raise ValueError("must be memory:// or kafka://HOST:PORT")
        return value

    @field_validator("map_tiles_url")
    @classmethod
    def _map_tiles_url(cls, value: str) -> str:
        value = value.strip()
        if value:
            map_tiles_problem(value)
        return value

    @field_validator("map_attribution")
    @classmethod
    def _plain_attribution(cls, value: str) -> str:
        if any(ord(c) < 32 for c in value):
            raise ValueError("must not contain control characters")
        return value.strip()

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(("postgresql://", "postgres://"))

    @property
    def uses_kafka(self) -> bool:
        return self.bus.startswith("kafka://")

    @property
    def database_path(self) -> str:
        """The DuckDB file (embedded store)."""
        if not self.database_url:
            return str(self.data_dir / "trafficcast.duckdb")
        if self.database_url.startswith("duckdb://"):
            return self.database_url.removeprefix("duckdb://")
        raise ValueError(f"database_url {self.database_url!r} is not a DuckDB file")

    @property
    def registry_path(self) -> Path:
        return Path(self.models_dir) if self.models_dir else self.data_dir / "models"


def map_tiles_problem(url: str) -> None:
    """Raise ValueError unless `url` is a base map the dashboard can draw.

    Only http(s) and pmtiles:// (wrapping an http(s) archive URL) are accepted:
    the URL ends up in every operator's browser, so javascript:, data: or
    file: URLs have no business here.
    """
    if any(ord(c) <= 32 or c in '"<>\\^`|' for c in url):
        raise ValueError("must be a URL without spaces, quotes or control characters")
    inner = url.removeprefix("pmtiles://")
    parts = urlsplit(inner)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not re.fullmatch(r"[A-Za-z0-9.:\-]+", host):
        raise ValueError(
            "must be an http(s) URL or pmtiles:// followed by one, e.g. "
            "https://tiles.example.org/{z}/{x}/{y}.png or pmtiles://https://example.org/a.pmtiles"
        )
    if inner != url:
        if "{z}" in url:
            raise ValueError("a pmtiles:// URL names one archive, without {z}/{x}/{y}")
        return
    template = all(p in url for p in ("{z}", "{x}", "{y}"))
    if not template and not parts.path.endswith(".json"):
        raise ValueError(
            "an http(s) URL must be a tile template with {z}, {x} and {y} or a MapLibre "
            "style ending in .json"
        )
