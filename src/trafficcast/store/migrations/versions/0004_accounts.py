"""Accounts: users (with Argon2id password hashes) and API keys (SHA-256 digests).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26

The DDL is the one the DuckDB adapter runs (store/account_sql.py), so both
stores hold the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from trafficcast.store.account_sql import DDL

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS api_keys; DROP TABLE IF EXISTS users;")
