"""The `trafficcast` command: serve, demo, replay, simulate, train, evaluate and models.

Importing a command module registers its commands on the shared app; `--help`
lists them in import order, so the pipeline's commands come first.
"""

from __future__ import annotations

from trafficcast.cli import running  # isort: split

from trafficcast.cli import (
    accounts,
    archive,
    backup,
    database,
    forecasting,
    models,
    processing,
    reports,
    spark,
)
from trafficcast.cli.common import app

app.add_typer(
    models.app, name="models", help="Trained forecasting models: list, show, promote, roll back."
)
app.add_typer(accounts.users_app, name="users", help="Users: add, list, set-role, disable.")
app.add_typer(accounts.keys_app, name="keys", help="API keys: create, list, revoke.")
app.add_typer(reports.app, name="report", help="Reports: performance (JSON, CSV or PDF).")
app.add_typer(archive.app, name="archive", help="Parquet archive: compact, retention, list.")
app.add_typer(
    spark.app, name="spark", help="Spark jobs over the archive: backfill, train, features."
)

__all__ = [
    "accounts",
    "app",
    "backup",
    "database",
    "forecasting",
    "main",
    "processing",
    "reports",
    "running",
]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
