"""Helpers shared by the benchmark scripts (not a benchmark itself).

Run the scripts as `.venv/bin/python bench/<name>.py`; this module is found
because Python puts the script's own folder first on sys.path.
"""

from __future__ import annotations

import contextlib
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from trafficcast.api.background import free_port  # noqa: F401  (re-exported for the scripts)

ROOT = Path(__file__).resolve().parent.parent

# The pipeline benchmarks measure ingest, windows, forecasts and reads, not access
# control: their servers (spawned with this environment, or in-process) admit the
# anonymous caller as admin with no rate limits. bench/api_auth.py measures
# authentication and rate limiting, and sets its servers' access explicitly.
os.environ.setdefault("TRAFFICCAST_ANONYMOUS_ROLE", "admin")
for _class in ("ANONYMOUS", "AUTHENTICATED", "PREMIUM"):
    os.environ.setdefault(f"TRAFFICCAST_RATE_LIMIT_{_class}_PER_HOUR", "0")
VENV_BIN = Path(sys.executable).parent
console = Console(highlight=False, width=max(150, shutil.get_terminal_size((150, 40)).columns))


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, Python {platform.python_version()}"


def header(title: str) -> None:
    console.rule(f"[bold]{title}")
    console.print(f"machine: {machine_line()}")
    console.print(f"date:    {time.strftime('%Y-%m-%d %H:%M:%S %Z')}")
    console.print(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    console.print(f"src:     {src_digest()} (sha256 of src/trafficcast/**/*.py, first 12)")


def src_digest() -> str:
    """Which version of the code was measured (others edit src/ concurrently)."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted((ROOT / "src" / "trafficcast").rglob("*.py")):
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def percentiles_ms(values_s: Sequence[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(values_s, dtype=np.float64) * 1000.0
    if a.size == 0:
        return {k: float("nan") for k in ("p50", "p90", "p99", "max", "mean")}
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {"p50": p50, "p90": p90, "p99": p99, "max": float(a.max()), "mean": float(a.mean())}


def verdict(ok: bool) -> str:
    return "[bold green]PASS[/]" if ok else "[bold red]FAIL[/]"


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> Table:
    t = Table(title=title, title_justify="left")
    for i, c in enumerate(columns):
        t.add_column(c, justify="left" if i == 0 else "right")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    return t


def fmt_int(x: float) -> str:
    return f"{x:,.0f}"


def fmt_ms(x: float) -> str:
    return f"{x:.2f}"


class Server:
    """A server subprocess in its own process group; stopped with SIGINT, then SIGKILL."""

    def __init__(self, args: list[str], log_path: Path, env: dict[str, str] | None = None):
        self.args = args
        self.log_path = log_path
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            self.args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        return self

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n: int = 20) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self._log.close()


def wait_http(url: str, timeout: float, ok: object = None, server: Server | None = None) -> bytes:
    """Poll url until it answers 200 (and `ok(body)` is true, when given); returns the body."""
    import httpx

    deadline = time.monotonic() + timeout
    last = ""
    with httpx.Client(timeout=5) as client:
        while time.monotonic() < deadline:
            if server is not None and not server.alive():
                raise RuntimeError(f"server exited early; log tail:\n{server.log_tail()}")
            try:
                r = client.get(url)
                if r.status_code == 200 and (ok is None or ok(r.content)):  # type: ignore[operator]
                    return r.content
                last = f"HTTP {r.status_code}: {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.25)
    raise TimeoutError(f"{url} not ready after {timeout:.0f} s (last: {last})")


def trafficcast_bin() -> str:
    exe = VENV_BIN / "trafficcast"
    if exe.exists():
        return str(exe)
    found = shutil.which("trafficcast")
    if not found:
        raise SystemExit("trafficcast entry point not found; install the project into .venv")
    return found


@contextlib.contextmanager
def timed() -> Iterator[list[float]]:
    box: list[float] = []
    t0 = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - t0)
