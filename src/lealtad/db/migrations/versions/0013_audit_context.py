"""Audit log: where each change came from

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 19:50:00

Only adds columns (0012 turns `details` into encrypted text); rows written before have none.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (("ip", 64), ("user_agent", 300), ("channel", 16), ("request_id", 64))


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, length in COLUMNS:
            batch.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        for name, _ in reversed(COLUMNS):
            batch.drop_column(name)
