"""Loyverse webhook bodies as the Loyverse API v1.0 reference documents them (developer.loyverse
.com/docs: "Webhooks" and the Receipt and Customer objects): a delivery `{merchant_id, type,
created_at, receipts | customers}`; a receipt with `receipt_number`, `receipt_type` SALE or
REFUND, `refund_for`, `receipt_date`, `cancelled_at`, `total_money` (a decimal number in the
merchant's currency), `customer_id`, `store_id`, `line_items` and `payments`; a customer with
`id`, `name`, `email`, `phone_number`. Only the fields a loyalty program reads, and a few around
them; the values are made up for the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

MERCHANT = "ac4e11b9-3358-4ea7-bf1b-341064d78f14"
STORE = "176cb35a-e21f-438a-96d8-99d1e0852a2e"
CUSTOMER = "49a9f354-376c-46d7-8ce2-2f7896a833db"


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def delivery(kind: str, at: datetime, records: list[dict[str, Any]]) -> dict[str, Any]:
    key = "receipts" if kind == "receipts.update" else "customers"
    return {"merchant_id": MERCHANT, "type": kind, "created_at": _stamp(at), key: records}


def receipt(
    number: str,
    total: float,
    at: datetime,
    *,
    kind: str = "SALE",
    refund_for: str | None = None,
    customer_id: str | None = None,
    cancelled: bool = False,
) -> dict[str, Any]:
    return {
        "receipt_number": number,
        "note": None,
        "receipt_type": kind,
        "refund_for": refund_for,
        "order": None,
        "created_at": _stamp(at),
        "updated_at": _stamp(at),
        "source": "point of sale",
        "receipt_date": _stamp(at),
        "cancelled_at": _stamp(at) if cancelled else None,
        "total_money": total,
        "total_tax": 0,
        "points_earned": 0,
        "points_deducted": 0,
        "points_balance": 0,
        "customer_id": customer_id,
        "total_discount": 0,
        "employee_id": "7b2c1c3e-5a0e-4a57-9d39-5b0b1f2a4e11",
        "store_id": STORE,
        "pos_device_id": "d1f0a2c4-88a1-4f55-b7e0-0a7c35d2b001",
        "dining_option": None,
        "tip": 0,
        "surcharge": 0,
        "line_items": [
            {
                "id": "9553152a-9dae-cbca-f6a3-2ab6d918516c",
                "item_id": "af70ed89-4b59-41d4-8a5d-62c802fc5a49",
                "variant_id": "0e3a7c1b-2f4d-4e6a-9b8c-1d2e3f405162",
                "item_name": "Café con leche",
                "variant_name": None,
                "sku": "10001",
                "quantity": 1,
                "price": total,
                "gross_total_money": total,
                "total_money": total,
                "cost": 0,
                "cost_total": 0,
                "line_note": None,
                "total_discount": 0,
            }
        ],
        "payments": [
            {
                "payment_type_id": "2ae7f7b2-22bf-468f-813c-70dd606a46eb",
                "name": "Card",
                "type": "NONINTEGRATEDCARD",
                "money_amount": total,
                "paid_at": _stamp(at),
                "payment_details": None,
            }
        ],
    }


def customer(
    customer_id: str, at: datetime, *, email: str | None = None, phone: str | None = None
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "name": "Paula Gil",
        "email": email,
        "phone_number": phone,
        "address": None,
        "city": None,
        "country_code": "ES",
        "customer_code": None,
        "note": None,
        "first_visit": _stamp(at),
        "last_visit": _stamp(at),
        "total_visits": 1,
        "total_spent": 0,
        "total_points": 0,
        "created_at": _stamp(at),
        "updated_at": _stamp(at),
    }
