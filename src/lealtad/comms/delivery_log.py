"""The delivery log the console shows: how messages went, by channel and status, and the latest
ones with the member they went to. Reads only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.comms.tables import messages
from lealtad.kit.clock import naive_utc
from lealtad.members.tables import members

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
    rows = conn.execute(
        select(messages.c.channel, messages.c.status, func.count())
        .where(messages.c.business_id == business_id, messages.c.created_at >= naive_utc(since))
        .group_by(messages.c.channel, messages.c.status)
    )
    return {(str(channel), str(status)): int(n) for channel, status, n in rows}


def latest(
    conn: Connection, business_id: int, limit: int, statuses: tuple[str, ...] = ()
) -> list[Any]:
    """The newest messages with their member's name and card number, of some statuses or all."""
    query = (
        select(messages, members.c.name, members.c.card_number)
        .join(members, members.c.id == messages.c.member_id)
        .where(messages.c.business_id == business_id)
    )
    if statuses:
        query = query.where(messages.c.status.in_(statuses))
    return list(conn.execute(query.order_by(messages.c.id.desc()).limit(limit)))


def problems_since(conn: Connection, business_id: int, since: datetime) -> int:
    """Messages that failed or bounced and were due since `since` (the index on status and
    due time finds them without reading the rest of the log)."""
    return int(
        conn.execute(
            select(func.count()).where(
                messages.c.status.in_(PROBLEMS),
                messages.c.send_after >= naive_utc(since),
                messages.c.business_id == business_id,
            )
        ).scalar_one()
    )


def of_member(conn: Connection, business_id: int, member_id: int, limit: int) -> list[Any]:
    """One member's newest messages, for their page in the console."""
    return list(
        conn.execute(
            select(messages)
            .where(messages.c.business_id == business_id, messages.c.member_id == member_id)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
    )
