"""Re-encrypting every personal-data column under the current key and recomputing the blind
indexes (`lealtad keys rotate`). Each batch is its own short transaction, so the program keeps
running meanwhile and an interrupted rotation is simply run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, Table, and_, func, select, tuple_, update

from lealtad.db.engine import Database
from lealtad.db.schema import metadata
from lealtad.security.fields import _Sealed, keys_of


def encrypted_columns() -> list[tuple[Table, list[Column[Any]]]]:
    found = []
    for table in metadata.sorted_tables:
        sealed = [c for c in table.columns if isinstance(c.type, _Sealed)]
        if sealed:
            found.append((table, sealed))
    return found


def count_rows(db: Database) -> int:
    with db.read() as conn:
        return sum(
            int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table, _ in encrypted_columns()
        )


def rotate(
    db: Database, *, batch: int = 500, advance: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Rows rewritten per table. Reading opens any configured key; writing seals with the first."""
    from lealtad.members import pii

    done: dict[str, int] = {}
    for table, columns in encrypted_columns():
        # Keyset pages over the primary key (idempotency_keys has a composite one).
        pk = list(table.primary_key.columns)
        names = [c.name for c in pk]
        last: tuple[Any, ...] | None = None
        done[table.name] = 0
        while True:
            with db.transaction() as conn:
                keys = keys_of(conn.dialect)
                tenant = [] if "business_id" in names else [table.c.business_id]
                query = select(*pk, *tenant, *columns).order_by(*pk).limit(batch)
                if last is not None:
                    query = query.where(tuple_(*pk) > tuple_(*last))
                rows = conn.execute(query).all()
                for row in rows:
                    values = {c.name: getattr(row, c.name) for c in columns}
                    if table.name == "members":
                        values.update(pii.index_values(keys, row.business_id, values))
                    same = and_(*(c == getattr(row, c.name) for c in pk))
                    conn.execute(update(table).where(same).values(**values))
            if not rows:
                break
            last = tuple(getattr(rows[-1], n) for n in names)
            done[table.name] += len(rows)
            if advance is not None:
                advance(len(rows))
    return done
