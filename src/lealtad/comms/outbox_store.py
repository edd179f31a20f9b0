"""SQL of the outbox's consumer: the events due for fan-out, and marking them handled. The
writer that adds events is lealtad.comms.outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update

from lealtad.comms.tables import outbox
from lealtad.kit.clock import naive_utc


def due_events(
    conn: Connection, now: datetime, limit: int, business_id: int | None = None
) -> list[Any]:
    """Up to `limit` events not yet handled and available at `now`, oldest first (of one
    business, or of all when None). Locked on PostgreSQL, skipping events another worker holds."""
    query = (
        select(outbox)
        .where(outbox.c.delivered_at.is_(None), outbox.c.available_at <= naive_utc(now))
        .order_by(outbox.c.id)
        .limit(limit)
    )
    if business_id is not None:
        query = query.where(outbox.c.business_id == business_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list(conn.execute(query).all())


def mark_events_handled(conn: Connection, event_ids: list[int], now: datetime) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(event_ids))
        .values(delivered_at=naive_utc(now), attempts=outbox.c.attempts + 1)
    )
