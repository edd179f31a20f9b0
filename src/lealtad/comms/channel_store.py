"""SQL of the phone channels: a business's provider settings, what each provider took, status
reports, and a member's consent withdrawn by a reply."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.comms import message_store
from lealtad.comms.channel_tables import channel_sends, message_channels
from lealtad.comms.tables import messages
from lealtad.kit.clock import naive_utc
from lealtad.members import store as member_store
from lealtad.members.model import ACTIVE

PHONE_CHANNELS = ("sms", "whatsapp")
# How far a status may move: a late "delivered" never hides a "read", a "failed" stays.
RANK = {"sent": 0, "delivered": 1, "read": 2, "failed": 3}


def config(conn: Connection, business_id: int, channel: str) -> Any:
    return conn.execute(
        select(message_channels).where(
            message_channels.c.business_id == business_id, message_channels.c.channel == channel
        )
    ).first()


def configs(conn: Connection, business_id: int) -> dict[str, Any]:
    rows = conn.execute(
        select(message_channels).where(message_channels.c.business_id == business_id)
    )
    return {row.channel: row for row in rows}


def enabled(conn: Connection, business_id: int) -> list[str]:
    """The phone channels the business has switched on, in a fixed order."""
    found = set(
        conn.execute(
            select(message_channels.c.channel).where(
                message_channels.c.business_id == business_id,
                message_channels.c.enabled.is_(True),
            )
        ).scalars()
    )
    return [c for c in PHONE_CHANNELS if c in found]


def save(conn: Connection, business_id: int, channel: str, values: dict[str, Any]) -> None:
    if config(conn, business_id, channel) is None:
        conn.execute(
            insert(message_channels).values(business_id=business_id, channel=channel, **values)
        )
    else:
        conn.execute(
            update(message_channels)
            .where(
                message_channels.c.business_id == business_id,
                message_channels.c.channel == channel,
            )
            .values(**values)
        )


def record_send(conn: Connection, row: Any, provider_id: str, now: datetime) -> None:
    at = naive_utc(now)
    conn.execute(
        insert(channel_sends).values(
            business_id=row.business_id,
            message_id=row.id,
            channel=row.channel,
            provider_id=provider_id[:128],
            status="sent",
            created_at=at,
            updated_at=at,
        )
    )


def report(
    conn: Connection,
    business_id: int,
    channel: str,
    provider_id: str,
    status: str,
    error: str | None,
    now: datetime,
) -> bool:
    """Records what the provider says of a message it took; the message in the delivery log
    follows. False when no message of this business has that id (a report for another one)."""
    found = conn.execute(
        select(channel_sends).where(
            channel_sends.c.channel == channel,
            channel_sends.c.provider_id == provider_id[:128],
            channel_sends.c.business_id == business_id,
        )
    ).first()
    if found is None:
        return False
    if RANK[status] < RANK.get(found.status, 0):
        return True
    conn.execute(
        update(channel_sends)
        .where(channel_sends.c.id == found.id)
        .values(status=status, error=error[:200] if error else None, updated_at=naive_utc(now))
    )
    values: dict[str, Any] = {"status": status}
    if error:
        values["reason"] = error[:200]
    conn.execute(
        update(messages)
        .where(messages.c.business_id == business_id, messages.c.id == found.message_id)
        .values(**values)
    )
    return True


def member_by_number(conn: Connection, business_id: int, forms: list[str]) -> Any:
    """The active member whose stored phone is one of these forms of a number."""
    for form in forms:
        member = member_store.member_by(conn, business_id, "phone", form)
        if member is not None and member.status == ACTIVE:
            return member
    return None


def withdraw(
    conn: Connection, business_id: int, member: Any, channel: str, note: str, now: datetime
) -> bool:
    """The member's consent for the channel withdrawn by their reply, with its date and source;
    False when it was already withdrawn (a second "STOP" records nothing new)."""
    consent = dict(member.consent or {})
    if (
        consent.get(channel, {}).get("granted") is False
        and consent[channel].get("source") == "reply"
    ):
        return False
    consent[channel] = {"granted": False, "at": now.isoformat(), "source": "reply"}
    member_store.update_member(conn, business_id, member.id, consent=consent)
    message_store.record_unsubscribe(conn, business_id, member.id, channel, None, now, note[:200])
    return True


def queue(
    conn: Connection, business_id: int, member: Any, channel: str, template: str, now: datetime
) -> None:
    """A transactional message of no event (the confirmation of an opt-out), due now."""
    message = message_store.queued(
        business_id, member.id, channel, "transactional", template, member.locale, {}, now
    )
    message_store.queue_message(conn, message, None)
