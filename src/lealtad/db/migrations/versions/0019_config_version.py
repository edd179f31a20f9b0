"""A business's config version, stamped anew by triggers on every change a process caches

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-20 10:00:00

`businesses.config_version` changes whenever the business row, its locations, its program
versions or its challenges change (insert, update, delete), in the same transaction as the
change, whichever code path writes it (D64, per-process caches keyed by a config version). It is
a random 63-bit stamp, not a counter: a rolled-back change or a restored backup can never bring
back a number that a process has cached with other contents.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The tables below the business whose rows the per-process caches hold.
CHILDREN = ("locations", "program_versions", "challenges")

PG_STAMP = "(floor(random() * 9000000000000000000) - 4500000000000000000)::bigint"
PG_FUNCTIONS = f"""
CREATE FUNCTION lealtad_business_stamp() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.config_version = OLD.config_version THEN
        NEW.config_version := {PG_STAMP};
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION lealtad_config_changed() RETURNS trigger AS $$
DECLARE
    owner bigint;
BEGIN
    IF TG_OP = 'DELETE' THEN
        owner := OLD.business_id;
    ELSE
        owner := NEW.business_id;
    END IF;
    UPDATE businesses SET config_version = {PG_STAMP} WHERE id = owner;
    IF TG_OP = 'UPDATE' AND OLD.business_id <> NEW.business_id THEN
        UPDATE businesses SET config_version = {PG_STAMP} WHERE id = OLD.business_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _sqlite_triggers() -> list[str]:
    # The inner UPDATE changes config_version, so the WHEN clause stops it from firing again
    # (and SQLite's recursive triggers are off anyway).
    found = [
        """CREATE TRIGGER businesses_config_inserted AFTER INSERT ON businesses
        BEGIN UPDATE businesses SET config_version = random() WHERE id = NEW.id; END""",
        """CREATE TRIGGER businesses_config_updated AFTER UPDATE ON businesses
        WHEN NEW.config_version = OLD.config_version
        BEGIN UPDATE businesses SET config_version = random() WHERE id = NEW.id; END""",
    ]
    for table in CHILDREN:
        found += [
            f"""CREATE TRIGGER {table}_config_inserted AFTER INSERT ON {table}
            BEGIN UPDATE businesses SET config_version = random() WHERE id = NEW.business_id; END""",
            f"""CREATE TRIGGER {table}_config_updated AFTER UPDATE ON {table}
            BEGIN
                UPDATE businesses SET config_version = random()
                WHERE id IN (NEW.business_id, OLD.business_id);
            END""",
            f"""CREATE TRIGGER {table}_config_deleted AFTER DELETE ON {table}
            BEGIN UPDATE businesses SET config_version = random() WHERE id = OLD.business_id; END""",
        ]
    return found


def upgrade() -> None:
    op.add_column(
        "businesses",
        sa.Column("config_version", sa.BigInteger(), nullable=False, server_default="0"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"UPDATE businesses SET config_version = {PG_STAMP}")
        op.execute(PG_FUNCTIONS)
        op.execute(
            "CREATE TRIGGER businesses_config_stamp BEFORE INSERT OR UPDATE ON businesses "
            "FOR EACH ROW EXECUTE FUNCTION lealtad_business_stamp()"
        )
        for table in CHILDREN:
            op.execute(
                f"CREATE TRIGGER {table}_config_changed AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION lealtad_config_changed()"
            )
        return
    op.execute("UPDATE businesses SET config_version = random()")
    for statement in _sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in CHILDREN:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_config_changed ON {table}")
        op.execute("DROP TRIGGER IF EXISTS businesses_config_stamp ON businesses")
        op.execute("DROP FUNCTION IF EXISTS lealtad_config_changed()")
        op.execute("DROP FUNCTION IF EXISTS lealtad_business_stamp()")
    else:
        for table in CHILDREN:
            for what in ("inserted", "updated", "deleted"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_config_{what}")
        for what in ("inserted", "updated"):
            op.execute(f"DROP TRIGGER IF EXISTS businesses_config_{what}")
    with op.batch_alter_table("businesses") as batch:
        batch.drop_column("config_version")
