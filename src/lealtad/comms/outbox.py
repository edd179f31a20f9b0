"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from lealtad.comms.tables import outbox
from lealtad.kit.clock import naive_utc

# Built once: every purchase and redemption emits an event (profile, P1 and P4).
_INSERT = insert(outbox)


def emit(
    conn: Connection, business_id: int, topic: str, payload: dict[str, Any], now: datetime
) -> None:
    at = naive_utc(now)
    values = {
        "business_id": business_id,
        "topic": topic,
        "payload": payload,
        "created_at": at,
        "available_at": at,
        "attempts": 0,
    }
    conn.execute(_INSERT, values)
