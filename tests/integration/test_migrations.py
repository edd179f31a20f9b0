from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lealtad.db.engine import Database
from lealtad.db.schema import metadata


def test_the_migrations_build_exactly_the_schema_the_code_declares(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)
    assert diff == [], f"tables declared in code differ from the migrated schema: {diff}"


def test_every_table_but_businesses_carries_business_id() -> None:
    missing = [
        t.name
        for t in metadata.sorted_tables
        if t.name != "businesses" and "business_id" not in t.c
    ]
    assert missing == [], f"tables without business_id: {missing}"
