"""`trafficcast db upgrade / downgrade / current` against a real PostgreSQL: the
rollback path docs/operations.md tells operators to use."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg
import pytest

from trafficcast.store import migrate

pytestmark = pytest.mark.slow


def db(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "trafficcast.cli", "db", *args, "--database-url", url],
        env={**os.environ, "TRAFFICCAST_LOG_LEVEL": "WARNING"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    return {r[0] for r in rows}


def test_downgrade_goes_back_and_upgrade_returns(postgres_database: str) -> None:
    head = migrate.head()
    assert db(postgres_database, "upgrade").returncode == 0
    assert "users" in tables(postgres_database)  # made by 0004

    back = db(postgres_database, "downgrade", "0003")
    assert back.returncode == 0, back.stderr
    assert back.stdout.strip().endswith("at revision 0003")
    assert "users" not in tables(postgres_database)
    assert "alerts" in tables(postgres_database)  # 0003 and older stay
    assert "revision 0003; newest is" in db(postgres_database, "current").stdout

    again = db(postgres_database, "upgrade")
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith(f"at revision {head}")
    assert "users" in tables(postgres_database)


def test_an_unknown_revision_is_refused_in_one_line(postgres_database: str) -> None:
    assert db(postgres_database, "upgrade").returncode == 0
    refused = db(postgres_database, "downgrade", "no-such-revision")
    assert refused.returncode == 1
    assert "downgrade of" in refused.stderr
    assert "no-such-revision" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert db(postgres_database, "current").stdout.strip().endswith("(newest)")
