"""Purchases and refunds as other domains' lists name them: a member's last visit in the
member list, the receipt and refund references in a member's explained ledger. Only
purchases' tables, so the lists of members and of the ledger can read them from below."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.purchases.tables import purchases, refunds


def last_visit(business_id: int, member_id: Any) -> Any:
    """The member's latest purchase time, a scalar subquery on the list's member id column."""
    return (
        select(func.max(purchases.c.occurred_at))
        .where(purchases.c.business_id == business_id, purchases.c.member_id == member_id)
        .scalar_subquery()
    )


def receipts(conn: Connection, business_id: int, purchase_ids: Iterable[int]) -> dict[int, str]:
    """{purchase id: receipt id} of these purchases."""
    rows = conn.execute(
        select(purchases.c.id, purchases.c.receipt_id).where(
            purchases.c.business_id == business_id, purchases.c.id.in_(purchase_ids)
        )
    )
    return {r.id: r.receipt_id for r in rows}


def refund_references(
    conn: Connection, business_id: int, refund_ids: Iterable[int]
) -> dict[int, str]:
    """{refund id: the refund's own reference} of these refunds."""
    rows = conn.execute(
        select(refunds.c.id, refunds.c.refund_id).where(
            refunds.c.business_id == business_id, refunds.c.id.in_(refund_ids)
        )
    )
    return {r.id: r.refund_id for r in rows}
