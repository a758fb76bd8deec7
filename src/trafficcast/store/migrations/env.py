"""Alembic environment: migrations run on a plain SQLAlchemy engine built from the URL.

The URL comes from `config.attributes["url"]` (set by trafficcast.store.migrate),
not from an alembic.ini, so migrations run the same from any working directory.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

from trafficcast.store.migrate import MIGRATION_LOCK, sqlalchemy_url

config = context.config


def run_migrations_offline() -> None:
    context.configure(url=sqlalchemy_url(config.attributes["url"]), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(
        sqlalchemy_url(config.attributes["url"]),
        poolclass=pool.NullPool,
        connect_args={"connect_timeout": 5},
    )
    try:
        with engine.connect() as connection:
            # Every processor and API replica runs init_schema at start: the lock
            # makes the first one migrate and the others find the schema at head.
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            context.configure(connection=connection, transaction_per_migration=False)
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
