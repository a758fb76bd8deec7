"""Alert lifecycle: operators acknowledge and resolve alerts; history is filtered.

Revision ID: 0003
Revises: 0002
Create Date: 2026-01-20

- alerts gains the operator's columns: acknowledged_at, acknowledged_by (null
  until users exist), note, and updated_at (the last change by anyone). Rows
  from before take their last known change as updated_at.
- The alert list is read newest first, by segment (the segment page) and by
  state (the active list); (state, opened_at) exists, these two serve the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UPGRADE = """
ALTER TABLE alerts
    ADD COLUMN acknowledged_at timestamptz,
    ADD COLUMN acknowledged_by text COLLATE "C",
    ADD COLUMN note text,
    ADD COLUMN updated_at timestamptz;
UPDATE alerts SET updated_at = coalesce(resolved_at, opened_at);
CREATE INDEX alerts_opened ON alerts (opened_at);
CREATE INDEX alerts_segment_opened ON alerts (segment_id, opened_at);
"""

_DOWNGRADE = """
DROP INDEX IF EXISTS alerts_segment_opened;
DROP INDEX IF EXISTS alerts_opened;
ALTER TABLE alerts
    DROP COLUMN IF EXISTS updated_at,
    DROP COLUMN IF EXISTS note,
    DROP COLUMN IF EXISTS acknowledged_by,
    DROP COLUMN IF EXISTS acknowledged_at;
"""


def upgrade() -> None:
    op.execute(_UPGRADE)


def downgrade() -> None:
    op.execute(_DOWNGRADE)
