"""A business's purchases as the whole-business tasks read them: `lealtad export purchases`
(exports/service.py), streamed a chunk at a time so a business of any size exports in flat
memory, and how many purchases and refunds a rebuild of the analytics rollups replays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.purchases.tables import purchases, refunds


def purchases_in_order(
    conn: Connection, business_id: int, since: datetime | None, chunk: int
) -> Iterator[Any]:
    """Every purchase of the business by id; only those that occurred from `since` on (naive
    UTC) when given."""
    query = select(purchases).where(purchases.c.business_id == business_id).order_by(purchases.c.id)
    if since is not None:
        query = query.where(purchases.c.occurred_at >= since)
    yield from conn.execution_options(yield_per=chunk).execute(query)


def purchase_and_refund_count(conn: Connection, business_id: int) -> int:
    """Every purchase and every refund of the business, counted together."""
    return sum(
        int(conn.execute(select(func.count()).where(t.c.business_id == business_id)).scalar_one())
        for t in (purchases, refunds)
    )
