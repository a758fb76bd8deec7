"""`trafficcast users …` and `trafficcast keys …` on a real store, then used against a server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from trafficcast.api.background import BackgroundServer
from trafficcast.cli import app
from trafficcast.config import Settings
from trafficcast.runtime import Runtime

runner = CliRunner()
PASSWORD = "a password from stdin"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TRAFFICCAST_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("TRAFFICCAST_DATABASE_URL", raising=False)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, result.output
    return result.stdout


def fail(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == 1, result.output
    return result.output


def test_users_add_list_set_role_disable_enable(data_dir: Path) -> None:
    run("users", "add", "boss", "--role", "admin", "--password-stdin", stdin=PASSWORD + "\n")
    shown = run("users", "add", "vera", "--random-password")
    password = shown.split("password (shown once): ")[1].strip()
    assert len(password) >= 20
    assert "already exists" in fail("users", "add", "vera", "--password-stdin", stdin=PASSWORD)
    assert "at least 12" in fail("users", "add", "x", "--password-stdin", stdin="short\n")
    assert "username" in fail("users", "add", "bad name", "--password-stdin", stdin=PASSWORD)
    listing = run("users", "list")
    assert "boss" in listing
    assert "admin" in listing
    assert "vera" in listing
    assert "analyst" in run("users", "set-role", "vera", "analyst", "--tier", "premium")
    assert "disabled" in run("users", "disable", "vera")
    assert "admin must remain" in fail("users", "disable", "boss")
    assert "no user named" in fail("users", "set-role", "nobody", "viewer")
    assert "enabled" in run("users", "enable", "vera")
    new = (
        run("users", "set-password", "vera", "--random-password").split("(shown once): ")[1].strip()
    )

    runtime = Runtime(Settings(data_dir=data_dir, anonymous_role=""))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        assert (
            c.post("/auth/login", json={"username": "boss", "password": PASSWORD}).status_code
            == 200
        )
        assert (
            c.post("/auth/login", json={"username": "vera", "password": password}).status_code
            == 401
        )
        me = c.post("/auth/login", json={"username": "vera", "password": new})
        assert me.json()["user"]["role"] == "analyst"
        assert me.json()["user"]["tier"] == "premium"


def test_keys_create_list_revoke(data_dir: Path) -> None:
    key = run("keys", "create", "district 8 feed", "--tier", "premium").strip().splitlines()[-1]
    assert key.startswith("tck_")
    prefix = key.split("_")[1]
    listing = run("keys", "list")
    assert prefix in listing
    assert key not in listing
    runtime = Runtime(Settings(data_dir=data_dir, anonymous_role=""))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        me = c.get("/auth/me", headers={"X-API-Key": key}).json()
        assert (me["role"], me["tier"]) == ("api", "premium")
    assert "revoked" in run("keys", "revoke", prefix)
    assert "no API key" in fail("keys", "revoke", "ZZZZZZZZ")
    runtime = Runtime(Settings(data_dir=data_dir, anonymous_role=""))
    with BackgroundServer(runtime) as server, httpx.Client(base_url=server.url) as c:
        assert c.get("/api/segments", headers={"X-API-Key": key}).status_code == 401


def test_a_running_embedded_server_holds_the_file(data_dir: Path) -> None:
    runtime = Runtime(Settings(data_dir=data_dir))
    try:
        # Another process: DuckDB shares an open file within one process.
        cli = Path(sys.executable).parent / "trafficcast"
        result = subprocess.run(
            [str(cli), "users", "list"], capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 1
        assert "manage accounts in the dashboard" in result.stderr
        assert "Traceback" not in result.stderr
    finally:
        runtime.stop()
