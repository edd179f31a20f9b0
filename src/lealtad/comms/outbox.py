"""Writing domain events to the outbox, inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    waiting = conn.info.get(_DEFERRED)
    if waiting is not None:
        waiting[len(waiting)] = values
        return
    conn.execute(_INSERT, values)


# While a batch of purchases is written (the group commit's batch), its events wait here and are
# inserted in one executemany at the batch's end, in the order they were emitted. A dict keyed by
# position, so that the writer's per-job snapshot of `conn.info` takes back a failed job's events.
_DEFERRED = "lealtad_deferred_outbox"


@contextmanager
def deferred(conn: Connection) -> Iterator[None]:
    """Events of the block inserted together when it ends without an error; nested blocks
    insert at the outermost's end."""
    if _DEFERRED in conn.info:
        yield
        return
    conn.info[_DEFERRED] = {}
    try:
        yield
    except BaseException:
        conn.info.pop(_DEFERRED, None)
        raise
    waiting: dict[int, dict[str, Any]] = conn.info.pop(_DEFERRED, {})
    if waiting:
        conn.execute(_INSERT, [waiting[i] for i in sorted(waiting)])
