"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from lealtad.comms.tables import outbox
from lealtad.kit.clock import naive_utc

# Built once: every purchase and redemption emits an event (profile, P1 and P4).
_INSERT = insert(outbox)


# Set on the connections of `lealtad import purchases`: a historic import writes no events, on
# the set-wise path and on the one-by-one path alike, since migrating years of paper-card sales
# must not send every member a message or every webhook a delivery per old sale (D35).
HISTORIC = "lealtad_historic"


def emit(
    conn: Connection, business_id: int, topic: str, payload: dict[str, Any], now: datetime
) -> None:
    if conn.get_execution_options().get(HISTORIC):
        return
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
