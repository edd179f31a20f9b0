"""All SQL of purchases and refunds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from lealtad.purchases.tables import purchases, refunds


def insert_purchase(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(purchases).values(**values).returning(purchases.c.id)).scalar_one()
    )


def purchase(conn: Connection, business_id: int, purchase_id: int) -> Any:
    return conn.execute(
        select(purchases).where(
            purchases.c.business_id == business_id, purchases.c.id == purchase_id
        )
    ).first()


def purchase_by_receipt(conn: Connection, business_id: int, receipt_id: str) -> Any:
    return conn.execute(
        select(purchases).where(
            purchases.c.business_id == business_id, purchases.c.receipt_id == receipt_id
        )
    ).first()


def lock_purchase(conn: Connection, business_id: int, purchase_id: int) -> Any:
    return conn.execute(
        select(purchases)
        .where(purchases.c.business_id == business_id, purchases.c.id == purchase_id)
        .with_for_update()
    ).first()


def set_refunded(conn: Connection, business_id: int, purchase_id: int, refunded: int) -> None:
    conn.execute(
        update(purchases)
        .where(purchases.c.business_id == business_id, purchases.c.id == purchase_id)
        .values(refunded_amount=refunded)
    )


def insert_refund(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(refunds).values(**values).returning(refunds.c.id)).scalar_one())


def refund_by_ref(conn: Connection, business_id: int, refund_id: str) -> Any:
    return conn.execute(
        select(refunds).where(
            refunds.c.business_id == business_id, refunds.c.refund_id == refund_id
        )
    ).first()


def purchase_refunds(conn: Connection, business_id: int, purchase_id: int) -> list[Any]:
    return list(
        conn.execute(
            select(refunds).where(
                refunds.c.business_id == business_id, refunds.c.purchase_id == purchase_id
            )
        )
    )


def member_purchases(conn: Connection, business_id: int, member_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(purchases)
            .where(purchases.c.business_id == business_id, purchases.c.member_id == member_id)
            .order_by(purchases.c.occurred_at.desc(), purchases.c.id.desc())
            .limit(limit)
        )
    )


def set_refund_shortfall(
    conn: Connection, business_id: int, refund_id: int, shortfall: dict[str, int]
) -> None:
    conn.execute(
        update(refunds)
        .where(refunds.c.business_id == business_id, refunds.c.id == refund_id)
        .values(shortfall=shortfall)
    )


def visits_before(
    conn: Connection, business_id: int, member_id: int, purchase_id: int | None
) -> int:
    """The member's earlier purchases that still count as visits (not fully refunded)."""
    query = select(func.count()).where(
        purchases.c.business_id == business_id,
        purchases.c.member_id == member_id,
        purchases.c.amount > 0,
        purchases.c.refunded_amount < purchases.c.amount,
    )
    if purchase_id is not None:
        query = query.where(purchases.c.id != purchase_id)
    return int(conn.execute(query).scalar_one())
