"""All SQL of purchases and refunds."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

from lealtad.db.inserts import insert_new
from lealtad.purchases.tables import purchases, refunds

# Built once for the purchase path (see ledger.store).
_BY_RECEIPT = select(purchases).where(
    purchases.c.business_id == bindparam("b"), purchases.c.receipt_id == bindparam("r")
)


def insert_new_purchase(conn: Connection, **values: Any) -> int | None:
    """The new purchase's id, or None when its receipt is already recorded: the unique index
    answers, in the same statement (on PostgreSQL a concurrent sale with the same receipt waits
    for the first to commit)."""
    found = insert_new(conn, purchases, **values)
    return None if found is None else int(found)


def purchase(conn: Connection, business_id: int, purchase_id: int) -> Any:
    return conn.execute(
        select(purchases).where(
            purchases.c.business_id == business_id, purchases.c.id == purchase_id
        )
    ).first()


def purchase_by_receipt(conn: Connection, business_id: int, receipt_id: str) -> Any:
    return conn.execute(_BY_RECEIPT, {"b": business_id, "r": receipt_id}).first()


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


def any_purchase(conn: Connection, business_id: int) -> bool:
    """Whether the business has recorded a sale (its currency is then fixed)."""
    found = conn.execute(
        select(purchases.c.id).where(purchases.c.business_id == business_id).limit(1)
    ).first()
    return found is not None
