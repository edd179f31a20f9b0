"""All SQL of the products."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update

from lealtad.products.tables import products


def listing(conn: Connection, business_id: int, *, active_only: bool) -> list[Any]:
    query = select(products).where(products.c.business_id == business_id)
    if active_only:
        query = query.where(products.c.active.is_(True))
    return list(conn.execute(query.order_by(products.c.position, products.c.id)))


def by_id(conn: Connection, business_id: int, product_id: int) -> Any:
    return conn.execute(
        select(products).where(products.c.business_id == business_id, products.c.id == product_id)
    ).first()


def sku_taken(conn: Connection, business_id: int, sku: str, other_than: int | None) -> bool:
    query = select(products.c.id).where(
        products.c.business_id == business_id, func.lower(products.c.sku) == sku.lower()
    )
    if other_than is not None:
        query = query.where(products.c.id != other_than)
    return conn.execute(query.limit(1)).first() is not None


def next_position(conn: Connection, business_id: int) -> int:
    found = conn.execute(
        select(func.max(products.c.position)).where(products.c.business_id == business_id)
    ).scalar_one()
    return int(found or 0) + 1


def insert_product(conn: Connection, **values: Any) -> int:
    query = insert(products).values(**values).returning(products.c.id)
    return int(conn.execute(query).scalar_one())


def update_product(conn: Connection, business_id: int, product_id: int, **values: Any) -> None:
    conn.execute(
        update(products)
        .where(products.c.business_id == business_id, products.c.id == product_id)
        .values(**values)
    )


def delete_product(conn: Connection, business_id: int, product_id: int) -> None:
    conn.execute(
        delete(products).where(products.c.business_id == business_id, products.c.id == product_id)
    )
