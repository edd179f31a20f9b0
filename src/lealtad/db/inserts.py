"""Insert-if-absent on both databases: the dedupe every idempotent write uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert


def insert_if_new(conn: Connection, table: Table, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was new. It reads RETURNING, not the
    row count, because psycopg reports -1 for this statement. On PostgreSQL a concurrent insert
    of the same key waits for the other transaction and then sees its row."""
    dialect_insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    first_key = next(iter(table.primary_key.columns))
    statement = dialect_insert(table).values(**values).on_conflict_do_nothing()
    return conn.execute(statement.returning(first_key)).first() is not None
