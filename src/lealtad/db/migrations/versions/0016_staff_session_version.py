"""Staff sessions end at logout and with a credential change

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 21:30:00

Console cookies and staff tokens carry the person's session version and stop working once it
moves on. Cookies and tokens made before this revision carry none, so they end with it: every
staff member logs in again once after the upgrade.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("staff_users") as batch:
        batch.drop_column("session_version")
