"""`trafficcast db`: migrate the PostgreSQL store and show its schema revision."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from trafficcast.cli.common import _fail
from trafficcast.cli.common import app as main_app
from trafficcast.config import Settings
from trafficcast.store import migrate
from trafficcast.store.base import StoreUnavailable

app = typer.Typer(
    help="The PostgreSQL store's schema: upgrade to the newest migration, show the current one.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="postgresql://user:password@host:port/database (default: the database_url setting)",
        show_default=False,
    ),
]


def _url(database_url: str | None) -> str:
    """The URL to migrate; fails with one line unless it names a PostgreSQL database."""
    if database_url is None:
        try:
            database_url = Settings().database_url
        except ValidationError as exc:
            _fail(f"invalid settings: {exc}")
    if not database_url:
        _fail(
            "no database URL: pass --database-url postgresql://... or set "
            "TRAFFICCAST_DATABASE_URL (the embedded DuckDB store needs no migrations)"
        )
    if not migrate.is_postgres_url(database_url):
        _fail(
            f"database URL {migrate.redact(database_url)!r} is not PostgreSQL: migrations "
            "apply to postgresql:// URLs only (the DuckDB store creates its tables itself)"
        )
    return database_url


@app.command()
def upgrade(
    database_url: DatabaseUrl = None,
    revision: Annotated[str, typer.Option(help="Target revision")] = "head",
) -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    url = _url(database_url)
    try:
        migrate.upgrade(url, revision)
        now = migrate.current(url)
    except StoreUnavailable as exc:
        _fail(str(exc))
    except Exception as exc:  # alembic and SQL errors: one line, not a traceback
        _fail(f"migration of {migrate.redact(url)} failed: {exc}")
    typer.echo(f"{migrate.redact(url)}: at revision {now}")


@app.command()
def downgrade(
    revision: Annotated[
        str, typer.Argument(help="Revision to go back to (`trafficcast db current` shows ids)")
    ],
    database_url: DatabaseUrl = None,
) -> None:
    """Undo the migrations after REVISION, for a rollback to an older release."""
    url = _url(database_url)
    try:
        migrate.downgrade(url, revision)
        now = migrate.current(url)
    except StoreUnavailable as exc:
        _fail(str(exc))
    except Exception as exc:  # an unknown revision or an SQL error: one line
        _fail(f"downgrade of {migrate.redact(url)} failed: {exc}")
    typer.echo(f"{migrate.redact(url)}: at revision {now}")


@app.command()
def current(database_url: DatabaseUrl = None) -> None:
    """Show the database's revision, and whether it is the newest this version ships."""
    url = _url(database_url)
    try:
        revision = migrate.current(url)
    except StoreUnavailable as exc:
        _fail(str(exc))
    head = migrate.head()
    if revision is None:
        typer.echo(f"{migrate.redact(url)}: no schema yet (run `trafficcast db upgrade`)")
    elif revision == head:
        typer.echo(f"{migrate.redact(url)}: at revision {revision} (newest)")
    else:
        typer.echo(f"{migrate.redact(url)}: at revision {revision}; newest is {head}")


main_app.add_typer(app, name="db", help="PostgreSQL store schema: upgrade, current.")
