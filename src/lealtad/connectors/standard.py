"""The generic signed webhook, for any till or integrator: Standard Webhooks signatures
(https://www.standardwebhooks.com, specification v1) over a documented JSON body.

Headers: `webhook-id` (unique per message; retries keep it), `webhook-timestamp` (Unix seconds),
`webhook-signature` ("v1,<base64 HMAC-SHA256 of id.timestamp.body>", several separated by spaces
while a secret is rotated). The secret is "whsec_" followed by the base64 of the key.

Body, a sale:   {"type": "sale.completed", "data": {"id": "T-1001", "amount": 1250,
                 "currency": "EUR", "occurred_at": "2026-03-02T10:00:00Z", "location": "till-1",
                 "channel": "counter", "customer": {"email": ..., "phone": ..., "card": ...},
                 "items": [{"sku": "cafe", "quantity": 2, "unit_price": 150}]}}
A refund:       {"type": "sale.refunded", "data": {"id": "RF-7", "sale_id": "T-1001",
                 "amount": 500}}   (amount omitted: the rest of the sale)
Amounts are integers in the currency's minor units."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime, timedelta
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
    forged,
    hmac_sha256,
    minor_units,
    parse_time,
    same_base64,
    unmappable,
    unsigned,
)

NAME = "standard"
TOLERANCE = timedelta(minutes=5)
PREFIX = "whsec_"


def key_of(secret: str) -> bytes:
    raw = secret[len(PREFIX) :] if secret.startswith(PREFIX) else secret
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        return secret.encode()


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The header value a sender puts on `body` (the tests sign with it, as a till would)."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac_sha256(key_of(secret), signed)).decode()


def verify(delivery: Delivery, secret: str) -> None:
    message_id = delivery.header("webhook-id")
    stamp = delivery.header("webhook-timestamp")
    signatures = delivery.header("webhook-signature")
    if not (message_id and stamp and signatures):
        raise unsigned("webhook-id, webhook-timestamp and webhook-signature are required")
    try:
        signed_at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError) as exc:
        raise unsigned("webhook-timestamp is not a Unix time") from exc
    expected = hmac_sha256(key_of(secret), f"{message_id}.{stamp}.".encode() + delivery.body)
    # Every listed signature is tried: a sender rotating its secret signs with both.
    if not any(
        version == "v1" and same_base64(expected, value)
        for version, _, value in (s.partition(",") for s in signatures.split())
    ):
        raise forged()
    check_age(signed_at, delivery.received_at, TOLERANCE)


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise unmappable(f"{what} must be an object")
    return value


def _text(value: Any, what: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 100:
        raise unmappable(f"{what} must be text of 1 to 100 characters")
    return value.strip()


def _lines(items: Any) -> tuple[Line, ...]:
    if items is None:
        return ()
    if not isinstance(items, list) or len(items) > 500:
        raise unmappable("items must be a list of at most 500 lines")
    lines = []
    for item in items:
        entry = _object(item, "an item")
        quantity = entry.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int | float | str):
            raise unmappable("an item's quantity must be a number")
        lines.append(
            Line(
                sku=str(_text(entry.get("sku"), "an item's sku")),
                quantity=str(quantity),
                unit_price=minor_units(entry.get("unit_price"), "an item's unit_price"),
                category=_text(entry.get("category"), "an item's category", required=False),
            )
        )
    return tuple(lines)


def read(delivery: Delivery) -> Event:
    try:
        payload = _object(json.loads(delivery.body), "the body")
    except (ValueError, UnicodeDecodeError) as exc:
        raise unmappable("the body is not JSON") from exc
    kind, data = payload.get("type"), _object(payload.get("data"), "data")
    if kind == "sale.completed":
        customer = _object(data.get("customer") or {}, "customer")
        channel = data.get("channel", "counter")
        if channel not in ("counter", "online"):
            raise unmappable("channel must be counter or online")
        return Sale(
            external_id=str(_text(data.get("id"), "data.id")),
            amount=minor_units(data.get("amount"), "data.amount"),
            currency=str(_text(data.get("currency"), "data.currency")),
            occurred_at=parse_time(data.get("occurred_at"), "data.occurred_at"),
            customer=Customer(
                email=_text(customer.get("email"), "customer.email", required=False),
                phone=_text(customer.get("phone"), "customer.phone", required=False),
                card=_text(customer.get("card"), "customer.card", required=False),
                name=_text(customer.get("name"), "customer.name", required=False),
            ),
            lines=_lines(data.get("items")),
            location=_text(data.get("location"), "data.location", required=False),
            channel=channel,
        )
    if kind == "sale.refunded":
        amount = data.get("amount")
        return Refund(
            external_id=str(_text(data.get("id"), "data.id")),
            sale_external_id=str(_text(data.get("sale_id"), "data.sale_id")),
            amount=None if amount is None else minor_units(amount, "data.amount"),
            occurred_at=(
                parse_time(data["occurred_at"], "data.occurred_at")
                if data.get("occurred_at")
                else None
            ),
        )
    return Ignored(_text(data.get("id"), "data.id", required=False), f"type {kind!r} is not used")
