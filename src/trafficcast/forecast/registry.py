"""The model registry: trained forecasting models as folders on disk.

Layout under the registry root::

    <version>/model.json      metadata + version, kind, created_at
    <version>/...             artifacts written by the trainer
    active.json               the promoted version (replaced atomically)
    promotions.jsonl          one line per promotion or rollback, oldest first

A folder becomes visible only when it is complete: artifacts and model.json are
written into a hidden temporary folder that is then renamed into place, so a
reader never sees half a model and a crashed trainer leaves only a dot-folder.
"""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["ModelRecord", "ModelRegistry", "RegistryError", "UnknownModel"]

MODEL_FILE = "model.json"
ACTIVE_FILE = "active.json"
HISTORY_FILE = "promotions.jsonl"
LATEST = "latest"

# One path component, portable, and never "." / ".." or a hidden folder (our temp folders
# start with a dot, so they can never be mistaken for a version).
_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
# Leaves room for "-yyyymmdd-HHMMSS-NN" within the 64-character version limit.
_MAX_KIND = 40
_STAMP = "%Y%m%d-%H%M%S"
_SAME_SECOND = re.compile(r"-\d{8}-\d{6}(?:-(\d+))?$")
_RESERVED = ("version", "kind", "created_at")
_MAX_LISTED = 10


class RegistryError(ValueError):
    """A registry request that cannot be met; the message says why."""


class UnknownModel(RegistryError):
    """No model with the requested version; the message lists the available ones."""


class InvalidName(RegistryError):
    """A version or kind that is not a safe name (path characters, too long, ...)."""


@dataclass(frozen=True)
class ModelRecord:
    version: str
    kind: str
    created_at: str  # ISO-8601 UTC, second precision, e.g. 2026-11-26T03:15:02Z
    path: Path  # folder holding the artifacts and model.json
    metadata: dict[str, Any] = field(hash=False)  # full content of model.json
    promoted: bool  # is this the active (promoted) version


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _check_name(value: object, what: str, max_len: int = 64) -> str:
    if not isinstance(value, str) or len(value) > max_len or not _NAME.fullmatch(value):
        raise InvalidName(
            f"invalid {what} {value!r}: use letters, digits, '.', '_' and '-', at most "
            f"{max_len} characters, not starting with '.'"
        )
    return value


