"""SQL of the member messages' delivery log and of the unsubscribes it leads to: queueing a
message, claiming the due ones for the sender, a message by its id, what was delivered lately
(for the caps), bounces, and the log the console shows."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from lealtad.comms.tables import messages, unsubscribes
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc
from lealtad.members import store as member_store


def queue_message(conn: Connection, message: dict[str, Any], outbox_id: int | None) -> bool:
    """`message` (a `queued` row) in the log; False when it already was (the same event, member
    and channel)."""
    return insert_if_new(conn, messages, outbox_id=outbox_id, **message)


def queued(
    business_id: int,
    member_id: int,
    channel: str,
    category: str,
    template: str,
    locale: str,
    context: dict[str, Any],
    now: datetime,
) -> dict[str, Any]:
    """The row of a message queued and due now, but for what led to it (an event, a campaign)."""
    return {
        "business_id": business_id,
        "member_id": member_id,
        "channel": channel,
        "category": category,
        "template": template,
        "locale": locale,
        "context": context,
        "status": "queued",
        "attempts": 0,
        "send_after": naive_utc(now),
        "created_at": naive_utc(now),
    }


def claim_next_due(
    conn: Connection, now: datetime, channels: Sequence[str], business_id: int | None
) -> Any:
    """The oldest queued message due at `now` on one of `channels` (of one business, or of all
    when None), or None. Locked on PostgreSQL, skipping one another worker holds."""
    query = (
        select(messages)
        .where(
            messages.c.status == "queued",
            messages.c.send_after <= naive_utc(now),
            messages.c.channel.in_(channels),
        )
        .order_by(messages.c.id)
        .limit(1)
    )
    if business_id is not None:
        query = query.where(messages.c.business_id == business_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).first()


def claim_queued(
    conn: Connection, business_id: int, message_id: int, channels: Sequence[str]
) -> Any:
    """The message when it is still queued and on one of `channels`, or None; locked on
    PostgreSQL, skipped when another worker holds it."""
    query = select(messages).where(
        messages.c.business_id == business_id,
        messages.c.id == message_id,
        messages.c.status == "queued",
        messages.c.channel.in_(channels),
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return conn.execute(query).first()


def set_message(conn: Connection, message_id: int, **values: Any) -> None:
    conn.execute(update(messages).where(messages.c.id == message_id).values(**values))


def message(conn: Connection, business_id: int, message_id: int) -> Any:
    return conn.execute(
        select(messages).where(messages.c.business_id == business_id, messages.c.id == message_id)
    ).first()


def latest_email(conn: Connection, business_id: int, member_id: int) -> int | None:
    """The id of the last e-mail that reached the member's mail system (sent, or bounced)."""
    found = conn.execute(
        select(messages.c.id)
        .where(
            messages.c.business_id == business_id,
            messages.c.member_id == member_id,
            messages.c.channel == "email",
            messages.c.status.in_(("sent", "bounced")),
        )
        .order_by(messages.c.sent_at.desc(), messages.c.id.desc())
        .limit(1)
    ).scalar()
    return None if found is None else int(found)


def mark_message_bounced(conn: Connection, business_id: int, message_id: int, reason: str) -> None:
    conn.execute(
        update(messages)
        .where(messages.c.business_id == business_id, messages.c.id == message_id)
        .values(status="bounced", reason=reason)
    )


def delivered_since(
    conn: Connection,
    business_id: int,
    member_id: int,
    channel: str,
    statuses: Sequence[str],
    since: datetime,
    templates: list[str] | None = None,
    category: str | None = None,
) -> int:
    """How many of the member's messages on the channel reached one of `statuses` since `since`,
    of these templates or this category when given."""
    query = select(func.count()).where(
        messages.c.business_id == business_id,
        messages.c.member_id == member_id,
        messages.c.channel == channel,
        messages.c.status.in_(statuses),
        messages.c.sent_at >= naive_utc(since),
    )
    if templates:
        query = query.where(messages.c.template.in_(templates))
    if category:
        query = query.where(messages.c.category == category)
    return int(conn.execute(query).scalar_one())


def record_unsubscribe(
    conn: Connection,
    business_id: int,
    member_id: int,
    channel: str,
    message_id: int | None,
    now: datetime,
    note: str,
) -> None:
    conn.execute(
        insert(unsubscribes).values(
            business_id=business_id,
            member_id=member_id,
            channel=channel,
            message_id=message_id,
            at=naive_utc(now),
            note=note,
        )
    )


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
    conn: Connection, business_id: int, limit: int, statuses: Sequence[str] = ()
) -> list[Any]:
    """The newest messages with their member's name and card number, of some statuses or all."""
    query = member_store.with_name_and_card(select(messages), messages.c.member_id).where(
        messages.c.business_id == business_id
    )
    if statuses:
        query = query.where(messages.c.status.in_(statuses))
    return list(conn.execute(query.order_by(messages.c.id.desc()).limit(limit)))


def count_due_since(
    conn: Connection, business_id: int, statuses: Sequence[str], since: datetime
) -> int:
    """Messages of these statuses due since `since` (the index on status and due time finds
    them without reading the rest of the log)."""
    return int(
        conn.execute(
            select(func.count()).where(
                messages.c.status.in_(statuses),
                messages.c.send_after >= naive_utc(since),
                messages.c.business_id == business_id,
            )
        ).scalar_one()
    )


def member_messages(conn: Connection, business_id: int, member_id: int, limit: int) -> list[Any]:
    """One member's newest messages."""
    return list(
        conn.execute(
            select(messages)
            .where(messages.c.business_id == business_id, messages.c.member_id == member_id)
            .order_by(messages.c.id.desc())
            .limit(limit)
        )
    )
