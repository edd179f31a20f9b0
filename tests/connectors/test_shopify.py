"""Shopify's order and refund webhooks (tests/connectors/shopify_payloads.py) posted to a
running server, signed as Shopify signs them: base64 HMAC-SHA256 of the raw body with the app's
client secret, in X-Shopify-Hmac-Sha256."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from lealtad.connectors import shopify
from lealtad.db.engine import Database
from lealtad.purchases.tables import purchases
from tests.connectors import shopify_payloads as sp
from tests.connectors.conftest import Till, envelope

SECRET = "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"
_deliveries = itertools.count(1)


def post(
    till: Till,
    topic: str,
    payload: dict[str, Any],
    *,
    secret: str = SECRET,
    signed: bool = True,
    triggered: datetime | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    at = triggered or till.clock.now() - timedelta(seconds=30)
    headers = {
        "content-type": "application/json",
        "x-shopify-topic": topic,
        "x-shopify-shop-domain": sp.SHOP_DOMAIN,
        "x-shopify-api-version": "2025-01",
        "x-shopify-webhook-id": f"b54557e4-{next(_deliveries):04d}",
        "x-shopify-triggered-at": at.isoformat(),
    }
    if signed:
        headers["x-shopify-hmac-sha256"] = shopify.sign(secret, body)
    return till.http.post(f"/hooks/shopify/{till.shop.slug}", content=body, headers=headers)


def _at(till: Till) -> datetime:
    return till.clock.now() - timedelta(minutes=3)


def test_an_order_earns_once_when_paid_in_whatever_order_the_topics_arrive(till: Till) -> None:
    till.connect("shopify", secret=SECRET)
    member = till.enrol("lucia@example.com")
    unpaid = sp.order(
        820982911946154508,
        "24.00",
        _at(till),
        financial_status="pending",
        email="lucia@example.com",
    )
    paid = sp.order(820982911946154508, "24.00", _at(till), email="lucia@example.com")
    outcomes = [
        post(till, "orders/create", unpaid).json()["outcome"],
        post(till, "orders/paid", paid).json()["outcome"],
        post(till, "orders/paid", paid).json()["outcome"],
    ]
    assert outcomes == ["ignored", "recorded", "duplicate"]
    assert till.points(member) == 24
    # A POS sale comes created already paid; its orders/paid may come first or after.
    pos = sp.order(
        820982911946154509, "10.00", _at(till), source_name="pos", email="lucia@example.com"
    )
    first = post(till, "orders/paid", pos)
    assert first.json()["purchase"]["member_id"] == member
    assert post(till, "orders/create", pos).json()["outcome"] == "duplicate"
    assert till.points(member) == 34


def test_pos_and_online_orders_are_told_apart(till: Till, db: Database) -> None:
    store_two = till.shop.locations[1]
    till.connect("shopify", secret=SECRET, locations={str(sp.POS_LOCATION): store_two})
    pos = post(till, "orders/paid", sp.order(1001, "5.00", _at(till), source_name="pos"))
    web = post(till, "orders/paid", sp.order(1002, "5.00", _at(till), source_name="web"))
    assert pos.json()["purchase"]["location_id"] == store_two
    ids = {pos.json()["purchase"]["id"]: "counter", web.json()["purchase"]["id"]: "online"}
    with db.read() as conn:
        query = select(purchases.c.id, purchases.c.channel).where(purchases.c.id.in_(ids))
        assert dict(conn.execute(query).all()) == ids


def test_a_refund_takes_back_in_proportion_once(till: Till) -> None:
    till.connect("shopify", secret=SECRET)
    member = till.enrol("mario@example.com")
    assert (
        post(
            till, "orders/paid", sp.order(2001, "60.00", _at(till), email="mario@example.com")
        ).status_code
        == 200
    )
    assert till.points(member) == 60
    refund = sp.refund(509562969, 2001, "15.00", _at(till) + timedelta(minutes=1))
    assert [post(till, "refunds/create", refund).json()["outcome"] for _ in range(2)] == [
        "recorded",
        "duplicate",
    ]
    assert till.points(member) == 45


def test_unsigned_forged_and_stale_deliveries_are_refused_and_logged(till: Till) -> None:
    till.connect("shopify", secret=SECRET)
    paid = sp.order(3001, "20.00", _at(till), email="nora@example.com")
    missing = post(till, "orders/paid", paid, signed=False)
    assert missing.status_code == 401
    assert envelope(missing) == "missing_signature"
    forged = post(till, "orders/paid", paid, secret="shpss_not-the-apps-secret")
    assert forged.status_code == 401
    assert envelope(forged) == "bad_signature"
    stale = post(till, "orders/paid", paid, triggered=till.clock.now() - timedelta(hours=6))
    assert stale.status_code == 400
    assert envelope(stale) == "stale_timestamp"
    log = till.deliveries("shopify")
    assert [(d["outcome"], d["event"], d["error_code"]) for d in reversed(log)] == [
        ("refused", "orders/paid", "missing_signature"),
        ("refused", "orders/paid", "bad_signature"),
        ("refused", "orders/paid", "stale_timestamp"),
    ]


def test_an_unknown_customer_is_found_by_phone_enrolled_or_left_anonymous(till: Till) -> None:
    till.connect("shopify", secret=SECRET, unknown_customer="enrol")
    by_phone = till.http.post(
        "/api/v1/members", json={"phone": "+34 600 111 222"}, headers=till.owner
    )
    assert by_phone.status_code == 201, by_phone.text
    known = post(till, "orders/paid", sp.order(4001, "7.00", _at(till), phone="+34600111222"))
    assert known.json()["purchase"]["member_id"] == by_phone.json()["id"]
    enrolled = post(
        till, "orders/paid", sp.order(4002, "7.00", _at(till), email="olga@example.com")
    )
    olga = till.member_by_email("olga@example.com")
    assert olga is not None
    assert enrolled.json()["purchase"]["member_id"] == olga["id"]
    till.connect("shopify", unknown_customer="anonymous")
    anonymous = post(
        till, "orders/paid", sp.order(4003, "7.00", _at(till), email="pablo@example.com")
    )
    assert anonymous.json()["purchase"]["member_id"] is None
    assert till.member_by_email("pablo@example.com") is None
