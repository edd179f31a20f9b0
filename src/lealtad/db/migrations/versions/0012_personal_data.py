"""Personal data encrypted at rest, with blind indexes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23 19:50:00

Members' name, e-mail, phone and birthday become ciphertext (TEXT) with keyed blind indexes; the
JSON columns that can carry an address (stored first answers, audit details, message contexts,
events and webhook payloads) become encrypted TEXT too. Rows already there are encrypted here,
with the keys of the database being migrated (`Database(keys=...)`, which `lealtad migrate`
builds from the settings), so no plaintext is left behind for a later step to forget.
"""

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMBER_FIELDS = ("name", "email", "phone", "birthday")
# table, column, the columns that name a row
JSON_COLUMNS = (
    ("idempotency_keys", "response", ("business_id", "key")),
    ("audit_log", "details", ("id",)),
    ("messages", "context", ("id",)),
    ("outbox", "payload", ("id",)),
    ("webhook_deliveries", "payload", ("id",)),
)


def _keys() -> Any:
    from lealtad.config import load_settings
    from lealtad.security.fields import ATTRIBUTE, keys_for_settings

    keys = getattr(op.get_bind().dialect, ATTRIBUTE, None)
    return keys if keys is not None else keys_for_settings(load_settings())


def _to_text(table: str, column: str, nullable: bool, was: Any) -> None:
    with op.batch_alter_table(table) as batch:
        batch.alter_column(
            column,
            existing_type=was,
            type_=sa.Text(),
            existing_nullable=nullable,
            postgresql_using=f"{column}::text",
        )


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_index("uq_members_business_email")
        batch.drop_index("uq_members_business_phone")
        batch.add_column(sa.Column("name_index", sa.Text(), nullable=True))
        batch.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("phone_index", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("birthday_index", sa.String(length=64), nullable=True))
        for column, was in (
            ("name", sa.String(200)),
            ("email", sa.String(320)),
            ("phone", sa.String(32)),
            ("birthday", sa.Date()),
        ):
            batch.alter_column(
                column,
                existing_type=was,
                type_=sa.Text(),
                existing_nullable=True,
                postgresql_using=f"{column}::text",
            )
    for table, column, _ in JSON_COLUMNS:
        _to_text(table, column, False, sa.JSON())
    _encrypt_existing()
    with op.batch_alter_table("members") as batch:
        batch.create_index(
            "uq_members_business_email_index", ["business_id", "email_index"], unique=True
        )
        batch.create_index(
            "uq_members_business_phone_index", ["business_id", "phone_index"], unique=True
        )
        batch.create_index(
            "ix_members_business_birthday_index", ["business_id", "birthday_index"], unique=False
        )


def _encrypt_existing() -> None:
    from lealtad.members import pii

    bind = op.get_bind()
    fields = ", ".join(MEMBER_FIELDS)
    rows = bind.execute(sa.text(f"SELECT id, business_id, {fields} FROM members")).all()
    keys: Any = _keys() if rows else None
    for row in rows:
        values: dict[str, Any] = {}
        for field in MEMBER_FIELDS:
            value = getattr(row, field)
            if field == "birthday" and isinstance(value, str):
                value = date.fromisoformat(value[:10])
            values[field] = value
        indexes = pii.index_values(keys, row.business_id, values)
        sealed = {
            field: None
            if value is None
            else keys.encrypt(
                value.isoformat() if isinstance(value, date) else str(value), f"members.{field}"
            )
            for field, value in values.items()
        }
        assignments = ", ".join(f"{name} = :{name}" for name in [*sealed, *indexes])
        bind.execute(
            sa.text(f"UPDATE members SET {assignments} WHERE id = :id"),
            {**sealed, **indexes, "id": row.id},
        )
    for table, column, names in JSON_COLUMNS:
        stored = bind.execute(sa.text(f"SELECT {', '.join(names)}, {column} FROM {table}")).all()
        if stored and keys is None:
            keys = _keys()
        where = " AND ".join(f"{name} = :{name}" for name in names)
        for row in stored:
            value = row[-1]
            plain = json.dumps(json.loads(value) if isinstance(value, str) else value)
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :value WHERE {where}"),
                {
                    "value": keys.encrypt(plain, f"{table}.{column}"),
                    **dict(zip(names, row[:-1], strict=True)),
                },
            )


def downgrade() -> None:
    raise NotImplementedError(
        "personal data stays encrypted: restore the backup taken before `lealtad migrate`"
    )
