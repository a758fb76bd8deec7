"""Alembic migrations of the PostgreSQL store, run from code.

The Alembic configuration is built here rather than read from an alembic.ini,
so `init_schema()` and `trafficcast db upgrade` work from any directory and
from an installed wheel (the migrations folder ships as package data).
"""

from __future__ import annotations

import threading
from pathlib import Path

import sqlalchemy
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import make_url

from trafficcast.store.base import StoreUnavailable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Key of the advisory lock held while migrating (any constant; "tcmigr" in ASCII).
MIGRATION_LOCK = 0x74636D696772
_SCHEMES = ("postgresql://", "postgres://", "postgresql+psycopg://")
# Alembic keeps the running environment in module globals: one upgrade per
# process at a time (processes are kept apart by MIGRATION_LOCK in env.py).
_ALEMBIC = threading.Lock()


def is_postgres_url(url: str) -> bool:
    return url.startswith(_SCHEMES)


def sqlalchemy_url(url: str) -> str:
    """The URL with SQLAlchemy's driver prefix: it would pick psycopg2 for plain postgresql://."""
    if not is_postgres_url(url):
        raise ValueError(f"not a PostgreSQL URL (postgresql://...): {redact(url)}")
    _, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}"


def redact(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not even URL-shaped: show only its scheme
        return url.split("://", 1)[0] + "://..."


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not as sqlalchemy.url: the ini parser would read
    # a '%' in a password as interpolation.
    cfg.attributes["url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at url to revision; StoreUnavailable if it cannot be reached."""
    try:
        with _ALEMBIC:
            command.upgrade(config(url), revision)
    except sqlalchemy.exc.OperationalError as exc:
        raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(url)}: {exc.orig}") from exc


def downgrade(url: str, revision: str) -> None:
    """Undo migrations down to revision (a rollback to an older release)."""
    try:
        with _ALEMBIC:
            command.downgrade(config(url), revision)
    except sqlalchemy.exc.OperationalError as exc:
        raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(url)}: {exc.orig}") from exc


def current(url: str) -> str | None:
    """The revision the database is at; None before the first migration."""
    engine = sqlalchemy.create_engine(
        sqlalchemy_url(url), poolclass=sqlalchemy.pool.NullPool, connect_args={"connect_timeout": 5}
    )
    try:
        with engine.connect() as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except sqlalchemy.exc.OperationalError as exc:
        raise StoreUnavailable(f"cannot reach PostgreSQL at {redact(url)}: {exc.orig}") from exc
    finally:
        engine.dispose()
    return revision


def head() -> str | None:
    """The newest revision shipped with this version."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(config("postgresql://unused")).get_current_head()
