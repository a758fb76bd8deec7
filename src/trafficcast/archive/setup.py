"""The archive as the settings describe it (TRAFFICCAST_ARCHIVE_*)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trafficcast.archive.location import ArchiveLocation, open_archive
from trafficcast.archive.maintenance import parse_retention
from trafficcast.archive.writer import ArchiveConfig, ArchiveWriter

if TYPE_CHECKING:
    from trafficcast.config import Settings

MB = 1024 * 1024


def archive_location(settings: Settings) -> ArchiveLocation:
    if not settings.archive_url:
        raise ValueError("no archive: set TRAFFICCAST_ARCHIVE_URL")
    return open_archive(settings.archive_url)


def archive_writer(settings: Settings) -> ArchiveWriter:
    return ArchiveWriter(
        archive_location(settings),
        ArchiveConfig(
            flush_bytes=int(settings.archive_flush_mb * MB),
            flush_rows=settings.archive_flush_rows,
            flush_age_s=settings.archive_flush_age_s,
            queue_batches=settings.archive_queue_batches,
        ),
    )


def retention(settings: Settings) -> dict[str, int]:
    return parse_retention(settings.archive_retention_days)


def compact_target_bytes(settings: Settings) -> int:
    return int(settings.archive_compact_target_mb * MB)
