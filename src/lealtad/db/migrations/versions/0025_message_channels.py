"""Message channels: SMS and WhatsApp settings per business, and what each provider took

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-28 10:00:00

`message_channels` keeps a business's provider settings (its tokens encrypted); `channel_sends`
one row per message a provider accepted, under the provider's own id, which its status callbacks
name.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "message_channels",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("base_url", sa.String(length=300), nullable=False),
        sa.Column("account", sa.String(length=100), nullable=False),
        sa.Column("sender", sa.String(length=100), nullable=False),
        sa.Column("api_version", sa.String(length=16), nullable=False),
        sa.Column("country_code", sa.String(length=4), nullable=False),
        sa.Column("secrets", sa.Text(), nullable=False),
        sa.Column("templates", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"],
            ["businesses.id"],
            name=op.f("fk_message_channels_business_id_businesses"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_channels")),
    )
    with op.batch_alter_table("message_channels", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_message_channels_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            "uq_message_channels_business_channel", ["business_id", "channel"], unique=True
        )
    op.create_table(
        "channel_sends",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("business_id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["business_id"], ["businesses.id"], name=op.f("fk_channel_sends_business_id_businesses")
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_channel_sends_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_sends")),
    )
    with op.batch_alter_table("channel_sends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_channel_sends_business_id"), ["business_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_channel_sends_message_id"), ["message_id"], unique=False
        )
        batch_op.create_index(
            "uq_channel_sends_provider", ["business_id", "channel", "provider_id"], unique=True
        )


def downgrade() -> None:
    with op.batch_alter_table("channel_sends", schema=None) as batch_op:
        batch_op.drop_index("uq_channel_sends_provider")
        batch_op.drop_index(batch_op.f("ix_channel_sends_message_id"))
        batch_op.drop_index(batch_op.f("ix_channel_sends_business_id"))
    op.drop_table("channel_sends")
    with op.batch_alter_table("message_channels", schema=None) as batch_op:
        batch_op.drop_index("uq_message_channels_business_channel")
        batch_op.drop_index(batch_op.f("ix_message_channels_business_id"))
    op.drop_table("message_channels")
