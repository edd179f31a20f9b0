"""Program versions superseded by a version dated before them

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-21 10:00:00

A business bringing its history configures its program as in force from a past date (D65). The
versions dated after that date never earned anything (that is the condition for dating a version
in the past) and are superseded by it: kept in the change log, no longer in force.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE on both databases: a batch operation could copy the table on SQLite and
# lose its config-version triggers (migration 0019).


def upgrade() -> None:
    op.add_column("program_versions", sa.Column("superseded_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE program_versions DROP COLUMN superseded_by")
