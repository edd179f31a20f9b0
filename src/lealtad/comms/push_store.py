"""SQL of the browsers' web push subscriptions: saving one, retiring one, the active ones of a
member, and what the push service answered each."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Connection, exists, select, update

from lealtad.comms.tables import push_subscriptions
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc

Answer = Literal["accepted", "retired", "failed"]


def save_subscription(
    conn: Connection, business_id: int, endpoint: str, values: dict[str, Any], now: datetime
) -> int:
    """The subscription of this endpoint added, or brought up to `values`; returns its id."""
    key = (push_subscriptions.c.business_id == business_id) & (
        push_subscriptions.c.endpoint == endpoint
    )
    insert_if_new(
        conn,
        push_subscriptions,
        business_id=business_id,
        endpoint=endpoint,
        created_at=naive_utc(now),
        **values,
    )
    conn.execute(update(push_subscriptions).where(key).values(**values))
    return int(conn.execute(select(push_subscriptions.c.id).where(key)).scalar_one())


def end_subscription(conn: Connection, business_id: int, member_id: int, endpoint: str) -> bool:
    """True when the member had this subscription active."""
    result = conn.execute(
        update(push_subscriptions)
        .where(
            push_subscriptions.c.business_id == business_id,
            push_subscriptions.c.member_id == member_id,
            push_subscriptions.c.endpoint == endpoint,
            push_subscriptions.c.active.is_(True),
        )
        .values(active=False)
    )
    return bool(result.rowcount)


def active_subscriptions(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(push_subscriptions)
            .where(
                push_subscriptions.c.business_id == business_id,
                push_subscriptions.c.member_id == member_id,
                push_subscriptions.c.active.is_(True),
            )
            .order_by(push_subscriptions.c.id)
        )
    )


def has_active_subscription(conn: Connection, business_id: int, member_id: int) -> bool:
    return (
        conn.execute(
            select(push_subscriptions.c.id)
            .where(
                push_subscriptions.c.business_id == business_id,
                push_subscriptions.c.member_id == member_id,
                push_subscriptions.c.active.is_(True),
            )
            .limit(1)
        ).first()
        is not None
    )


def subscribed(
    business_id: ColumnElement[Any], member_id: ColumnElement[Any]
) -> ColumnElement[bool]:
    """A condition for another domain's query: the member these columns name has an active
    subscription."""
    return exists().where(
        push_subscriptions.c.business_id == business_id,
        push_subscriptions.c.member_id == member_id,
        push_subscriptions.c.active.is_(True),
    )


def record_answer(conn: Connection, subscription_id: int, answer: Answer, now: datetime) -> None:
    """Accepted: sent now, failures forgotten. Retired: the push service forgot it. Failed: one
    more failure counted."""
    values: dict[str, Any]
    if answer == "accepted":
        values = {"last_sent_at": naive_utc(now), "failures": 0}
    elif answer == "retired":
        values = {"active": False}
    else:
        values = {"failures": push_subscriptions.c.failures + 1}
    conn.execute(
        update(push_subscriptions)
        .where(push_subscriptions.c.id == subscription_id)
        .values(**values)
    )
