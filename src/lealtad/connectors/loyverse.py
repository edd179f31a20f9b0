"""Loyverse POS: receipt and customer webhooks (Loyverse API v1.0, developer.loyverse.com:
`receipts.update` and `customers.update`, each a delivery `{"merchant_id", "type", "created_at",
"receipts" | "customers": [...]}` that may carry several records).

Loyverse signs a webhook (`X-Loyverse-Signature`, an HMAC with the client secret) only when it
was created by an OAuth application; one a business creates with its own access token comes
unsigned. The credential is therefore a secret of at least 24 characters that the business
chooses, gives Lealtad and puts in the address it registers: `.../hooks/loyverse/<slug>?token=
<secret>`, compared in constant time. The delivery's own `created_at` must be within a day of
its arrival, so a captured delivery cannot be sent again later (see docs/decisions.md, D74).

A SALE receipt earns once under its `receipt_number` (it is sent again whenever it changes); a
REFUND receipt takes back, once, the money it returned from the receipt named in `refund_for`;
a receipt cancelled (`cancelled_at`) is taken back whole. Amounts are decimal numbers in the
merchant's currency, which the payload does not name: the business's own currency is used.
A receipt names its buyer only by Loyverse's `customer_id`; `customers.update` deliveries link
that id to the member with the customer's e-mail or phone (enrolling them when the business
asked for that), so the receipts that follow find the member."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from lealtad.connectors.model import (
    Batch,
    Contact,
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
    json_object,
    parse_time,
    unmappable,
    unsigned,
)

NAME = "loyverse"
TOLERANCE = timedelta(hours=24)
MIN_SECRET = 24  # the only credential, and one the business makes: long enough not to guess
MAX_RECORDS = 100


def verify(delivery: Delivery, secret: str) -> None:
    token = delivery.extra.get("token")
    if not isinstance(token, str) or not token:
        raise unsigned("the address must carry ?token= with the connector's secret")
    if not hmac.compare_digest(token.encode(), secret.encode()):
        raise forged()
    created = json_object(delivery).get("created_at")
    check_age(parse_time(created, "created_at"), delivery.received_at, TOLERANCE)


def _text(value: Any, size: int = 100) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip()[:size]


def _records(payload: dict[str, Any], key: str) -> list[dict[str, Any]]:
    found = payload.get(key)
    if not isinstance(found, list) or len(found) > MAX_RECORDS:
        raise unmappable(f"{key} must be a list of at most {MAX_RECORDS}")
    if not all(isinstance(r, dict) for r in found):
        raise unmappable(f"every entry of {key} must be an object")
    return found


def _money(value: Any, currency: str, what: str) -> int:
    # Refund receipts may carry their amounts negative; what matters is how much.
    text = str(value).strip().removeprefix("-") if isinstance(value, int | float) else value
    return decimal_minor(text, currency, what)


def _lines(receipt: dict[str, Any], currency: str) -> tuple[Line, ...]:
    items = receipt.get("line_items") or []
    if not isinstance(items, list) or len(items) > 500:
        raise unmappable("line_items must be a list of at most 500 lines")
    lines = []
    for item in items:
        if not isinstance(item, dict):
            raise unmappable("a line item must be an object")
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int | float) or quantity <= 0:
            raise unmappable("a line item's quantity must be a positive number")
        sku = _text(item.get("sku")) or _text(item.get("item_id")) or "item"
        price = _money(item.get("price", 0), currency, "a line item's price")
        lines.append(Line(sku=sku, quantity=str(quantity), unit_price=price))
    return tuple(lines)


def _receipt(receipt: dict[str, Any], currency: str) -> list[Single]:
    number = _text(receipt.get("receipt_number"))
    if number is None:
        raise unmappable("a receipt's receipt_number is missing")
    kind = receipt.get("receipt_type")
    amount = _money(receipt.get("total_money"), currency, "total_money")
    when = parse_time(receipt.get("receipt_date") or receipt.get("created_at"), "receipt_date")
    if kind == "REFUND":
        original = _text(receipt.get("refund_for"))
        if original is None:
            raise unmappable("a refund receipt's refund_for is missing")
        if amount == 0:
            return [Ignored(number, "no money was refunded")]
        return [Refund(number, original, amount, when)]
    if kind != "SALE":
        return [Ignored(number, f"receipt type {kind!r} is not used")]
    sale = Sale(
        external_id=number,
        amount=amount,
        currency=currency,
        occurred_at=when,
        customer=Customer(ref=_text(receipt.get("customer_id"))),
        lines=_lines(receipt, currency),
        location=_text(receipt.get("store_id")),
        channel="counter",
    )
    if receipt.get("cancelled_at"):
        # A receipt voided at the till: the sale (recorded now if it was not yet) taken back.
        return [sale, Refund(f"{number}:cancelled", number, None, when)]
    return [sale]


def _customer(record: dict[str, Any]) -> Single:
    ref = _text(record.get("id"))
    if ref is None:
        raise unmappable("a customer's id is missing")
    return Contact(
        ref,
        Customer(
            email=_text(record.get("email"), 200),
            phone=_text(record.get("phone_number"), 40),
            name=_text(record.get("name")),
        ),
    )


def read(delivery: Delivery) -> Event:
    payload = json_object(delivery)
    kind = payload.get("type")
    if kind == "receipts.update":
        currency = delivery.currency
        if currency is None:
            raise unmappable("the business's currency is not known")
        events = [e for r in _records(payload, "receipts") for e in _receipt(r, currency)]
        # Sales before refunds: a refund of a sale in the same delivery finds it recorded.
        events.sort(key=lambda e: isinstance(e, Refund))
        return Batch(tuple(events))
    if kind == "customers.update":
        return Batch(tuple(_customer(r) for r in _records(payload, "customers")))
    return Ignored(None, f"type {kind!r} is not used")
