"""Rate limits, lockouts and card PINs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-23 19:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lealtad.db.metadata import Id

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "attempt_limits",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=True),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.Column("last_failure_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_attempt_limits_business_id_businesses"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_attempt_limits"),
        sa.UniqueConstraint(
            "business_id", "kind", "key", name="uq_attempt_limits_business_id_kind_key"
        ),
    )
    op.create_index(
        "ix_attempt_limits_business_id", "attempt_limits", ["business_id"], unique=False
    )
    op.create_table(
        "card_pins",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("pin_hash", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name="fk_card_pins_business_id_businesses"
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name="fk_card_pins_member_id_members"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_card_pins"),
        sa.UniqueConstraint("business_id", "member_id", name="uq_card_pins_business_id_member_id"),
    )
    op.create_index("ix_card_pins_business_id", "card_pins", ["business_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_card_pins_business_id", table_name="card_pins")
    op.drop_table("card_pins")
    op.drop_index("ix_attempt_limits_business_id", table_name="attempt_limits")
    op.drop_table("attempt_limits")
