"""Messages to one member that other domains queue in the delivery log inside their own
transaction: a sign-in code (members/login.py), a notice of a changed e-mail or phone
(members/contact.py). Part of comms' core, next to the outbox, so that members can write them
without importing comms' services, which read members back."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.comms.catalog import Kind
from lealtad.comms.tables import messages


def queue_email(
    conn: Connection,
    business_id: int,
    member_id: int,
    kind: Kind,
    locale: str,
    context: dict[str, Any],
    at: datetime,
) -> int | None:
    """The queued e-mail's id (None only if the driver gives no key back)."""
    result = conn.execute(
        insert(messages).values(
            business_id=business_id,
            member_id=member_id,
            channel="email",
            category=kind.category,
            template=kind.template,
            locale=locale,
            context=context,
            status="queued",
            attempts=0,
            send_after=at,
            created_at=at,
        )
    )
    key = result.inserted_primary_key
    return int(key[0]) if key else None


def message_context(conn: Connection, business_id: int, message_id: int) -> Any:
    return conn.execute(
        select(messages.c.context).where(
            messages.c.business_id == business_id, messages.c.id == message_id
        )
    ).scalar_one()


def replace_context_once_sent(
    conn: Connection, business_id: int, message_id: int, context: dict[str, Any]
) -> None:
    """A message no longer queued keeps `context` in place of what it carried."""
    conn.execute(
        update(messages)
        .where(
            messages.c.business_id == business_id,
            messages.c.id == message_id,
            messages.c.status != "queued",
        )
        .values(context=context)
    )
