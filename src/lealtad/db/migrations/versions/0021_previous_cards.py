"""Previous card numbers: the card a member carried in the system a business moved from

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-21 10:00:00

`lealtad import members` keeps the old system's card number of each member, so the plastic in the
customer's wallet keeps working at the counter and through the API (`card_number` looks here when
no current card matches). One number names one member of a business.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_previous_cards",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("card_number", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_member_previous_cards_business_id_businesses"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_previous_cards_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_previous_cards")),
    )
    with op.batch_alter_table("member_previous_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_previous_cards_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_previous_cards_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "uq_member_previous_cards_business_card", ["business_id", "card_number"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("member_previous_cards", schema=None) as batch_op:
        batch_op.drop_index("uq_member_previous_cards_business_card")
        batch_op.drop_index(batch_op.f("ix_member_previous_cards_member_id"))
        batch_op.drop_index(batch_op.f("ix_member_previous_cards_business_id"))
    op.drop_table("member_previous_cards")
