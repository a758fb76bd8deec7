"""The demo has no default password: it makes an admin with a random one, printed once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from trafficcast.api.background import free_port

pytestmark = pytest.mark.slow

CLI = str(Path(sys.executable).parent / "trafficcast")
PASSWORD_LINE = re.compile(r"sign in\s+user (\S+), password (\S+)\s+\(shown once\)")


@contextmanager
def demo(data_dir: Path, port: int, *extra: str) -> Iterator[tuple[str, list[str]]]:
    env = {**os.environ, "TRAFFICCAST_ANONYMOUS_ROLE": "", "COLUMNS": "200"}
    cmd = [CLI, "demo", "--port", str(port), "--data-dir", str(data_dir), "--segments", "10"]
    cmd += ["--train-days", "0", "--history-hours", "0.2", *extra]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code in (200, 503):
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise AssertionError("the demo did not start")
        yield url, lines
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
        lines.extend(out.decode(errors="replace").splitlines())


def test_the_demo_prints_a_random_admin_password_once(tmp_path: Path) -> None:
    port = free_port()
    with demo(tmp_path, port) as (url, first):
        assert httpx.get(f"{url}/api/segments").status_code == 401
    found = [m for line in first for m in [PASSWORD_LINE.search(line)] if m]
    assert len(found) == 1, "\n".join(first)
    user, password = found[0].groups()
    assert user == "admin"
    assert len(password) >= 20
    # The same password is not printed anywhere else, and it works.
    assert sum(password in line for line in first) == 1
    with demo(tmp_path, port, "--keep") as (url, lines):
        session = httpx.post(f"{url}/auth/login", json={"username": user, "password": password})
        assert session.status_code == 200
        token = session.json()["access_token"]
        me = httpx.get(f"{url}/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["role"] == "admin"
    # Kept database: the admin exists, no new password is made or shown.
    assert not any(PASSWORD_LINE.search(line) for line in lines)
    assert any("existing admin" in line for line in lines)
