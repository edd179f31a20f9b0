"""Turning outbox events into work: member messages and webhook deliveries. A batch of events is
claimed, fanned out and marked done in one transaction (SKIP LOCKED on PostgreSQL), so two workers
never take the same event and a crash leaves it for the next run."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from lealtad.comms import messages, webhook_delivery
from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.kit.clock import naive_utc


def dispatch(
    db: Database, now: datetime, *, limit: int = 500, business_id: int | None = None
) -> int:
    """Fans out up to `limit` due events (of one business, or of all when None)."""
    with db.transaction() as conn:
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
        rows = conn.execute(query).all()
        for row in rows:
            messages.plan(conn, row, now)
            webhook_delivery.fan_out(conn, row, now)
        if rows:
            conn.execute(
                update(outbox)
                .where(outbox.c.id.in_([r.id for r in rows]))
                .values(delivered_at=naive_utc(now), attempts=outbox.c.attempts + 1)
            )
    return len(rows)
