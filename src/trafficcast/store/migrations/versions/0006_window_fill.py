"""Fill flags: how each stored window came about, and each forecast's input (PRODUCT.md §7a).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

observed, imputed_neighbours, imputed_profile or missing (stream/gap_fill.py). Windows
stored before this revision had readings, so they are observed; with a constant default
PostgreSQL adds the column without rewriting the table.

Forecasts record the fill of the window they were issued from (input_fill): one code
(domain/fill.FILL_KINDS index) per horizon entry, beside the value arrays of both
prediction tables (migration 0002); null for forecasts stored before.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TABLE window_aggregates ADD COLUMN fill text NOT NULL DEFAULT 'observed';")
    op.execute("ALTER TABLE predictions ADD COLUMN input_fill int4[];")
    op.execute("ALTER TABLE latest_predictions ADD COLUMN input_fill int4[];")


def downgrade() -> None:
    op.execute("ALTER TABLE latest_predictions DROP COLUMN input_fill;")
    op.execute("ALTER TABLE predictions DROP COLUMN input_fill;")
    op.execute("ALTER TABLE window_aggregates DROP COLUMN fill;")
