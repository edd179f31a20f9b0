"""All SQL of the connectors: their configurations and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from lealtad.connectors.tables import connector_configs, connector_customers, connector_deliveries
from lealtad.db.inserts import insert_if_new


def config(conn: Connection, business_id: int, vendor: str) -> Any:
    c = connector_configs.c
    return conn.execute(
        select(connector_configs).where(c.business_id == business_id, c.vendor == vendor)
    ).first()


def configs(conn: Connection, business_id: int) -> list[Any]:
    c = connector_configs.c
    query = select(connector_configs).where(c.business_id == business_id).order_by(c.vendor)
    return list(conn.execute(query))


def insert_config(conn: Connection, **values: Any) -> None:
    conn.execute(insert(connector_configs).values(**values))


def update_config(conn: Connection, business_id: int, vendor: str, **values: Any) -> None:
    c = connector_configs.c
    conn.execute(
        update(connector_configs)
        .where(c.business_id == business_id, c.vendor == vendor)
        .values(**values)
    )


def log_delivery(conn: Connection, **values: Any) -> int:
    key = conn.execute(insert(connector_deliveries).values(**values)).inserted_primary_key
    return int(key[0]) if key else 0


def deliveries(conn: Connection, business_id: int, vendor: str | None, limit: int) -> list[Any]:
    c = connector_deliveries.c
    query = select(connector_deliveries).where(c.business_id == business_id)
    if vendor is not None:
        query = query.where(c.vendor == vendor)
    return list(conn.execute(query.order_by(c.received_at.desc(), c.id.desc()).limit(limit)))


def customer_member(conn: Connection, business_id: int, vendor: str, ref: str) -> int | None:
    c = connector_customers.c
    query = select(c.member_id).where(
        c.business_id == business_id, c.vendor == vendor, c.customer_ref == ref
    )
    found = conn.execute(query).scalar()
    return int(found) if found is not None else None


def link_customer(
    conn: Connection, business_id: int, vendor: str, ref: str, member_id: int, now: datetime
) -> None:
    """The vendor's customer id now names `member_id`: inserted if new (a concurrent delivery
    inserting the same link waits and then finds it), else pointed at this member."""
    key = {"business_id": business_id, "vendor": vendor, "customer_ref": ref}
    if insert_if_new(conn, connector_customers, **key, member_id=member_id, updated_at=now):
        return
    c = connector_customers.c
    conn.execute(
        update(connector_customers)
        .where(c.business_id == business_id, c.vendor == vendor, c.customer_ref == ref)
        .where(c.member_id != member_id)
        .values(member_id=member_id, updated_at=now)
    )


def forget_member(conn: Connection, business_id: int, member_id: int) -> int:
    """On erasure: the vendors' customer ids that named the member go (a pseudonymous id of a
    person is personal data, and the member can no longer earn)."""
    c = connector_customers.c
    gone = conn.execute(
        delete(connector_customers).where(c.business_id == business_id, c.member_id == member_id)
    )
    return int(gone.rowcount or 0)


def prune_deliveries(conn: Connection, business_id: int, before: datetime) -> int:
    """Deletes the business's deliveries received before `before`; how many."""
    c = connector_deliveries.c
    query = delete(connector_deliveries).where(c.business_id == business_id, c.received_at < before)
    return int(conn.execute(query).rowcount or 0)
