"""One member's messages, as the privacy package reads and clears them: the delivery log for
the document of everything the program holds about them (privacy/export.py), and what their
erasure suppresses and empties (privacy/erasure.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from lealtad.comms.tables import messages


def member_messages(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """Every message to the member, newest first."""
    return list(
        conn.execute(
            select(messages)
            .where(messages.c.business_id == business_id, messages.c.member_id == member_id)
            .order_by(messages.c.id.desc())
        )
    )


def suppress_queued(conn: Connection, business_id: int, member_id: int, reason: str) -> None:
    """The member's messages not sent yet will not be."""
    conn.execute(
        update(messages)
        .where(
            messages.c.business_id == business_id,
            messages.c.member_id == member_id,
            messages.c.status == "queued",
        )
        .values(status="suppressed", reason=reason)
    )


def clear_contexts(conn: Connection, business_id: int, member_id: int) -> None:
    """The figures and names rendered into the member's messages go; what was sent and when
    stays in the delivery log."""
    conn.execute(
        update(messages)
        .where(messages.c.business_id == business_id, messages.c.member_id == member_id)
        .values(context={})
    )
