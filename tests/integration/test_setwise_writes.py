"""The set-wise writes (db/setwise.py) store what one Core statement per row stores, on both
databases and on both sides of MANY_ROWS: on PostgreSQL many rows go by COPY or as unnested
arrays, a few by executemany."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from lealtad.analytics.tables import counters
from lealtad.db import setwise
from lealtad.db.engine import Database
from lealtad.ledger.tables import accounts, idempotency_keys
from lealtad.purchases.tables import purchases
from tests.support import Shop

SIZES = [3, setwise.MANY_ROWS + 9]
AT = datetime(2026, 3, 1, 9, 30, 15, 250)


def _sales(shop: Shop, prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        dict(
            business_id=shop.id,
            receipt_id=f"{prefix}-{n}",
            member_id=None,
            location_id=shop.locations[0] if n % 2 else None,
            staff_id=None,
            channel="pos",
            amount=100 + n,
            currency="EUR",
            items=[{"sku": f"s{n}", "qty": n, "name": 'Café con leche, ñ \t\\ "x"'}]
            if n % 3
            else [],
            refunded_amount=0,
            # Aware and naive times both, as callers hand them.
            occurred_at=AT + timedelta(minutes=n)
            if n % 2
            else (AT + timedelta(minutes=n)).replace(tzinfo=UTC),
            recorded_at=AT,
        )
        for n in range(count)
    ]


def _read_sales(db: Database, shop: Shop, prefix: str) -> list[tuple[Any, ...]]:
    columns = [c for c in purchases.c if c.name not in ("id", "receipt_id")]
    with db.read() as conn:
        query = (
            select(*columns)
            .where(purchases.c.business_id == shop.id, purchases.c.receipt_id.like(f"{prefix}-%"))
            .order_by(purchases.c.amount)
        )
        return [tuple(row) for row in conn.execute(query)]


@pytest.mark.parametrize("count", SIZES)
def test_inserted_rows_read_back_as_core_inserts_of_them_do(
    db: Database, shop: Shop, count: int
) -> None:
    with db.transaction() as conn:
        setwise.insert_many(conn, purchases, _sales(shop, "set", count))
        for row in _sales(shop, "core", count):
            conn.execute(purchases.insert(), row)
    assert _read_sales(db, shop, "set") == _read_sales(db, shop, "core")


@pytest.mark.parametrize("count", SIZES)
def test_an_encrypted_column_inserted_set_wise_reads_back_decrypted(
    db: Database, shop: Shop, count: int
) -> None:
    rows = [
        dict(
            business_id=shop.id,
            key=f"k{n}",
            request_hash="h" * 64,
            status_code=201,
            response={"points": n, "note": "sí"},
            created_at=AT,
        )
        for n in range(count)
    ]
    with db.transaction() as conn:
        setwise.insert_many(conn, idempotency_keys, rows)
    with db.read() as conn:
        stored = conn.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.response)
            .where(idempotency_keys.c.business_id == shop.id)
            .order_by(idempotency_keys.c.status_code, idempotency_keys.c.key)
        ).all()
    assert sorted(stored) == sorted((r["key"], r["response"]) for r in rows)


def _accounts(db: Database, shop: Shop, count: int) -> list[int]:
    rows = [
        dict(
            business_id=shop.id,
            key=f"s:test{n}:points",
            member_id=None,
            code=f"test{n}",
            unit="points",
            balance=10 * n,
            created_at=AT,
        )
        for n in range(count)
    ]
    with db.transaction() as conn:
        return setwise.insert_returning_ids(conn, accounts, rows)


@pytest.mark.parametrize("count", SIZES)
def test_updates_set_and_add_each_row_and_a_target_named_twice_gets_both(
    db: Database, shop: Shop, count: int
) -> None:
    ids = _accounts(db, shop, count)
    adds = [dict(business_id=shop.id, id=i, balance=n + 1) for n, i in enumerate(ids)]
    with db.transaction() as conn:
        setwise.update_many(
            conn, accounts, adds, where=("business_id", "id"), add=frozenset({"balance"})
        )
        # The first account named twice in one call: both additions land.
        twice = [*adds, dict(business_id=shop.id, id=ids[0], balance=1000)]
        setwise.update_many(
            conn, accounts, twice, where=("business_id", "id"), add=frozenset({"balance"})
        )
        setwise.update_many(
            conn,
            accounts,
            [dict(business_id=shop.id, id=i, unit="stamps") for i in ids[1:]],
            where=("business_id", "id"),
        )
    with db.read() as conn:
        stored = dict(
            (i, (b, u))
            for i, b, u in conn.execute(
                select(accounts.c.id, accounts.c.balance, accounts.c.unit).where(
                    accounts.c.id.in_(ids)
                )
            )
        )
    expected = {
        i: (10 * n + 2 * (n + 1) + (1000 if n == 0 else 0), "points" if n == 0 else "stamps")
        for n, i in enumerate(ids)
    }
    assert stored == expected


@pytest.mark.parametrize("count", SIZES)
def test_counters_added_set_wise_insert_new_keys_and_add_to_present_ones(
    db: Database, shop: Shop, count: int
) -> None:
    def row(n: int, value: int) -> dict[str, Any]:
        return dict(
            business_id=shop.id,
            metric="purchases",
            day=date(2026, 3, 1) + timedelta(days=n),
            dim="",
            location_id=0,
            staff_id=0,
            shard=n % 4,
            value=value,
        )

    with db.transaction() as conn:
        setwise.add_many(conn, counters, [row(n, 1) for n in range(0, count, 2)], add="value")
        setwise.add_many(conn, counters, [row(n, 5) for n in range(count)], add="value")
    with db.read() as conn:
        stored = dict(
            conn.execute(
                select(counters.c.day, counters.c.value).where(counters.c.business_id == shop.id)
            ).all()
        )
    assert stored == {date(2026, 3, 1) + timedelta(days=n): 5 + (n % 2 == 0) for n in range(count)}


def test_postgresql_inserts_the_new_rows_and_names_only_them(db: Database, shop: Shop) -> None:
    if db.dialect != "postgresql":
        pytest.skip("insert_new_many serves PostgreSQL's batches; SQLite's hold the write lock")

    def claim(key: str) -> dict[str, Any]:
        return dict(
            business_id=shop.id,
            key=key,
            request_hash="h" * 64,
            status_code=201,
            response={"key": key},
            created_at=AT,
        )

    with db.transaction() as conn:
        assert setwise.insert_new_many(conn, idempotency_keys, [claim("a"), claim("b")]) == [
            shop.id,
            shop.id,
        ]
        # "b" is taken: only "c" is new, and the first key column of it is what comes back.
        new = setwise.insert_new_many(conn, idempotency_keys, [claim("b"), claim("c")])
    assert new == [shop.id]
    with db.read() as conn:
        stored = conn.execute(
            select(idempotency_keys.c.key, idempotency_keys.c.response)
            .where(idempotency_keys.c.business_id == shop.id)
            .order_by(idempotency_keys.c.key)
        ).all()
    assert [tuple(r) for r in stored] == [
        ("a", {"key": "a"}),
        ("b", {"key": "b"}),
        ("c", {"key": "c"}),
    ]
