"""Earning by scanning the ticket: receipt-signing keys, ticket settings and claims

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-22 10:00:00

A location's keys sign the receipt codes its till prints (the secret encrypted at rest); a
business's ticket settings hold its tax id for VERI*FACTU invoices, the age limit, the daily
limits per member and per device and the approval threshold; a claim is unique per ticket.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "ticket_keys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("location_id", Id, nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("retired_at", sa.DateTime(), nullable=True),
        _fk("ticket_keys", "business_id", "businesses"),
        _fk("ticket_keys", "location_id", "locations"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_keys")),
    )
    with op.batch_alter_table("ticket_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_keys_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index("uq_ticket_keys_business_key", ["business_id", "key_id"], unique=True)
    op.create_table(
        "ticket_settings",
        sa.Column("business_id", Id, nullable=False),
        sa.Column("tax_id", sa.String(length=20), nullable=True),
        sa.Column("max_age_days", sa.Integer(), nullable=False),
        sa.Column("member_daily_claims", sa.Integer(), nullable=False),
        sa.Column("device_daily_claims", sa.Integer(), nullable=False),
        sa.Column("approval_above", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        _fk("ticket_settings", "business_id", "businesses"),
        sa.PrimaryKeyConstraint("business_id", name=op.f("pk_ticket_settings")),
    )
    op.create_table(
        "ticket_claims",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("ticket_ref", sa.String(length=200), nullable=False),
        sa.Column("receipt_id", sa.String(length=100), nullable=False),
        sa.Column("location_id", Id, nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("issued_at", sa.DateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=True),
        sa.Column("purchase_id", Id, nullable=True),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        _fk("ticket_claims", "business_id", "businesses"),
        _fk("ticket_claims", "member_id", "members"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_claims")),
    )
    with op.batch_alter_table("ticket_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ticket_claims_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_ticket_claims_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            "uq_ticket_claims_business_ref", ["business_id", "ticket_ref"], unique=True
        )
        batch_op.create_index(
            "ix_ticket_claims_business_status", ["business_id", "status"], unique=False
        )
        batch_op.create_index(
            "ix_ticket_claims_business_device", ["business_id", "device_id"], unique=False
        )


def downgrade() -> None:
    op.drop_table("ticket_claims")
    op.drop_table("ticket_settings")
    op.drop_table("ticket_keys")
