"""Tier opening status: the tier a member started from, kept apart from the derived one

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 10:00:00

A member's tier is re-derived in date order from where it started whenever history arrives out
of order (D75): the members import's tier (with its since and until), or what enrolment placed
the member in. Rows written before this revision keep their status as their opening, so a
replay never takes away a tier it cannot account for.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("tier_status", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opening_tier_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("opening_since", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("opening_held_until", sa.DateTime(), nullable=True))
    op.execute(
        "UPDATE tier_status SET opening_tier_id = tier_id, opening_since = since, "
        "opening_held_until = held_until"
    )


def downgrade() -> None:
    with op.batch_alter_table("tier_status", schema=None) as batch_op:
        batch_op.drop_column("opening_held_until")
        batch_op.drop_column("opening_since")
        batch_op.drop_column("opening_tier_id")
