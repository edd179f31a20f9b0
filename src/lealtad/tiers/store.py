"""All SQL of tiers: the status rows and the qualifying metrics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from lealtad.events.tables import member_events
from lealtad.ledger.tables import accounts, entries, postings
from lealtad.purchases.tables import purchases
from lealtad.rules.tables import awards
from lealtad.tiers.tables import tier_status

# Built once: read on every purchase (see ledger.store).
_STATUS = select(tier_status).where(
    tier_status.c.business_id == bindparam("b"), tier_status.c.member_id == bindparam("m")
)


def status(conn: Connection, business_id: int, member_id: int) -> Any:
    return conn.execute(_STATUS, {"b": business_id, "m": member_id}).first()


def save(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    key = (tier_status.c.business_id == business_id, tier_status.c.member_id == member_id)
    if conn.execute(update(tier_status).where(*key).values(**values)).rowcount == 0:
        conn.execute(
            insert(tier_status).values(business_id=business_id, member_id=member_id, **values)
        )


def due_for_review(conn: Connection, business_id: int, now: datetime, limit: int) -> list[int]:
    return list(
        conn.execute(
            select(tier_status.c.member_id)
            .where(
                tier_status.c.business_id == business_id,
                tier_status.c.held_until.is_not(None),
                tier_status.c.held_until <= now,
            )
            .order_by(tier_status.c.member_id)
            .limit(limit)
        ).scalars()
    )


def spend(
    conn: Connection, business_id: int, member_id: int, since: datetime, until: datetime
) -> Decimal:
    query = select(
        func.coalesce(func.sum(purchases.c.amount - purchases.c.refunded_amount), 0)
    ).where(
        purchases.c.business_id == business_id,
        purchases.c.member_id == member_id,
        purchases.c.occurred_at >= since,
        purchases.c.occurred_at <= until,
    )
    return Decimal(conn.execute(query).scalar_one())


def visits(
    conn: Connection, business_id: int, member_id: int, since: datetime, until: datetime
) -> Decimal:
    query = select(func.count()).where(
        purchases.c.business_id == business_id,
        purchases.c.member_id == member_id,
        purchases.c.amount > 0,
        purchases.c.refunded_amount < purchases.c.amount,
        purchases.c.occurred_at >= since,
        purchases.c.occurred_at <= until,
    )
    return Decimal(conn.execute(query).scalar_one())


def points_earned(
    conn: Connection, business_id: int, member_id: int, since: datetime, until: datetime
) -> Decimal:
    """Points awarded in the window less what refunds took back: never the spendable balance."""
    earned = select(func.coalesce(func.sum(awards.c.amount), 0)).where(
        awards.c.business_id == business_id,
        awards.c.member_id == member_id,
        awards.c.unit == "points",
        awards.c.occurred_at >= since,
        awards.c.occurred_at <= until,
    )
    reversed_ = (
        select(func.coalesce(func.sum(postings.c.amount), 0))
        .join(entries, entries.c.id == postings.c.entry_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(
            entries.c.business_id == business_id,
            entries.c.kind == "refund",
            accounts.c.member_id == member_id,
            accounts.c.unit == "points",
            entries.c.occurred_at >= since,
            entries.c.occurred_at <= until,
        )
    )
    return Decimal(conn.execute(earned).scalar_one()) + Decimal(
        conn.execute(reversed_).scalar_one()
    )


def event_total(
    conn: Connection, business_id: int, member_id: int, name: str, since: datetime, until: datetime
) -> Decimal:
    query = select(func.coalesce(func.sum(member_events.c.value), 0)).where(
        member_events.c.business_id == business_id,
        member_events.c.member_id == member_id,
        member_events.c.name == name,
        member_events.c.occurred_at >= since,
        member_events.c.occurred_at <= until,
    )
    return Decimal(conn.execute(query).scalar_one())
