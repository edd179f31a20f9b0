"""Survey answers encrypted at rest

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 21:20:00

A survey's free-text answers are whatever the member chose to write: often a name, an e-mail
or a phone number ("call me on ..."). The answers column becomes encrypted TEXT, like the
members' fields (D28, migration 0012), and the rows already there are encrypted here with the
keys of the database being migrated. The NPS score stays a plain integer: it names nobody and
the results add it up in SQL.
"""

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMN = "survey_responses.answers"
BATCH = 1000


def _keys() -> Any:
    from lealtad.config import load_settings
    from lealtad.security.fields import ATTRIBUTE, keys_for_settings

    keys = getattr(op.get_bind().dialect, ATTRIBUTE, None)
    return keys if keys is not None else keys_for_settings(load_settings())


def upgrade() -> None:
    with op.batch_alter_table("survey_responses") as batch:
        batch.alter_column(
            "answers",
            existing_type=sa.JSON(),
            type_=sa.Text(),
            existing_nullable=False,
            postgresql_using="answers::text",
        )
    bind = op.get_bind()
    keys: Any = None
    last = 0
    while True:
        rows = bind.execute(
            sa.text(
                "SELECT id, answers FROM survey_responses WHERE id > :last ORDER BY id LIMIT :n"
            ),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            break
        keys = keys or _keys()
        for row in rows:
            value = row.answers
            # The same text EncryptedJSON writes, so a rotation later reads it back alike.
            plain = json.dumps(
                json.loads(value) if isinstance(value, str) else value,
                separators=(",", ":"),
                default=str,
            )
            bind.execute(
                sa.text("UPDATE survey_responses SET answers = :value WHERE id = :id"),
                {"value": keys.encrypt(plain, COLUMN), "id": row.id},
            )
        last = rows[-1].id


def downgrade() -> None:
    raise NotImplementedError(
        "survey answers stay encrypted: restore the backup taken before `lealtad migrate`"
    )
