"""Correctly signed but hostile or broken payloads never make a server error: each is answered
422 (or 409/400) with the error envelope and logged, on both databases."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lealtad.connectors import shopify
from tests.connectors.conftest import Till, envelope
from tests.connectors.test_standard import SECRET, post

HOSTILE: list[Any] = [
    [],
    "sale",
    {"type": "sale.completed"},
    {
        "type": "sale.completed",
        "data": {
            "id": "T\x00nul",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "x" * 95,
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-big",
            "amount": 10**30,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-cur",
            "amount": 1,
            "currency": "ZZZ",
            "occurred_at": "2026-03-02T10:00:00Z",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-old",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "0001-01-01T00:00:00+01:00",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-fut",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2099-01-01T00:00:00Z",
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-qty",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
            "items": [{"sku": "a", "unit_price": 1, "quantity": "NaN"}],
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-qt2",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
            "items": [{"sku": "a", "unit_price": 1, "quantity": "1e999999999"}],
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-cus",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
            "customer": {"email": "not-an-email", "phone": "x"},
        },
    },
    {
        "type": "sale.completed",
        "data": {
            "id": "T-loc",
            "amount": 1,
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:00:00Z",
            "location": ["a"],
        },
    },
    {"type": "sale.refunded", "data": {"id": "R\x00", "sale_id": "T-1"}},
    {"type": "sale.refunded", "data": {"id": "R-1", "sale_id": "T-none", "amount": 0}},
    {"type": "sale.refunded", "data": {"id": "R-2", "sale_id": "T-none", "occurred_at": 5}},
]


@pytest.mark.parametrize("payload", HOSTILE, ids=range(len(HOSTILE)))
def test_a_signed_hostile_payload_is_a_client_error_with_the_envelope(
    till: Till, payload: Any
) -> None:
    till.connect("standard", secret=SECRET, unknown_customer="enrol")
    answer = post(till, payload)
    assert 200 <= answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        envelope(answer)
        assert till.deliveries("standard")[0]["status_code"] == answer.status_code


def test_shopify_hostile_amounts_and_headers(till: Till) -> None:
    till.connect("shopify", secret="shpss_hostile")
    path = f"/hooks/shopify/{till.shop.slug}"
    orders = [
        {
            "id": 1,
            "financial_status": "paid",
            "currency": "EUR",
            "total_price": "1e999999999",
            "processed_at": "2026-03-02T10:00:00Z",
        },
        {
            "id": 2,
            "financial_status": "paid",
            "currency": "EUR",
            "total_price": "-3.00",
            "processed_at": "2026-03-02T10:00:00Z",
        },
        {
            "id": 3,
            "financial_status": "paid",
            "currency": "EUR",
            "total_price": "1.005",
            "processed_at": "2026-03-02T10:00:00Z",
        },
        {"id": 4, "financial_status": "paid", "currency": None, "total_price": "1.00"},
        {
            "id": 5,
            "financial_status": "paid",
            "currency": "EUR",
            "total_price": "1.00",
            "processed_at": "2026-03-02T10:00:00Z",
            "line_items": [{"quantity": 0}],
        },
    ]
    for order in orders:
        body = json.dumps(order).encode()
        headers = {
            "x-shopify-topic": "orders/paid",
            "x-shopify-hmac-sha256": shopify.sign("shpss_hostile", body),
            "x-shopify-triggered-at": till.clock.now().isoformat(),
        }
        answer = till.http.post(path, content=body, headers=headers)
        assert answer.status_code == 422, answer.text
        assert envelope(answer) == "unmappable_payload" or envelope(answer) == "invalid"
    bad_time = till.http.post(
        path,
        content=b"{}",
        headers={
            "x-shopify-topic": "orders/paid",
            "x-shopify-hmac-sha256": shopify.sign("shpss_hostile", b"{}"),
            "x-shopify-triggered-at": "yesterday",
        },
    )
    assert bad_time.status_code == 401
