"""Notification attempts: every try to deliver an alert to a webhook or by e-mail.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26

The DDL is the one the DuckDB adapter runs (store/notification_sql.py), so both
stores hold the same columns.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

from trafficcast.store.notification_sql import DDL

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(DDL)


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS notification_attempts;")
