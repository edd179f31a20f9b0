"""All SQL of the idempotency records: a POS call's first answer, kept with the change it
describes (ledger/idempotency.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, select, update

from lealtad.db.inserts import insert_if_new
from lealtad.ledger.tables import idempotency_keys

_STORE_RESPONSE = (
    update(idempotency_keys)
    .where(
        idempotency_keys.c.business_id == bindparam("b"), idempotency_keys.c.key == bindparam("k")
    )
    .values(status_code=bindparam("status"), response=bindparam("body"))
)


def find_idempotent(conn: Connection, business_id: int, key: str) -> Any:
    return conn.execute(
        select(idempotency_keys).where(
            and_(idempotency_keys.c.business_id == business_id, idempotency_keys.c.key == key)
        )
    ).first()


def claim_idempotency_key(
    conn: Connection, business_id: int, key: str, request_hash: str, now: datetime
) -> bool:
    """True when this call is the first with `key`. On PostgreSQL a second caller waits here until
    the first commits, then sees its row: the stored answer, never a second award."""
    result = insert_if_new(
        conn,
        idempotency_keys,
        business_id=business_id,
        key=key,
        request_hash=request_hash,
        status_code=0,
        response={},
        created_at=now,
    )
    return result


def store_idempotent_response(
    conn: Connection, business_id: int, key: str, status_code: int, response: Any
) -> None:
    conn.execute(
        _STORE_RESPONSE, {"b": business_id, "k": key, "status": status_code, "body": response}
    )


def known_idempotency_keys(conn: Connection, business_id: int, keys: list[str]) -> set[str]:
    """Those of these keys already claimed in the business."""
    found: set[str] = set()
    unique = sorted(set(keys))
    column = idempotency_keys.c.key
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(column).where(
            idempotency_keys.c.business_id == business_id, column.in_(chunk)
        )
        found.update(conn.execute(query).scalars())
    return found
