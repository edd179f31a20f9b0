"""Connectors remember a vendor's own customer id once a delivery shows it beside a contact

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 09:45:00

Loyverse receipts (and Square payments of buyers saved in Square) name the buyer only by the
vendor's customer id. The link from that id to the member is kept per business and vendor.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "connector_customers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("vendor", sa.String(length=30), nullable=False),
        sa.Column("customer_ref", sa.String(length=100), nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_connector_customers_business_id_businesses"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["members.id"],
            name=op.f("fk_connector_customers_member_id_members"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_customers")),
    )
    with op.batch_alter_table("connector_customers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_customers_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            "uq_connector_customers_business_vendor_ref",
            ["business_id", "vendor", "customer_ref"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("connector_customers", schema=None) as batch_op:
        batch_op.drop_index("uq_connector_customers_business_vendor_ref")
        batch_op.drop_index(batch_op.f("ix_connector_customers_business_id"))
    op.drop_table("connector_customers")
