"""All SQL of the connectors: their configurations and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from lealtad.connectors.tables import connector_configs, connector_deliveries


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


def prune_deliveries(conn: Connection, business_id: int, before: datetime) -> int:
    """Deletes the business's deliveries received before `before`; how many."""
    c = connector_deliveries.c
    query = delete(connector_deliveries).where(c.business_id == business_id, c.received_at < before)
    return int(conn.execute(query).rowcount or 0)