def _check_json(value: object, where: str) -> None:
    """Reject what would not come back unchanged from model.json, naming where it is."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RegistryError(f"metadata is not JSON-serialisable: {where} is {value!r}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                # json would silently turn 15 into "15", so a read-back would differ.
                raise RegistryError(
                    f"metadata is not JSON-serialisable: key {key!r} in {where} is not a string"
                )
            _check_json(item, f"{where}[{key!r}]")
        return
    raise RegistryError(f"metadata is not JSON-serialisable: {where} is a {type(value).__name__}")


def _newest_first_key(record: ModelRecord) -> tuple[float, int, str]:
    try:
        when = datetime.fromisoformat(record.created_at).timestamp()
    except ValueError:
        when = -math.inf
    # Versions made within one second share created_at; their "-N" suffix orders them.
    match = _SAME_SECOND.search(record.version)
    rank = int(match.group(1)) if match and match.group(1) else 1
    return (when, rank, record.version)


def _fsync_dir(path: Path) -> None:
    # Makes a rename durable; not every platform can open a directory, hence best effort.
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ModelRegistry:
    """Trained models in one folder; see the module docstring for the layout."""

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.root = Path(root)
        self._clock = clock

    # ---- writing -----------------------------------------------------------------------

    def register(
        self,
        kind: str,
        metadata: dict[str, Any],
        write: Callable[[Path], object],
        *,
        promote: bool = False,
    ) -> ModelRecord:
        """Store a new model; `write(folder)` saves its artifacts into `folder`.

        If `write` raises, nothing is left behind and its exception propagates.
        """
        _check_name(kind, "kind", _MAX_KIND)
        if not isinstance(metadata, dict):
            raise RegistryError(f"metadata must be a dict, not {type(metadata).__name__}")
        _check_json(metadata, "metadata")
        for key in _RESERVED:
            if key in metadata and not (key == "kind" and metadata[key] == kind):
                raise RegistryError(
                    f"metadata[{key!r}] is set by the registry; leave it out of the metadata"
                )
        moment = self._clock()
        created_at = _iso(moment)
        base = f"{kind}-{moment.astimezone(UTC).strftime(_STAMP)}"

        self.root.mkdir(parents=True, exist_ok=True)
        # Inside root so the final rename stays on one filesystem and is atomic.
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=self.root))
        try:
            write(tmp)
            if (tmp / MODEL_FILE).exists():
                raise RegistryError(
                    f"write() created {MODEL_FILE}, which the registry owns; "
                    "store the artifacts under other names"
                )
            version = self._move_into_place(tmp, base, kind, created_at, metadata)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        record = self.get(version)
        return self.promote(version) if promote else record

    def _move_into_place(
        self, tmp: Path, base: str, kind: str, created_at: str, metadata: dict[str, Any]
    ) -> str:
        n = 1
        while True:
            version = base if n == 1 else f"{base}-{n}"
            n += 1
            target = self.root / version
            if target.exists():
                continue
            content = {"version": version, "kind": kind, "created_at": created_at, **metadata}
            _write_json(tmp / MODEL_FILE, content, indent=2)
            try:
                os.rename(tmp, target)
            except OSError as exc:
                # Another writer took the name between exists() and rename(): try the next one.
                if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    continue
                raise
            _fsync_dir(self.root)
            return version

    def promote(self, version: str) -> ModelRecord:
        """Make `version` the active model; promoting the active one changes nothing."""
        record = self.get(version)
        current = self._active_version()
        if current == record.version:
            return record
        self._set_active(record.version)
        # Pointer first, log second: after a crash in between, rollback still goes back to
        # the version that was active before this promotion.
        self._log({"action": "promote", "version": record.version, "previous": current})
        return self.get(record.version)

    def rollback(self) -> ModelRecord:
        """Re-promote the version that was active before the current one.

        Rollbacks walk back through the promotion history: promoting a, b, c and then
        rolling back twice makes a active again. Versions whose folder is gone are skipped.
        """
        current, target = self._rollback_target()
        self._set_active(target)
        self._log({"action": "rollback", "version": target, "previous": current})
        return self.get(target)

    def rollback_target(self) -> ModelRecord:
        """The version `rollback` would re-promote, without changing anything."""
        return self.get(self._rollback_target()[1])

    def _rollback_target(self) -> tuple[str, str]:
        current = self._active_version()
        if current is None:
            raise RegistryError("no model is promoted, so there is nothing to roll back")
        stack = self._promotion_stack()
        while stack and (stack[-1] == current or not self._exists(stack[-1])):
            stack.pop()
        if not stack:
            raise RegistryError(
                f"nothing to roll back to: {current} is the only version promoted so far"
            )
        return current, stack[-1]

    # ---- reading -----------------------------------------------------------------------

    def list(self) -> builtins.list[ModelRecord]:
        """All readable models, newest first."""
        if not self.root.exists():
            return []
        if not self.root.is_dir():
            raise RegistryError(f"model registry {self.root} is not a folder")
        active = self._active_version()
        records: builtins.list[ModelRecord] = []
        for entry in self.root.iterdir():
            if not _NAME.fullmatch(entry.name) or not entry.is_dir():
                continue
            try:
                records.append(self._read(entry, active))
            except RegistryError:
                continue  # a folder without a readable model.json is not a model
        records.sort(key=_newest_first_key, reverse=True)
        return records

    def get(self, version: str) -> ModelRecord:
        _check_name(version, "version")
        folder = self.root / version
        if not (folder / MODEL_FILE).is_file():
            raise UnknownModel(self._unknown_message(version))
        return self._read(folder, self._active_version())

    def resolve(self, name: str) -> ModelRecord:
        """`latest` is the promoted version, else the newest; anything else is a version."""
        if name != LATEST:
            return self.get(name)
        active = self.active()
        if active is not None:
            return active
        records = self.list()
        if not records:
            raise UnknownModel("no model has been trained yet; train one with `trafficcast train`")
        return records[0]

    def active(self) -> ModelRecord | None:
        """The promoted model, or None if none is promoted or its folder is gone."""
        version = self._active_version()
        if version is None:
            return None
        try:
            return self.get(version)
        except RegistryError:
            return None

    # ---- internals ---------------------------------------------------------------------

    def _exists(self, version: str) -> bool:
        return bool(_NAME.fullmatch(version)) and (self.root / version / MODEL_FILE).is_file()

    def _read(self, folder: Path, active: str | None) -> ModelRecord:
        try:
            content = json.loads((folder / MODEL_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RegistryError(f"{folder / MODEL_FILE} is unreadable: {exc}") from exc
        if not isinstance(content, dict):
            raise RegistryError(f"{folder / MODEL_FILE} does not hold a JSON object")
        # The folder name is what get() looks up, so it wins over a hand-edited model.json.
        version = folder.name
        kind = content.get("kind")
        created_at = content.get("created_at")
        return ModelRecord(
            version=version,
            kind=kind if isinstance(kind, str) else "unknown",
            created_at=created_at if isinstance(created_at, str) else "",
            path=folder,
            metadata=content,
            promoted=version == active,
        )

    def _unknown_message(self, version: str) -> str:
        available = [r.version for r in self.list()]
        if not available:
            return (
                f"unknown model version {version!r}: no model has been trained yet; "
                "train one with `trafficcast train`"
            )
        shown = ", ".join(available[:_MAX_LISTED])
        more = len(available) - _MAX_LISTED
        if more > 0:
            shown += f" and {more} more"
        return f"unknown model version {version!r}; available: {LATEST}, {shown}"

    def _active_version(self) -> str | None:
        try:
            content = json.loads((self.root / ACTIVE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        version = content.get("version") if isinstance(content, dict) else None
        return version if isinstance(version, str) and _NAME.fullmatch(version) else None

    def _set_active(self, version: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        content = {"version": version, "promoted_at": _iso(self._clock())}
        fd, tmp_name = tempfile.mkstemp(prefix=".active-", suffix=".tmp", dir=self.root)
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(content) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            # Readers see the old pointer or the new one, never a half-written file.
            os.replace(tmp, self.root / ACTIVE_FILE)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)

    def _log(self, entry: dict[str, Any]) -> None:
        line = json.dumps({"at": _iso(self._clock()), **entry}) + "\n"
        # One write of one short line in append mode, so concurrent writers do not interleave.
        with (self.root / HISTORY_FILE).open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())

    def _promotion_stack(self) -> builtins.list[str]:
        """Replay promotions.jsonl: a promotion pushes, a rollback pops back to its target."""
        stack: builtins.list[str] = []
        try:
            lines = (self.root / HISTORY_FILE).read_text(encoding="utf-8").splitlines()
        except OSError:
            return stack
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a torn last line after a crash; the rest is still good
            if not isinstance(entry, dict) or not isinstance(entry.get("version"), str):
                continue
            version: str = entry["version"]
            if entry.get("action") == "rollback" and version in stack:
                while stack[-1] != version:
                    stack.pop()
            elif not stack or stack[-1] != version:
                stack.append(version)
        return stack


def _write_json(path: Path, content: dict[str, Any], *, indent: int | None = None) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(content, indent=indent, ensure_ascii=False, allow_nan=False) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
