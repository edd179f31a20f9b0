"""Previous figures: a member's lifetime totals in the system a business moved from

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-30 10:00:00

`lealtad import balances` takes lifetime_spend, lifetime_visits, lifetime_points and
lifetime_as_of; they are kept apart from Lealtad's own dated figures, one row per member per
import run (undone with the run), and only shown (D68).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "member_previous_figures",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("import_run_id", Id, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("visits", sa.BigInteger(), nullable=True),
        sa.Column("spend", sa.BigInteger(), nullable=True),
        sa.Column("points", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_member_previous_figures_business_id_businesses"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_member_previous_figures_member_id_members"),
        ),
        sa.ForeignKeyConstraint(
            ["import_run_id"],
            ["import_runs.id"],
            name=op.f("fk_member_previous_figures_import_run_id_import_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_member_previous_figures")),
    )
    with op.batch_alter_table("member_previous_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_member_previous_figures_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_member_previous_figures_member_id"), ["member_id"], unique=False
        )
        batch_op.create_index(
            "uq_member_previous_figures_run_member",
            ["business_id", "import_run_id", "member_id"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("member_previous_figures", schema=None) as batch_op:
        batch_op.drop_index("uq_member_previous_figures_run_member")
        batch_op.drop_index(batch_op.f("ix_member_previous_figures_member_id"))
        batch_op.drop_index(batch_op.f("ix_member_previous_figures_business_id"))
    op.drop_table("member_previous_figures")
