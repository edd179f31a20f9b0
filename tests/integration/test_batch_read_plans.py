"""A batch's reads of many members' rows find them by the members' (or accounts') own index, not
by reading every row of the business: SQLite's plan for each, asked with EXPLAIN QUERY PLAN.
(PostgreSQL's plan depends on its statistics; db/plans.py says why the same query serves it.)"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import Connection, event

from lealtad.analytics import figures_store
from lealtad.db.engine import Database
from lealtad.ledger import batch, store
from lealtad.members import store as member_store
from lealtad.purchases import store as purchase_store


@contextmanager
def _plans(db: Database) -> Iterator[list[str]]:
    """The plan of every SELECT run inside the block, one string each."""
    plans: list[str] = []

    def explain(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            rows = conn.connection.dbapi_connection.execute(
                "EXPLAIN QUERY PLAN " + statement, params
            ).fetchall()
            plans.append(" | ".join(str(row[-1]) for row in rows))

    event.listen(db.engine, "before_cursor_execute", explain)
    try:
        yield plans
    finally:
        event.remove(db.engine, "before_cursor_execute", explain)


READS: dict[str, Callable[[Connection, int], Any]] = {
    "balances": lambda conn, b: store.balances_of_members(conn, b, [1, 2, 3]),
    "segments": lambda conn, b: figures_store.segments_of(conn, b, [1, 2, 3]),
    "open lots": lambda conn, b: batch._open_lots(conn, b, [1, 2, 3]),
    "members": lambda conn, b: member_store.members_by_ids(conn, b, [1, 2, 3]),
    "visits": lambda conn, b: purchase_store.visits_of(conn, b, [1, 2, 3]),
    "due lots": lambda conn, b: store.members_with_due_lots(
        conn, b, [1, 2, 3], datetime(2026, 1, 1)
    ),
}


@pytest.mark.parametrize("read", READS)
def test_a_batch_read_of_listed_members_uses_their_index_not_the_business_one(
    sqlite_db: Database, read: str
) -> None:
    with _plans(sqlite_db) as plans, sqlite_db.read() as conn:
        READS[read](conn, 1)
    assert plans, "the read ran no SELECT"
    for plan in plans:
        assert "(business_id=?)" not in plan, f"{read} reads the whole business: {plan}"
        assert "SCAN" not in plan.replace("SCAN CONSTANT", ""), f"{read} scans a table: {plan}"
