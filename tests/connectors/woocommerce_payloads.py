"""WooCommerce order webhook bodies as the WooCommerce REST API documents them (woocommerce.github.io
/woocommerce-rest-api-docs, REST API v3, "Order properties" and "Webhooks": the webhook's body is
the order as `GET /wp-json/wc/v3/orders/<id>` returns it; dates in the site's time and in GMT
without a zone, money as decimal text, refunds as `{id, reason, total}` with a negative total),
with the headers WooCommerce sends (X-WC-Webhook-Source, -Topic, -Resource, -Event, -Signature,
-ID, -Delivery-ID). Only the fields a loyalty program reads, and a few around them; the values
are made up for the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

SITE = "https://tienda-de-prueba.example/"
WEBHOOK_ID = 17


def _gmt(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S")


def order(
    order_id: int,
    total: str,
    at: datetime,
    *,
    status: str = "processing",
    modified: datetime | None = None,
    email: str = "",
    phone: str = "",
    refunds: list[tuple[int, str]] = (),  # type: ignore[assignment]
) -> dict[str, Any]:
    paid = status in ("processing", "completed", "refunded")
    return {
        "id": order_id,
        "parent_id": 0,
        "number": str(order_id),
        "order_key": f"wc_order_{order_id:010d}",
        "created_via": "checkout",
        "version": "9.4.2",
        "status": status,
        "currency": "EUR",
        "date_created": _gmt(at),
        "date_created_gmt": _gmt(at),
        "date_modified": _gmt(modified or at),
        "date_modified_gmt": _gmt(modified or at),
        "discount_total": "0.00",
        "shipping_total": "0.00",
        "total": total,
        "total_tax": "0.00",
        "prices_include_tax": True,
        "customer_id": 0,
        "billing": {
            "first_name": "Inés",
            "last_name": "Romero",
            "company": "",
            "address_1": "Calle Mayor 3",
            "city": "Zaragoza",
            "postcode": "50001",
            "country": "ES",
            "email": email,
            "phone": phone,
        },
        "payment_method": "stripe",
        "payment_method_title": "Tarjeta",
        "transaction_id": f"pi_{order_id}" if paid else "",
        "date_paid": _gmt(at) if paid else None,
        "date_paid_gmt": _gmt(at) if paid else None,
        "date_completed_gmt": _gmt(at) if status == "completed" else None,
        "line_items": [
            {
                "id": 315,
                "name": "Té verde 100 g",
                "product_id": 93,
                "variation_id": 0,
                "quantity": 2,
                "tax_class": "",
                "subtotal": total,
                "subtotal_tax": "0.00",
                "total": total,
                "total_tax": "0.00",
                "sku": "TE-100",
                "price": float(total) / 2,
            }
        ],
        "refunds": [{"id": rid, "reason": "", "total": amount} for rid, amount in refunds],
    }
