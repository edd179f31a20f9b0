"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert

from lealtad.comms.tables import outbox
from lealtad.kit import held_writes
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
    waiting = held_writes.waiting(conn, _DEFERRED)
    if waiting is not None:
        waiting[len(waiting)] = values
        return
    conn.execute(_INSERT, values)


# While a batch of purchases is written (the group commit's batch), its events wait here and are
# inserted in one executemany at the batch's end, in the order they were emitted
# (kit/held_writes.py): keyed by position.
_DEFERRED = "lealtad_deferred_outbox"


def deferred(conn: Connection) -> AbstractContextManager[None]:
    """Events of the block inserted together when it ends without an error."""
    return held_writes.held(
        conn, _DEFERRED, lambda held: conn.execute(_INSERT, [held[i] for i in sorted(held)])
    )
