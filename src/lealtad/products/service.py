"""The products a business sells: listed for the counter's buttons, edited by the owner in the
console, and started from a template's menu."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Conflict, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.products import store
from lealtad.products.schemas import ProductIn


@dataclass(frozen=True)
class Product:
    id: int
    sku: str
    category: str | None
    title: dict[str, str]
    price: int
    position: int
    active: bool

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title.get("es") or self.title.get("en") or self.sku


def _product(row: Any) -> Product:
    return Product(
        row.id, row.sku, row.category, dict(row.title), row.price, row.position, row.active
    )


def listing(conn: Connection, business_id: int, *, active_only: bool = True) -> list[Product]:
    return [_product(r) for r in store.listing(conn, business_id, active_only=active_only)]


def get(conn: Connection, business_id: int, product_id: int) -> Product:
    row = store.by_id(conn, business_id, product_id)
    if row is None:
        raise NotFound("no such product", code="product_not_found")
    return _product(row)


def _values(data: ProductIn) -> dict[str, Any]:
    return {
        "sku": data.sku,
        "category": data.category.strip() if data.category else None,
        "title": data.title.model_dump(),
        "price": data.price,
        "active": data.active,
    }


def add(conn: Connection, business_id: int, data: ProductIn, now: datetime) -> int:
    if store.sku_taken(conn, business_id, data.sku, None):
        raise Conflict(f"the product code {data.sku!r} is taken", code="duplicate_sku")
    return store.insert_product(
        conn,
        business_id=business_id,
        position=store.next_position(conn, business_id),
        created_at=naive_utc(now),
        **_values(data),
    )


def update(conn: Connection, business_id: int, product_id: int, data: ProductIn) -> None:
    get(conn, business_id, product_id)
    if store.sku_taken(conn, business_id, data.sku, product_id):
        raise Conflict(f"the product code {data.sku!r} is taken", code="duplicate_sku")
    store.update_product(conn, business_id, product_id, **_values(data))


def remove(conn: Connection, business_id: int, product_id: int) -> None:
    get(conn, business_id, product_id)
    store.delete_product(conn, business_id, product_id)


def add_missing(
    conn: Connection, business_id: int, wanted: Iterable[ProductIn], now: datetime
) -> int:
    """Adds the products whose codes the business does not sell yet; returns how many."""
    added = 0
    for data in wanted:
        if not store.sku_taken(conn, business_id, data.sku, None):
            add(conn, business_id, data, now)
            added += 1
    return added
