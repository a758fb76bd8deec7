"""Real services (PostgreSQL, Kafka, Redis) for tests, run by scripts/services/<name>.sh.

Each service runs on 127.0.0.1 on a free port picked at its first start and kept in its state
folder, so a stop+start comes back on the same URL with the same data. The session fixtures keep
their state in pytest's session temp folder, never in a developer's .services/.

- ``postgres_service``, ``kafka_service``, ``redis_service`` (session): a started ``Service``;
  destroyed (stopped, data deleted) at session end. Do not stop or restart these in a test:
  use ``start_service`` for a private instance instead.
- ``postgres_database`` (function): the URL of a fresh, uniquely named database on the session
  PostgreSQL, dropped WITH (FORCE) afterwards.
- ``start_service(name, state_dir)``: a private instance for fault tests (restart a broker,
  stop a database); the caller stops or destroys it (a leftover is stopped at interpreter exit).

A script that fails makes the fixture fail (not skip) with the script's stderr tail.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Final
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

PROJECT_ROOT: Final = Path(__file__).resolve().parents[1]
SCRIPTS_DIR: Final = PROJECT_ROOT / "scripts" / "services"
SERVICE_NAMES: Final = ("postgres", "kafka", "redis")

# Kafka's first start resolves the broker's jars with Maven; apt-get may install the others.
START_TIMEOUT_S: Final = {"kafka": 600.0, "postgres": 300.0, "redis": 300.0}
STOP_TIMEOUT_S: Final = 120.0
STDERR_TAIL_LINES: Final = 40


class ServiceError(RuntimeError):
    """A service script failed; the message carries the tail of its stderr."""


class Service:
    """One instance of a service, driven by ``scripts/services/<name>.sh``.

    ``state_dir`` is the instance's services folder (passed as TRAFFICCAST_SERVICES_DIR); the
    script keeps its port, data, pid and logs in ``state_dir / name``.
    """

    def __init__(self, name: str, state_dir: Path) -> None:
        if name not in SERVICE_NAMES:
            raise ValueError(f"unknown service {name!r}; expected one of {SERVICE_NAMES}")
        self.name = name
        self.state_dir = Path(state_dir)
        self.url = ""

    def __repr__(self) -> str:
        return f"Service({self.name!r}, {str(self.state_dir)!r}, url={self.url!r})"

    @property
    def script(self) -> Path:
        return SCRIPTS_DIR / f"{self.name}.sh"

    def start(self) -> str:
        """Start (idempotent), wait until ready; sets and returns the URL."""
        began = time.monotonic()
        _progress(f"[{self.name}] starting (state in {self.state_dir / self.name})")
        stdout = self._run("start", START_TIMEOUT_S[self.name], echo=True)
        lines = [line for line in stdout.splitlines() if line.strip()]
        if not lines:
            raise ServiceError(f"{self.script} start printed no URL on stdout")
        self.url = lines[-1].strip()
        _STARTED[id(self)] = self
        _progress(f"[{self.name}] ready at {self.url} in {time.monotonic() - began:.1f} s")
        return self.url

    def stop(self) -> None:
        """Stop by PID and wait until it is gone (no-op when not running)."""
        self._run("stop", STOP_TIMEOUT_S)
        _STARTED.pop(id(self), None)

    def restart(self) -> str:
        """Stop, then start again: same port, same data."""
        self.stop()
        return self.start()

    def running(self) -> bool:
        return self._status("status") == 0

    def pid(self) -> int | None:
        """The server's PID while running, else None."""
        result = subprocess.run(
            [str(self.script), "pid"],
            env=self._env(),
            capture_output=True,
            text=True,
            timeout=STOP_TIMEOUT_S,
            check=False,
        )
        out = result.stdout.strip()
        return int(out) if result.returncode == 0 and out.isdigit() else None

    def destroy(self) -> None:
        """Stop and delete the instance's state (data included)."""
        self._run("destroy", STOP_TIMEOUT_S)
        _STARTED.pop(id(self), None)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["TRAFFICCAST_SERVICES_DIR"] = str(self.state_dir)
        return env

    def _status(self, action: str) -> int:
        result = subprocess.run(
            [str(self.script), action],
            env=self._env(),
            capture_output=True,
            timeout=STOP_TIMEOUT_S,
            check=False,
        )
        return result.returncode

    def _run(self, action: str, timeout_s: float, *, echo: bool = False) -> str:
        """Run the script; returns its stdout, raises ServiceError with the stderr tail."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(
            [str(self.script), action],
            env=self._env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=PROJECT_ROOT,
            start_new_session=True,  # a timeout kills the script and its children (mvn, apt)
        )
        tail: deque[str] = deque(maxlen=STDERR_TAIL_LINES)
        out: list[str] = []
        assert proc.stdout is not None
        assert proc.stderr is not None
        readers = [
            threading.Thread(target=_pump, args=(proc.stderr, tail.append, echo), daemon=True),
            threading.Thread(target=_pump, args=(proc.stdout, out.append, False), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise ServiceError(
                f"{self.script} {action} timed out after {timeout_s:.0f} s; stderr tail:\n"
                + "".join(tail)
            ) from None
        finally:
            for reader in readers:
                reader.join(timeout=5)
        if proc.returncode != 0:
            raise ServiceError(
                f"{self.script} {action} failed (exit {proc.returncode}); stderr tail:\n"
                + "".join(tail)
            )
        stdout = "".join(out)
        return stdout


def _pump(stream: IO[str], sink: Callable[[str], None], echo: bool) -> None:
    for line in stream:
        sink(line)
        if echo:
            _progress(line.rstrip("\n"))


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# Instances started and not stopped yet: stopped at interpreter exit, so no server outlives
# the test run even when a test forgets to stop its private instance.
_STARTED: dict[int, Service] = {}


@atexit.register
def _stop_leftovers() -> None:
    for service in list(_STARTED.values()):
        try:
            service.stop()
        except (ServiceError, OSError, subprocess.SubprocessError) as exc:
            print(f"could not stop {service!r}: {exc}", file=sys.stderr)


def start_service(name: str, state_dir: Path) -> Service:
    """Start a private instance of NAME keeping its state under STATE_DIR / NAME.

    The caller stops it (``stop``) or deletes it (``destroy``); it can be stopped and started
    again any number of times on the same port with the same data.
    """
    service = Service(name, state_dir)
    try:
        service.start()
    except ServiceError:
        # Do not leave a half-started server behind (e.g. up but not ready in time).
        with contextlib.suppress(ServiceError):
            service.stop()
        raise
    return service


def _session_service(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    service = start_service(name, tmp_path_factory.mktemp(f"services-{name}"))
    try:
        yield service
    finally:
        service.destroy()


@pytest.fixture(scope="session")
def postgres_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A PostgreSQL for the session; ``url`` names the database ``trafficcast``."""
    yield from _session_service("postgres", tmp_path_factory)


@pytest.fixture(scope="session")
def kafka_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A single-node Kafka (KRaft) for the session; ``url`` is the bootstrap ``127.0.0.1:PORT``."""
    yield from _session_service("kafka", tmp_path_factory)


@pytest.fixture(scope="session")
def redis_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """A Redis for the session; ``url`` is ``redis://127.0.0.1:PORT/0``."""
    yield from _session_service("redis", tmp_path_factory)


def database_url(server_url: str, database: str) -> str:
    """SERVER_URL with its database replaced by DATABASE."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture
def postgres_database(postgres_service: Service) -> Iterator[str]:
    """The URL of a fresh, empty database, dropped (WITH (FORCE)) after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    admin_url = database_url(postgres_service.url, "postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(postgres_service.url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
