"""WooCommerce: order webhooks (REST API v3 order resource, webhook API version "WP REST API
Integration v3": topics `order.created` and `order.updated`).

WooCommerce signs the raw body with the webhook's secret: `X-WC-Webhook-Signature` =
base64(HMAC-SHA256(secret, body)); `X-WC-Webhook-Topic`, `-Resource`, `-Event`, `-ID` and
`-Delivery-ID` come beside it but are not signed, so nothing is decided by them alone. No time
is signed either: the order's own `date_modified_gmt`, inside the signed body and set by every
change that fires a delivery, must be within a day of its arrival (WooCommerce delivers through
its queue, which a quiet shop may run late), so a captured delivery cannot be replayed later.
The unsigned `Delivery-ID` is not used: anyone could change it.

An order earns once it is paid: status `processing` or `completed` (or `refunded`, when it was
paid before); `pending`, `on-hold`, `cancelled`, `failed` are ignored until a later update. The
receipt is the order's id, so created and updated, in any order and any number of times, earn
once. A refund is an entry of the order's `refunds` list (id and negative `total`), taken back
once by its own id. Money is decimal text in the order's currency. The buyer is found by the
billing e-mail or phone. On saving a webhook WooCommerce posts an unsigned ping,
`webhook_id=<id>`: it is answered 200 and records nothing."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lealtad.connectors.model import (
    Batch,
    Customer,
    Delivery,
    Event,
    Ignored,
    Line,
    Refund,
    Sale,
    Single,
    check_age,
    decimal_minor,
    forged,
    hmac_sha256,
    parse_time,
    same_base64,
    unmappable,
    unsigned,
)
from lealtad.kit.money import is_known_currency

NAME = "woocommerce"
HEADER = "x-wc-webhook-signature"
TOPIC = "x-wc-webhook-topic"
TOLERANCE = timedelta(hours=24)
ORDERS = ("order.created", "order.updated")
PAID = ("processing", "completed")
PING = re.compile(rb"webhook_id=\d{1,20}")


def sign(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac_sha256(secret.encode(), body)).decode()


def _ping(delivery: Delivery) -> bool:
    return delivery.header(HEADER) is None and PING.fullmatch(delivery.body) is not None


def verify(delivery: Delivery, secret: str) -> None:
    if _ping(delivery):
        return  # nothing in it to trust: read() answers it without recording anything
    presented = delivery.header(HEADER)
    if presented is None:
        raise unsigned(f"{HEADER} is required")
    if not same_base64(hmac_sha256(secret.encode(), delivery.body), presented):
        raise forged()
    order = _payload(delivery)
    modified = order.get("date_modified_gmt") or order.get("date_created_gmt")
    check_age(parse_time(modified, "date_modified_gmt"), delivery.received_at, TOLERANCE)


def _payload(delivery: Delivery) -> dict[str, Any]:
    try:
        payload = json.loads(delivery.body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise unmappable("the body is not JSON") from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("id"), int | str):
        raise unmappable("the body must be an order with an id")
    return payload


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _lines(order: dict[str, Any], currency: str) -> tuple[Line, ...]:
    items = order.get("line_items") or []
    if not isinstance(items, list) or len(items) > 500:
        raise unmappable("line_items must be a list of at most 500 lines")
    lines = []
    for item in items:
        if not isinstance(item, dict):
            raise unmappable("a line item must be an object")
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise unmappable("a line item's quantity must be a positive whole number")
        # The line's total after discounts, tax included as the order's total has it; the
        # unit price is its share per unit (WooCommerce's `price` is a float, often inexact).
        paid = decimal_minor(item.get("total", "0"), currency, "a line item's total")
        paid += decimal_minor(item.get("total_tax", "0") or "0", currency, "a line's total_tax")
        unit = int((Decimal(paid) / quantity).to_integral_value(ROUND_HALF_UP))
        sku = _text(item.get("sku")) or str(item.get("product_id") or item.get("id") or "item")
        lines.append(Line(sku=sku[:100], quantity=str(quantity), unit_price=unit))
    return tuple(lines)


def _sale(order: dict[str, Any], currency: str) -> Sale:
    found = order.get("billing")
    billing: dict[str, Any] = found if isinstance(found, dict) else {}
    names = [_text(billing.get("first_name")), _text(billing.get("last_name"))]
    when = order.get("date_paid_gmt") or order.get("date_created_gmt")
    return Sale(
        external_id=str(order["id"]),
        amount=decimal_minor(order.get("total"), currency, "total"),
        currency=currency,
        occurred_at=parse_time(when, "date_paid_gmt"),
        customer=Customer(
            email=_text(billing.get("email")),
            phone=_text(billing.get("phone")),
            name=" ".join(n for n in names if n) or None,
        ),
        lines=_lines(order, currency),
        channel="online",
    )


def _refunds(order: dict[str, Any], currency: str) -> list[Single]:
    found = order.get("refunds") or []
    if not isinstance(found, list) or len(found) > 200:
        raise unmappable("refunds must be a list")
    taken: list[Single] = []
    for entry in found:
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), int | str):
            raise unmappable("a refund must be an object with an id")
        total = str(entry.get("total", "")).strip()
        amount = decimal_minor(total.removeprefix("-"), currency, "a refund's total")
        if amount == 0:  # a refund of stock only: no money went back
            continue
        taken.append(Refund(str(entry["id"]), str(order["id"]), amount))
    return taken


def read(delivery: Delivery) -> Event:
    if _ping(delivery):
        return Ignored(None, "WooCommerce's ping on saving the webhook")
    order = _payload(delivery)
    topic = delivery.header(TOPIC)
    if topic not in ORDERS:
        return Ignored(str(order["id"]), f"topic {topic!r} is not used")
    status = order.get("status")
    paid_before = status == "refunded" and bool(order.get("date_paid_gmt"))
    if status not in PAID and not paid_before:
        return Ignored(str(order["id"]), f"order is {status}")
    currency = order.get("currency")
    if not isinstance(currency, str) or not is_known_currency(currency.upper()):
        raise unmappable("the currency is missing or unknown")
    # The sale first, then its refunds: on a delivery that is the first one to arrive (an
    # order paid and refunded before its earlier deliveries came) both apply, in that order.
    return Batch((_sale(order, currency.upper()), *_refunds(order, currency.upper())))
