"""Shopify: order and refund webhooks (Admin REST webhook payloads, API version 2025-01:
`orders/create`, `orders/paid`, `refunds/create`), online store and Shopify POS alike.

Shopify signs the raw body with the app's client secret: `X-Shopify-Hmac-Sha256` =
base64(HMAC-SHA256(secret, body)). A retried delivery keeps its original payload and its
`X-Shopify-Triggered-At`, which is checked against a tolerance as long as Shopify retries
(8 times over 4 hours), so a captured delivery cannot be replayed later.

An order earns once it is paid: `orders/paid`, or `orders/create` for an order already paid (a
POS sale); an order created unpaid is ignored until its `orders/paid` comes. The receipt is the
order's id, so both, in any order and any number of times, earn once. Money is decimal text in
the shop's currency ("12.50"), turned into minor units; `source_name` "pos" is a counter sale."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

from lealtad.connectors.model import (
    Customer,
    Delivery,
    Event,
    Ignored,
    Line,
    Refund,
    Sale,
    check_age,
    decimal_minor,
    forged,
    hmac_sha256,
    parse_time,
    same_base64,
    unmappable,
    unsigned,
)
from lealtad.errors import Invalid
from lealtad.kit.money import is_known_currency

NAME = "shopify"
HEADER = "x-shopify-hmac-sha256"
TOLERANCE = timedelta(hours=5)
PAID = ("paid",)


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret.encode(), body)).decode()


def verify(delivery: Delivery, secret: str) -> None:
    presented = delivery.header(HEADER)
    triggered = delivery.header("x-shopify-triggered-at")
    if presented is None or triggered is None:
        raise unsigned(f"{HEADER} and x-shopify-triggered-at are required")
    if not same_base64(hmac_sha256(secret.encode(), delivery.body), presented):
        raise forged()
    try:
        at = parse_time(triggered, "x-shopify-triggered-at")
    except Invalid as exc:
        raise unsigned("x-shopify-triggered-at is not a time") from exc
    check_age(at, delivery.received_at, TOLERANCE)


def _minor(value: Any, currency: str, what: str) -> int:
    return decimal_minor(value, currency, what)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _currency(found: dict[str, Any]) -> str:
    currency = found.get("currency")
    if not isinstance(currency, str) or not is_known_currency(currency.upper()):
        raise unmappable("the currency is missing or unknown")
    return currency.upper()


def _sale(order: dict[str, Any]) -> Sale:
    currency = _currency(order)
    found = order.get("customer")
    buyer: dict[str, Any] = found if isinstance(found, dict) else {}
    names = [_text(buyer.get("first_name")), _text(buyer.get("last_name"))]
    lines = []
    for item in order.get("line_items") or []:
        if not isinstance(item, dict):
            raise unmappable("a line item must be an object")
        sku = _text(item.get("sku")) or str(item.get("product_id") or item.get("id") or "item")
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise unmappable("a line item's quantity must be a positive whole number")
        price = _minor(item.get("price", "0"), currency, "a line item's price")
        lines.append(Line(sku=sku[:100], quantity=str(quantity), unit_price=price))
    total = order.get("current_total_price") or order.get("total_price")
    when = order.get("processed_at") or order.get("created_at")
    location = order.get("location_id")
    return Sale(
        external_id=str(order["id"]),
        amount=_minor(total, currency, "total_price"),
        currency=currency,
        occurred_at=parse_time(when, "processed_at"),
        customer=Customer(
            email=_text(buyer.get("email")) or _text(order.get("email")),
            phone=_text(buyer.get("phone")) or _text(order.get("phone")),
            name=" ".join(n for n in names if n) or None,
        ),
        lines=tuple(lines),
        location=str(location) if isinstance(location, int | str) and location else None,
        channel="counter" if order.get("source_name") == "pos" else "online",
    )


def _refund(refund: dict[str, Any]) -> Event:
    order_id = refund.get("order_id")
    if not isinstance(order_id, int | str):
        raise unmappable("order_id is missing")
    total = 0
    for tx in refund.get("transactions") or []:
        if not isinstance(tx, dict):
            raise unmappable("a transaction must be an object")
        if tx.get("kind") == "refund" and tx.get("status") == "success":
            currency = _currency(tx)
            total += _minor(tx.get("amount"), currency, "a transaction's amount")
    if total == 0:  # a restock or a note: no money went back, nothing to take back
        return Ignored(str(refund["id"]), "no money was refunded")
    return Refund(
        external_id=str(refund["id"]),
        sale_external_id=str(order_id),
        amount=total,
        occurred_at=parse_time(refund.get("created_at"), "created_at"),
    )


def read(delivery: Delivery) -> Event:
    try:
        payload = json.loads(delivery.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise unmappable("the body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int | str):
        raise unmappable("the body must be an object with an id")
    topic = delivery.header("x-shopify-topic")
    if topic in ("orders/create", "orders/paid"):
        if payload.get("financial_status") not in PAID:
            return Ignored(str(payload["id"]), f"order is {payload.get('financial_status')}")
        return _sale(payload)
    if topic == "refunds/create":
        return _refund(payload)
    return Ignored(str(payload["id"]), f"topic {topic!r} is not used")
