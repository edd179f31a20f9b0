"""Connectors for tills and shops: a configuration per business and vendor, and a delivery log

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07 08:00:00

A business connects Square, Shopify or any till that signs Standard Webhooks; each vendor's
signing secret is kept encrypted, its locations mapped to the business's, and every delivery
(recorded, duplicate, ignored, refused or failed) is logged with its outcome.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "connector_configs",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("vendor", sa.String(length=30), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("locations", sa.JSON(), nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("unknown_customer", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_connector_configs_business_id_businesses"),
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
            name=op.f("fk_connector_configs_location_id_locations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_configs")),
    )
    with op.batch_alter_table("connector_configs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_configs_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            "uq_connector_configs_business_vendor", ["business_id", "vendor"], unique=True
        )
    op.create_table(
        "connector_deliveries",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("vendor", sa.String(length=30), nullable=False),
        sa.Column("event", sa.String(length=60), nullable=True),
        sa.Column("external_id", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=60), nullable=True),
        sa.Column("member_id", Id, nullable=True),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_connector_deliveries_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_deliveries")),
    )
    with op.batch_alter_table("connector_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_connector_deliveries_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            "ix_connector_deliveries_business_vendor",
            ["business_id", "vendor", "received_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("connector_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_connector_deliveries_business_vendor")
        batch_op.drop_index(batch_op.f("ix_connector_deliveries_business_id"))
    op.drop_table("connector_deliveries")
    with op.batch_alter_table("connector_configs", schema=None) as batch_op:
        batch_op.drop_index("uq_connector_configs_business_vendor")
        batch_op.drop_index(batch_op.f("ix_connector_configs_business_id"))
    op.drop_table("connector_configs")
