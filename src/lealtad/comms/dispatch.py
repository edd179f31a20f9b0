"""Turning outbox events into work: member messages and webhook deliveries. A batch of events is
claimed, fanned out and marked done in one transaction (SKIP LOCKED on PostgreSQL), so two workers
never take the same event and a crash leaves it for the next run."""

from __future__ import annotations

from datetime import datetime

from lealtad.comms import messages, outbox_store, webhook_delivery
from lealtad.db.engine import Database


def dispatch(
    db: Database, now: datetime, *, limit: int = 500, business_id: int | None = None
) -> int:
    """Fans out up to `limit` due events (of one business, or of all when None)."""
    with db.transaction() as conn:
        rows = outbox_store.due_events(conn, now, limit, business_id)
        for row in rows:
            messages.plan(conn, row, now)
            webhook_delivery.fan_out(conn, row, now)
        if rows:
            outbox_store.mark_events_handled(conn, [r.id for r in rows], now)
    return len(rows)
