"""SQL of webhooks: the endpoints a business configures and their deliveries, from the fan-out
of an outbox event to the record of each attempt."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.comms.tables import webhook_deliveries, webhook_endpoints
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc

# Endpoints


def add_endpoint(
    conn: Connection,
    business_id: int,
    url: str,
    secret: str,
    topics: list[str],
    active: bool,
    now: datetime,
) -> int:
    return int(
        conn.execute(
            insert(webhook_endpoints)
            .values(
                business_id=business_id,
                url=url,
                secret=secret,
                topics=topics,
                active=active,
                created_at=naive_utc(now),
            )
            .returning(webhook_endpoints.c.id)
        ).scalar_one()
    )


def endpoints(conn: Connection, business_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(webhook_endpoints)
            .where(webhook_endpoints.c.business_id == business_id)
            .order_by(webhook_endpoints.c.id)
        )
    )


def endpoint(conn: Connection, business_id: int, endpoint_id: int) -> Any:
    return conn.execute(
        select(webhook_endpoints).where(
            webhook_endpoints.c.business_id == business_id, webhook_endpoints.c.id == endpoint_id
        )
    ).first()


def change_endpoint(
    conn: Connection, business_id: int, endpoint_id: int, changes: dict[str, Any]
) -> None:
    conn.execute(
        update(webhook_endpoints)
        .where(
            webhook_endpoints.c.business_id == business_id,
            webhook_endpoints.c.id == endpoint_id,
        )
        .values(**changes)
    )


def active_endpoints(conn: Connection, business_id: int) -> list[Any]:
    """(id, topics) of the business's active endpoints."""
    e = webhook_endpoints.c
    return list(conn.execute(select(e.id, e.topics).where(e.business_id == business_id, e.active)))


def active_endpoint(conn: Connection, business_id: int, endpoint_id: Any) -> list[Any]:
    """(id, topics) of this endpoint if it is active: the one a test event goes to."""
    e = webhook_endpoints.c
    return list(
        conn.execute(
            select(e.id, e.topics).where(
                e.business_id == business_id, e.active, e.id == endpoint_id
            )
        )
    )


# Deliveries


def queue_delivery(conn: Connection, **values: Any) -> bool:
    """A pending delivery of an event to an endpoint; False when it was already queued."""
    return insert_if_new(conn, webhook_deliveries, **values)


def endpoint_deliveries(
    conn: Connection,
    business_id: int,
    endpoint_id: int,
    limit: int,
    before: int | None = None,
    status: str | None = None,
) -> list[Any]:
    """The endpoint's deliveries newest first, those below id `before` when given."""
    d = webhook_deliveries.c
    query = select(webhook_deliveries).where(
        d.business_id == business_id, d.endpoint_id == endpoint_id
    )
    if before is not None:
        query = query.where(d.id < before)
    if status is not None:
        query = query.where(d.status == status)
    return list(conn.execute(query.order_by(d.id.desc()).limit(limit)))


def due_deliveries(conn: Connection, at: datetime, limit: int) -> list[Any]:
    """Up to `limit` pending deliveries due at `at` to active endpoints, with the endpoint's URL
    and secret, soonest first. PostgreSQL workers skip the rows another is claiming."""
    d, e = webhook_deliveries.c, webhook_endpoints.c
    query = (
        select(d.id, d.endpoint_id, d.message_id, d.payload, d.attempts, e.url, e.secret)
        .join(webhook_endpoints, e.id == d.endpoint_id)
        .where(d.status == "pending", d.next_attempt_at <= naive_utc(at), e.active)
        .order_by(d.next_attempt_at, d.id)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=webhook_deliveries)
    return list(conn.execute(query))


def lease_deliveries(conn: Connection, delivery_ids: list[int], until: datetime) -> None:
    """Claimed deliveries moved out of the others' reach until `until`."""
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(delivery_ids))
        .values(next_attempt_at=naive_utc(until))
    )


def record_attempt(conn: Connection, delivery_id: int, status: str, values: dict[str, Any]) -> None:
    """The outcome of an attempt; only a delivery still pending changes."""
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id == delivery_id, webhook_deliveries.c.status == "pending")
        .values(status=status, **values)
    )
