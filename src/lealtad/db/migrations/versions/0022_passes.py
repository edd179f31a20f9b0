"""Wallet passes: the business's Apple and Google credentials, a pass per member, the devices

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-22 10:00:00

The Apple pass certificate's private key and the Google service account are sealed with the field
keys, like personal data; the certificates themselves are public. `wallet_passes` keeps each
member's serial number and the fingerprint of what the pass last showed; `pass_registrations`
the devices (and their push tokens) that hold it.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _business(table: str) -> list[Any]:
    return [
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f(f"fk_{table}_business_id_businesses")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}")),
    ]


def upgrade() -> None:
    op.create_table(
        "pass_credentials",
        *_business("pass_credentials"),
        sa.Column("apple_team_id", sa.String(length=20), nullable=True),
        sa.Column("apple_pass_type_id", sa.String(length=200), nullable=True),
        sa.Column("apple_certificate", sa.Text(), nullable=True),
        sa.Column("apple_private_key", sa.Text(), nullable=True),
        sa.Column("apple_wwdr", sa.Text(), nullable=True),
        sa.Column("google_issuer_id", sa.String(length=40), nullable=True),
        sa.Column("google_service_account", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    with op.batch_alter_table("pass_credentials", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_credentials_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index("uq_pass_credentials_business", ["business_id"], unique=True)

    op.create_table(
        "wallet_passes",
        *_business("wallet_passes"),
        sa.Column("member_id", Id, nullable=False),
        sa.Column("serial_number", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("google_synced_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_wallet_passes_member_id_members")
        ),
    )
    with op.batch_alter_table("wallet_passes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_passes_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_wallet_passes_member_id"), ["member_id"], unique=False)
        batch_op.create_index("uq_wallet_passes_serial", ["serial_number"], unique=True)
        batch_op.create_index("uq_wallet_passes_member", ["business_id", "member_id"], unique=True)

    op.create_table(
        "pass_registrations",
        *_business("pass_registrations"),
        sa.Column("pass_id", Id, nullable=False),
        sa.Column("device_library_id", sa.String(length=100), nullable=False),
        sa.Column("push_token", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pass_id"],
            ["wallet_passes.id"],
            name=op.f("fk_pass_registrations_pass_id_wallet_passes"),
        ),
    )
    with op.batch_alter_table("pass_registrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pass_registrations_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_pass_registrations_pass_id"), ["pass_id"], unique=False
        )
        batch_op.create_index(
            "uq_pass_registrations_device", ["pass_id", "device_library_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("pass_registrations", schema=None) as batch_op:
        batch_op.drop_index("uq_pass_registrations_device")
        batch_op.drop_index(batch_op.f("ix_pass_registrations_pass_id"))
        batch_op.drop_index(batch_op.f("ix_pass_registrations_business_id"))
    op.drop_table("pass_registrations")
    with op.batch_alter_table("wallet_passes", schema=None) as batch_op:
        batch_op.drop_index("uq_wallet_passes_member")
        batch_op.drop_index("uq_wallet_passes_serial")
        batch_op.drop_index(batch_op.f("ix_wallet_passes_member_id"))
        batch_op.drop_index(batch_op.f("ix_wallet_passes_business_id"))
    op.drop_table("wallet_passes")
    with op.batch_alter_table("pass_credentials", schema=None) as batch_op:
        batch_op.drop_index("uq_pass_credentials_business")
        batch_op.drop_index(batch_op.f("ix_pass_credentials_business_id"))
    op.drop_table("pass_credentials")
