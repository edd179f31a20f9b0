"""All SQL of ticket claims, keys and settings. Every query names the business."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from lealtad.db.inserts import insert_new
from lealtad.tickets.tables import ticket_claims, ticket_keys, ticket_settings

k = ticket_keys.c
c = ticket_claims.c
s = ticket_settings.c


def insert_key(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(ticket_keys).values(**values).returning(k.id)).scalar_one())


def key(conn: Connection, business_id: int, key_id: str) -> Any:
    return conn.execute(
        select(ticket_keys).where(k.business_id == business_id, k.key_id == key_id)
    ).first()


def keys(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(select(ticket_keys).where(k.business_id == business_id).order_by(k.id))
    )


def has_live_key(conn: Connection, business_id: int) -> bool:
    found = conn.execute(
        select(k.id).where(k.business_id == business_id, k.retired_at.is_(None)).limit(1)
    ).first()
    return found is not None


def retire_key(conn: Connection, business_id: int, key_id: str, now: datetime) -> None:
    conn.execute(
        update(ticket_keys)
        .where(k.business_id == business_id, k.key_id == key_id, k.retired_at.is_(None))
        .values(retired_at=now)
    )


def settings(conn: Connection, business_id: int) -> Any:
    return conn.execute(select(ticket_settings).where(s.business_id == business_id)).first()


def save_settings(conn: Connection, business_id: int, **values: Any) -> None:
    done = conn.execute(
        update(ticket_settings).where(s.business_id == business_id).values(**values)
    )
    if done.rowcount == 0:
        conn.execute(insert(ticket_settings).values(business_id=business_id, **values))


def add_claim(conn: Connection, **values: Any) -> int | None:
    """The new claim's id, or None when the ticket was claimed before: the unique index
    decides, so two scans racing each other leave one claim."""
    new = insert_new(conn, ticket_claims, **values)
    return None if new is None else int(new)


def claim(conn: Connection, business_id: int, claim_id: int) -> Any:
    return conn.execute(
        select(ticket_claims).where(c.business_id == business_id, c.id == claim_id)
    ).first()


def lock_claim(conn: Connection, business_id: int, claim_id: int) -> Any:
    query = select(ticket_claims).where(c.business_id == business_id, c.id == claim_id)
    return conn.execute(query.with_for_update()).first()


def claims(conn: Connection, business_id: int, status: str | None, limit: int) -> list[Any]:
    query = select(ticket_claims).where(c.business_id == business_id)
    if status is not None:
        query = query.where(c.status == status)
    return list(conn.execute(query.order_by(c.id.desc()).limit(limit)))


def claims_since(
    conn: Connection,
    business_id: int,
    since: datetime,
    *,
    member_id: int | None = None,
    device_id: str | None = None,
) -> int:
    """Claims that count against a daily limit: accepted or waiting, not those staff refused."""
    query = select(func.count()).where(
        c.business_id == business_id, c.created_at >= since, c.status != "refused"
    )
    if member_id is not None:
        query = query.where(c.member_id == member_id)
    if device_id is not None:
        query = query.where(c.device_id == device_id)
    return int(conn.execute(query).scalar_one())


def decide(conn: Connection, business_id: int, claim_id: int, **values: Any) -> None:
    conn.execute(
        update(ticket_claims).where(c.business_id == business_id, c.id == claim_id).values(**values)
    )
