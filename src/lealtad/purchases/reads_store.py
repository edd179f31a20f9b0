"""Reads of purchases that other domains ask for their own answers (comms' offers and
reminders): what a member bought lately, when each member last came, who came lately."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from lealtad.purchases.tables import purchases


def recent_baskets(
    conn: Connection, business_id: int, member_id: int, limit: int
) -> list[list[dict[str, Any]]]:
    """The items of the member's last `limit` purchases, newest first; a purchase refunded in
    full is left out (it says nothing about what they like)."""
    p = purchases.c
    rows = conn.execute(
        select(p["items"])
        .where(
            p.business_id == business_id,
            p.member_id == member_id,
            or_(p.refunded_amount == 0, p.refunded_amount < p.amount),
        )
        .order_by(p.occurred_at.desc(), p.id.desc())
        .limit(limit)
    )
    return [list(items or []) for (items,) in rows]


def last_visits(conn: Connection, business_id: int) -> list[Any]:
    """(member id, time of their last purchase of some amount), for every member who has one."""
    return list(
        conn.execute(
            select(purchases.c.member_id, func.max(purchases.c.occurred_at))
            .where(
                purchases.c.business_id == business_id,
                purchases.c.member_id.is_not(None),
                purchases.c.amount > 0,
            )
            .group_by(purchases.c.member_id)
        ).all()
    )


def members_who_bought_since(conn: Connection, business_id: int, since: datetime) -> list[int]:
    """The members with a purchase at `since` (naive UTC) or later, each once."""
    return list(
        conn.execute(
            select(purchases.c.member_id)
            .where(
                purchases.c.business_id == business_id,
                purchases.c.member_id.is_not(None),
                purchases.c.occurred_at >= since,
            )
            .distinct()
        ).scalars()
    )
