"""Square notifications as Square's Webhooks reference documents them (developer.squareup.com,
reference/square/webhooks: payment.created, payment.updated, refund.created, refund.updated;
payloads of Square API version 2025-01-23): an event envelope (merchant_id, type, event_id,
created_at, data.type, data.id, data.object) around the Payment or PaymentRefund object.
Ids follow Square's shapes; the values are made up for the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MERCHANT = "ML82H4QPKMGXY"
LOCATION = "L88917AVBK2S5"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def payment(
    event_type: str,
    payment_id: str,
    status: str,
    amount: int,
    at: datetime,
    *,
    event_id: str,
    email: str | None = None,
    customer_id: str | None = None,
    currency: str = "EUR",
) -> dict[str, Any]:
    money = {"amount": amount, "currency": currency}
    body: dict[str, Any] = {
        "id": payment_id,
        "created_at": _stamp(at),
        "updated_at": _stamp(at),
        "amount_money": money,
        "total_money": money,
        "approved_money": money,
        "status": status,
        "source_type": "CARD",
        "card_details": {
            "status": "CAPTURED" if status == "COMPLETED" else "AUTHORIZED",
            "card": {"card_brand": "VISA", "last_4": "1111", "exp_month": 11, "exp_year": 2028},
            "entry_method": "KEYED",
        },
        "location_id": LOCATION,
        "order_id": "CAISENgvhpdP05f1DWG9H8yMn4kZY",
        "receipt_number": payment_id[:4],
        "version_token": "zpCBiO0YgSg5cCEqjUxHQGEuZA9SJBdp1WwI",
    }
    if email is not None:
        body["buyer_email_address"] = email
    if customer_id is not None:  # a buyer saved in the seller's Square customer directory
        body["customer_id"] = customer_id
    return {
        "merchant_id": MERCHANT,
        "type": event_type,
        "event_id": event_id,
        "created_at": _stamp(at),
        "data": {"type": "payment", "id": payment_id, "object": {"payment": body}},
    }


def refund(
    event_type: str,
    refund_id: str,
    payment_id: str,
    status: str,
    amount: int,
    at: datetime,
    *,
    event_id: str,
) -> dict[str, Any]:
    body = {
        "id": refund_id,
        "status": status,
        "amount_money": {"amount": amount, "currency": "EUR"},
        "payment_id": payment_id,
        "order_id": "CAISENgvhpdP05f1DWG9H8yMn4kZY",
        "location_id": LOCATION,
        "created_at": _stamp(at),
        "updated_at": _stamp(at),
        "reason": "Returned item",
    }
    return {
        "merchant_id": MERCHANT,
        "type": event_type,
        "event_id": event_id,
        "created_at": _stamp(at),
        "data": {"type": "refund", "id": refund_id, "object": {"refund": body}},
    }
