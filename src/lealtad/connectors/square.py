"""Square: payment and refund notifications (Webhooks, API version 2024-2025 payloads:
`payment.created`, `payment.updated`, `refund.created`, `refund.updated`).

Square signs the notification URL followed by the raw body with the subscription's signature
key: `x-square-hmacsha256-signature` = base64(HMAC-SHA256(key, url + body)). There is no
signed timestamp header; the event's own `created_at`, inside the signed body, is checked
against a tolerance as long as Square keeps retrying a delivery (up to 24 hours), so a
captured notification cannot be replayed later.

A payment earns once, when a delivery shows it COMPLETED: created and updated arrive in any
order and any number of times, and the purchase's receipt is Square's payment id. A refund is
taken back once it is COMPLETED, in proportion to the money returned.

The buyer is found by `buyer_email_address`. A payment of a buyer saved in the seller's
customer directory also carries `customer_id`; the first one that comes with an e-mail links
that id to the member, so later payments carrying only the id (a saved card at the counter)
find them without asking Square (D74)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

from lealtad.connectors.model import (
    Customer,
    Delivery,
    Event,
    Ignored,
    Refund,
    Sale,
    check_age,
    forged,
    hmac_sha256,
    json_object,
    minor_units,
    parse_time,
    same_base64,
    unmappable,
    unsigned,
)

NAME = "square"
HEADER = "x-square-hmacsha256-signature"
TOLERANCE = timedelta(hours=25)
PAYMENTS = ("payment.created", "payment.updated")
REFUNDS = ("refund.created", "refund.updated")


def sign(key: str, url: str, body: bytes) -> str:
    return base64.b64encode(hmac_sha256(key.encode(), url.encode() + body)).decode()


def verify(delivery: Delivery, secret: str) -> None:
    presented = delivery.header(HEADER)
    if presented is None:
        raise unsigned(f"{HEADER} is required")
    if not same_base64(
        hmac_sha256(secret.encode(), delivery.url.encode() + delivery.body), presented
    ):
        raise forged()
    created = json_object(delivery).get("created_at")
    check_age(parse_time(created, "created_at"), delivery.received_at, TOLERANCE)


def _object(payload: dict[str, Any], kind: str) -> dict[str, Any]:
    data = payload.get("data")
    found = data.get("object", {}).get(kind) if isinstance(data, dict) else None
    if not isinstance(found, dict) or not isinstance(found.get("id"), str):
        raise unmappable(f"data.object.{kind} with an id is missing")
    return found


def _money(value: Any, what: str) -> tuple[int, str]:
    if not isinstance(value, dict) or not isinstance(value.get("currency"), str):
        raise unmappable(f"{what} is missing")
    return minor_units(value.get("amount"), f"{what}.amount"), value["currency"]


def read(delivery: Delivery) -> Event:
    payload = json_object(delivery)
    kind = payload.get("type")
    if kind in PAYMENTS:
        payment = _object(payload, "payment")
        if payment.get("status") != "COMPLETED":
            return Ignored(payment["id"], f"payment is {payment.get('status')}")
        # What the buyer paid, tip included, is what Square's total_money says.
        amount, currency = _money(
            payment.get("total_money") or payment.get("amount_money"), "total_money"
        )
        email, customer_id = payment.get("buyer_email_address"), payment.get("customer_id")
        return Sale(
            external_id=payment["id"],
            amount=amount,
            currency=currency,
            occurred_at=parse_time(payment.get("created_at"), "payment.created_at"),
            customer=Customer(
                email=email if isinstance(email, str) else None,
                ref=customer_id if isinstance(customer_id, str) else None,
            ),
            location=payment.get("location_id")
            if isinstance(payment.get("location_id"), str)
            else None,
            channel="online" if payment.get("source_type") == "EXTERNAL" else "counter",
        )
    if kind in REFUNDS:
        refund = _object(payload, "refund")
        if refund.get("status") != "COMPLETED":
            return Ignored(refund["id"], f"refund is {refund.get('status')}")
        payment_id = refund.get("payment_id")
        if not isinstance(payment_id, str):
            raise unmappable("refund.payment_id is missing")
        amount, _currency = _money(refund.get("amount_money"), "refund.amount_money")
        return Refund(
            external_id=refund["id"],
            sale_external_id=payment_id,
            amount=amount,
            occurred_at=parse_time(refund.get("created_at"), "refund.created_at"),
        )
    return Ignored(
        payload.get("event_id") if isinstance(payload.get("event_id"), str) else None,
        f"type {kind!r} is not used",
    )
