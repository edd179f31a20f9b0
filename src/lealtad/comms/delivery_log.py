"""The delivery log the console shows: how messages went, by channel and status, and the latest
ones with the member they went to. Reads only, through the messages' store."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import message_store

STATUSES = (
    "queued",
    "sent",
    "delivered",
    "read",
    "failed",
    "bounced",
    "suppressed",
    "unsubscribed",
)
# What the owner may need to act on: an address that bounces, a message the server gave up on.
PROBLEMS = ("failed", "bounced")


def status_counts(
    conn: Connection, business_id: int, since: datetime
) -> dict[tuple[str, str], int]:
    """(channel, status) -> messages created since `since`."""
    return message_store.status_counts(conn, business_id, since)


def latest(
    conn: Connection, business_id: int, limit: int, statuses: tuple[str, ...] = ()
) -> list[Any]:
    """The newest messages with their member's name and card number, of some statuses or all."""
    return message_store.latest(conn, business_id, limit, statuses)


def problems_since(conn: Connection, business_id: int, since: datetime) -> int:
    """Messages that failed or bounced and were due since `since`."""
    return message_store.count_due_since(conn, business_id, PROBLEMS, since)


def of_member(conn: Connection, business_id: int, member_id: int, limit: int) -> list[Any]:
    """One member's newest messages, for their page in the console."""
    return message_store.member_messages(conn, business_id, member_id, limit)
