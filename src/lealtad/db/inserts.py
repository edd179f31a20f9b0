"""Insert-if-absent on both databases: the dedupe every idempotent write uses."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

# One statement per (database kind, table), built once: an idempotency key is claimed on every
# purchase, and building the statement anew cost more than running it (profile, P1).
_STATEMENTS: dict[tuple[str, str], Any] = {}


def insert_if_new(conn: Connection, table: Table, **values: Any) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING; True when the row was new. It reads RETURNING, not the
    row count, because psycopg reports -1 for this statement. On PostgreSQL a concurrent insert
    of the same key waits for the other transaction and then sees its row."""
    return insert_new(conn, table, **values) is not None


def insert_new(conn: Connection, table: Table, **values: Any) -> Any:
    """As `insert_if_new`, but the new row's primary key, or None when the row existed."""
    slot = (conn.dialect.name, table.name)
    statement = _STATEMENTS.get(slot)
    if statement is None:
        dialect_insert: Any = pg_insert if slot[0] == "postgresql" else sqlite_insert
        first_key = next(iter(table.primary_key.columns))
        statement = dialect_insert(table).on_conflict_do_nothing().returning(first_key)
        _STATEMENTS[slot] = statement
    return conn.execute(statement, values).scalar()
