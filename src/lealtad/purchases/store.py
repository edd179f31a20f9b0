"""All SQL of purchases and refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeAlias

from sqlalchemy import Connection, bindparam, func, insert, select, text, update

from lealtad.db import setwise
from lealtad.db.inserts import insert_new
from lealtad.db.plans import filter_only
from lealtad.purchases.tables import purchases, refunds

_CHUNK = 500  # ids per IN (...) list: under SQLite's bound-parameter limit

# Built once for the purchase path (see ledger.store).
_BY_RECEIPT = select(purchases).where(
    purchases.c.business_id == bindparam("b"), purchases.c.receipt_id == bindparam("r")
)

_RECEIPTS_JOINED = text(
    "SELECT p.receipt_id, p.amount, p.member_id "
    "FROM unnest(CAST(:receipts AS VARCHAR[])) AS wanted (receipt_id) "
    "JOIN purchases AS p ON p.business_id = :b AND p.receipt_id = wanted.receipt_id"
)


def insert_new_purchase(conn: Connection, **values: Any) -> int | None:
    """The new purchase's id, or None when its receipt is already recorded: the unique index
    answers, in the same statement (on PostgreSQL a concurrent sale with the same receipt waits
    for the first to commit)."""
    found = insert_new(conn, purchases, **values)
    return None if found is None else int(found)


def insert_purchases(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """A batch's purchases, in order, with their ids (the ledger's set-wise writer's insert)."""
    return setwise.insert_returning_ids(conn, purchases, rows)


def visits_of(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, int]:
    """Each member's purchases so far that count as visits (as `visits_before`), one read per
    500 members (SQLite's bound-parameter limit)."""
    found: dict[int, int] = {}
    c = purchases.c
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), _CHUNK):
        query = (
            select(c.member_id, func.count())
            .where(
                filter_only(c.business_id) == business_id,
                c.member_id.in_(unique[start : start + _CHUNK]),
                c.amount > 0,
                c.refunded_amount < c.amount,
            )
            .group_by(c.member_id)
        )
        found.update({int(m): int(n) for m, n in conn.execute(query)})
    return found


def recorded_receipts(conn: Connection, business_id: int, receipts: list[str]) -> dict[str, Any]:
    """The receipts among these that are already recorded: {receipt: (amount, member id)}."""
    found: dict[str, Any] = {}
    unique = sorted(set(receipts))
    if conn.dialect.name == "postgresql" and unique:
        # One join against the receipts as an array: an IN list was planned, with a freshly
        # grown table's stale statistics, as the business's rows filtered against the list
        # (each row compared with every receipt), 100 ms for 500 receipts after 10,000 rows.
        rows = conn.execute(_RECEIPTS_JOINED, {"b": business_id, "receipts": unique})
        return {r: (a, m) for r, a, m in rows}
    c = purchases.c
    for start in range(0, len(unique), _CHUNK):
        query = select(c.receipt_id, c.amount, c.member_id).where(
            c.business_id == business_id, c.receipt_id.in_(unique[start : start + _CHUNK])
        )
        found.update({r: (a, m) for r, a, m in conn.execute(query)})
    return found


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


# A member's purchases in a window [since, until) of naive UTC (either end open when None), as
# challenges measure them (rewards.gamification).
Window: TypeAlias = tuple[datetime | None, datetime | None]


def _within(window: Window) -> list[Any]:
    since, until = window
    where = []
    if since is not None:
        where.append(purchases.c.occurred_at >= since)
    if until is not None:
        where.append(purchases.c.occurred_at < until)
    return where


def _counted(business_id: int, member_id: int) -> list[Any]:
    """Purchases that count: with an amount, not fully refunded."""
    return [
        purchases.c.business_id == business_id,
        purchases.c.member_id == member_id,
        purchases.c.amount > 0,
        purchases.c.refunded_amount < purchases.c.amount,
    ]


def counted_purchase_times(
    conn: Connection, business_id: int, member_id: int, window: Window
) -> list[datetime]:
    """When the member's purchases that count occurred, in no particular order."""
    rows = conn.execute(
        select(purchases.c.occurred_at).where(*_counted(business_id, member_id), *_within(window))
    )
    return [row.occurred_at for row in rows]


def counted_purchases(conn: Connection, business_id: int, member_id: int, window: Window) -> int:
    query = select(func.count()).where(*_counted(business_id, member_id), *_within(window))
    return int(conn.execute(query).scalar_one())


def net_spend(conn: Connection, business_id: int, member_id: int, window: Window) -> int:
    """What the member spent, less what was refunded (minor units)."""
    query = select(
        func.coalesce(func.sum(purchases.c.amount - purchases.c.refunded_amount), 0)
    ).where(
        purchases.c.business_id == business_id,
        purchases.c.member_id == member_id,
        *_within(window),
    )
    return int(conn.execute(query).scalar_one())
