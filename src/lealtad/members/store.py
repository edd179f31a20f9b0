"""All SQL of members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from lealtad.members import pii
from lealtad.members.tables import members
from lealtad.security.fields import keys_of

# Encrypted columns are looked up through their blind index.
_INDEXES = {"email": pii.email_index, "phone": pii.phone_index}


def insert_member(conn: Connection, **values: Any) -> int:
    values = pii.with_indexes(conn, values["business_id"], values)
    return int(conn.execute(insert(members).values(**values).returning(members.c.id)).scalar_one())


# Built once: both run on every purchase (see ledger.store).
_MEMBER = select(members).where(
    members.c.business_id == bindparam("b"), members.c.id == bindparam("m")
)
# The status comes with the lock: the same statement, and it is the status as of the lock.
_LOCK = _MEMBER.with_only_columns(members.c.status).with_for_update()


def member(conn: Connection, business_id: int, member_id: int) -> Any:
    return conn.execute(_MEMBER, {"b": business_id, "m": member_id}).first()


def lock_member(conn: Connection, business_id: int, member_id: int) -> str | None:
    """Holds the member's row until commit and returns their status read under the lock: an
    erasure committed after an earlier read of the row shows here. None when there is no such
    member, and on SQLite, where every write transaction is BEGIN IMMEDIATE (db.engine): it
    already excludes every other writer, so what the transaction read before is still true,
    and the lock would be one more statement for nothing."""
    if conn.dialect.name == "sqlite":
        return None
    status = conn.execute(_LOCK, {"b": business_id, "m": member_id}).scalar()
    return None if status is None else str(status)


def member_by(conn: Connection, business_id: int, column: str, value: str) -> Any:
    if column in _INDEXES:
        index = _INDEXES[column](keys_of(conn.dialect), business_id, value)
        if index is None:
            return None
        column, value = f"{column}_index", index
    return conn.execute(
        select(members).where(members.c.business_id == business_id, members.c[column] == value)
    ).first()


def card_number_taken(conn: Connection, business_id: int, card_number: str) -> bool:
    return member_by(conn, business_id, "card_number", card_number) is not None


def update_member(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    conn.execute(
        update(members)
        .where(members.c.business_id == business_id, members.c.id == member_id)
        .values(**pii.with_indexes(conn, business_id, values))
    )


def search(conn: Connection, business_id: int, *, limit: int, after: int | None) -> list[Any]:
    query = select(members).where(members.c.business_id == business_id)
    if after is not None:
        query = query.where(members.c.id > after)
    return list(conn.execute(query.order_by(members.c.id).limit(limit)))
