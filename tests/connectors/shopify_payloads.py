"""Shopify webhook bodies as Shopify's Admin REST reference documents them for webhooks of API
version 2025-01 (shopify.dev, webhooks topics orders/create, orders/paid, refunds/create: the
Order and Refund resources), with the headers Shopify sends (X-Shopify-Topic,
X-Shopify-Hmac-Sha256, X-Shopify-Shop-Domain, X-Shopify-Webhook-Id, X-Shopify-Triggered-At,
X-Shopify-API-Version). Only the fields a loyalty program reads, and a few around them; the
values are made up for the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SHOP_DOMAIN = "cafe-de-prueba.myshopify.com"
POS_LOCATION = 48752903


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def order(
    order_id: int,
    total: str,
    at: datetime,
    *,
    financial_status: str = "paid",
    source_name: str = "web",
    email: str | None = None,
    phone: str | None = None,
) -> dict[str, Any]:
    customer = None
    if email or phone:
        customer = {
            "id": 706405506930370084,
            "email": email,
            "phone": phone,
            "first_name": "Lucía",
            "last_name": "Prieto",
            "state": "enabled",
            "currency": "EUR",
        }
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "name": f"#{order_id % 10000}",
        "order_number": order_id % 10000,
        "email": email or "",
        "phone": phone,
        "created_at": _stamp(at),
        "processed_at": _stamp(at),
        "updated_at": _stamp(at),
        "currency": "EUR",
        "presentment_currency": "EUR",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "source_name": source_name,
        "location_id": POS_LOCATION if source_name == "pos" else None,
        "subtotal_price": total,
        "total_price": total,
        "current_total_price": total,
        "total_tax": "0.00",
        "taxes_included": True,
        "customer": customer,
        "line_items": [
            {
                "id": 466157049,
                "product_id": 632910392,
                "variant_id": 39072856,
                "title": "Café en grano 250 g",
                "sku": "CAFE-250",
                "quantity": 1,
                "price": total,
            }
        ],
    }


def refund(refund_id: int, order_id: int, amount: str, at: datetime) -> dict[str, Any]:
    return {
        "id": refund_id,
        "order_id": order_id,
        "created_at": _stamp(at),
        "processed_at": _stamp(at),
        "note": "Devolución en tienda",
        "restock": True,
        "refund_line_items": [],
        "transactions": [
            {
                "id": 179259969,
                "order_id": order_id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "amount": amount,
                "currency": "EUR",
                "created_at": _stamp(at),
            }
        ],
    }
