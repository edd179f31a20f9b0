"""WooCommerce's order webhooks (tests/connectors/woocommerce_payloads.py) posted to a running
server, signed as WooCommerce signs them: base64 HMAC-SHA256 of the raw body with the webhook's
secret, in X-WC-Webhook-Signature."""

from __future__ import annotations

import itertools
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx

from lealtad.connectors import woocommerce
from tests.connectors import woocommerce_payloads as wc
from tests.connectors.conftest import Till, envelope

SECRET = "wc-webhook-secret-5f3a9c"
_deliveries = itertools.count(1)


def post(
    till: Till,
    topic: str,
    payload: dict[str, Any],
    *,
    secret: str = SECRET,
    signed: bool = True,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    resource, _, event = topic.partition(".")
    headers = {
        "content-type": "application/json",
        "user-agent": "WooCommerce/9.4.2 Hookshot (WordPress/6.7)",
        "x-wc-webhook-source": wc.SITE,
        "x-wc-webhook-topic": topic,
        "x-wc-webhook-resource": resource,
        "x-wc-webhook-event": event,
        "x-wc-webhook-id": str(wc.WEBHOOK_ID),
        "x-wc-webhook-delivery-id": f"{next(_deliveries)}",
    }
    if signed:
        headers["x-wc-webhook-signature"] = woocommerce.sign(secret, body)
    return till.http.post(f"/hooks/woocommerce/{till.shop.slug}", content=body, headers=headers)


def _at(till: Till) -> datetime:
    return till.clock.now() - timedelta(minutes=3)


def test_an_order_earns_once_when_paid_in_whatever_order_the_deliveries_arrive(
    till: Till,
) -> None:
    till.connect("woocommerce", secret=SECRET)
    member = till.enrol("ines@example.com")
    email = {"email": "ines@example.com"}
    pending = wc.order(5001, "24.00", _at(till), status="pending", **email)
    processing = wc.order(5001, "24.00", _at(till), **email)
    completed = wc.order(5001, "24.00", _at(till), status="completed", **email)
    # The completion first, then the creation (still pending), then the payment, twice.
    outcomes = [
        post(till, "order.updated", completed).json()["outcome"],
        post(till, "order.created", pending).json()["outcome"],
        post(till, "order.updated", processing).json()["outcome"],
        post(till, "order.updated", processing).json()["outcome"],
    ]
    assert outcomes == ["recorded", "ignored", "duplicate", "duplicate"]
    assert till.points(member) == 24
    # An order created already paid earns on the creation alone; eight deliveries at once too.
    paid = wc.order(5002, "10.00", _at(till), **email)
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: post(till, "order.created", paid), range(8)))
    said = sorted(a.json()["outcome"] for a in answers)
    assert said == ["duplicate"] * 7 + ["recorded"], [a.text for a in answers]
    assert till.points(member) == 34


def test_a_refund_takes_back_in_proportion_once(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET)
    member = till.enrol("jorge@example.com")
    sale = wc.order(6001, "60.00", _at(till), email="jorge@example.com")
    assert post(till, "order.created", sale).json()["outcome"] == "recorded"
    assert till.points(member) == 60
    later = _at(till) + timedelta(minutes=1)
    partly = wc.order(
        6001,
        "60.00",
        _at(till),
        modified=later,
        email="jorge@example.com",
        refunds=[(71, "-15.00")],
    )
    first = post(till, "order.updated", partly)
    assert first.json()["outcome"] == "recorded", first.text
    assert post(till, "order.updated", partly).json()["outcome"] == "duplicate"
    assert till.points(member) == 45
    # The rest refunded: the order becomes "refunded" and lists both refunds.
    fully = wc.order(
        6001,
        "60.00",
        _at(till),
        status="refunded",
        modified=later,
        email="jorge@example.com",
        refunds=[(72, "-45.00"), (71, "-15.00")],
    )
    assert post(till, "order.updated", fully).json()["outcome"] == "recorded"
    assert till.points(member) == 0
    log = till.deliveries("woocommerce")
    assert [(d["outcome"], d["external_id"]) for d in log[:2]] == [
        ("duplicate", "71"),
        ("recorded", "72"),
    ]


def test_a_paid_and_refunded_order_first_seen_refunded_earns_and_gives_back(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET)
    member = till.enrol("karla@example.com")
    refunded = wc.order(
        6101,
        "30.00",
        _at(till),
        status="refunded",
        email="karla@example.com",
        refunds=[(81, "-10.00")],
    )
    assert post(till, "order.updated", refunded).json()["outcome"] == "recorded"
    assert till.points(member) == 20


def test_unsigned_forged_and_stale_deliveries_are_refused_and_logged(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET)
    member = till.enrol("lola@example.com")
    paid = wc.order(7001, "20.00", _at(till), email="lola@example.com")
    missing = post(till, "order.created", paid, signed=False)
    assert missing.status_code == 401
    assert envelope(missing) == "missing_signature"
    forged = post(till, "order.created", paid, secret="not-the-webhook-secret")
    assert forged.status_code == 401
    assert envelope(forged) == "bad_signature"
    # Signed, but last changed two days ago: a captured delivery sent again.
    old = wc.order(7001, "20.00", till.clock.now() - timedelta(days=2), email="lola@example.com")
    stale = post(till, "order.updated", old)
    assert stale.status_code == 400
    assert envelope(stale) == "stale_timestamp"
    assert till.points(member) == 0
    log = till.deliveries("woocommerce")
    assert [(d["outcome"], d["event"], d["error_code"]) for d in reversed(log)] == [
        ("refused", "order.created", "missing_signature"),
        ("refused", "order.created", "bad_signature"),
        ("refused", "order.updated", "stale_timestamp"),
    ]


def test_the_ping_on_saving_the_webhook_is_answered_and_records_nothing(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET)
    ping = till.http.post(
        f"/hooks/woocommerce/{till.shop.slug}",
        content=f"webhook_id={wc.WEBHOOK_ID}".encode(),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200
    assert ping.json()["outcome"] == "ignored"
    # Anything else unsigned is still refused.
    other = till.http.post(
        f"/hooks/woocommerce/{till.shop.slug}",
        content=b"webhook_id=17&total=99",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert other.status_code == 401


def test_an_unknown_customer_is_found_by_phone_enrolled_or_left_anonymous(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET, unknown_customer="enrol")
    by_phone = till.http.post(
        "/api/v1/members", json={"phone": "+34 600 333 444"}, headers=till.owner
    )
    assert by_phone.status_code == 201, by_phone.text
    known = post(till, "order.created", wc.order(8001, "7.00", _at(till), phone="+34600333444"))
    assert known.json()["purchase"]["member_id"] == by_phone.json()["id"]
    enrolled = post(
        till, "order.created", wc.order(8002, "7.00", _at(till), email="marta@example.com")
    )
    marta = till.member_by_email("marta@example.com")
    assert marta is not None
    assert enrolled.json()["purchase"]["member_id"] == marta["id"]
    till.connect("woocommerce", unknown_customer="anonymous")
    anonymous = post(
        till, "order.created", wc.order(8003, "7.00", _at(till), email="nico@example.com")
    )
    assert anonymous.json()["purchase"]["member_id"] is None
    assert till.member_by_email("nico@example.com") is None


def test_hostile_signed_orders_are_client_errors(till: Till) -> None:
    till.connect("woocommerce", secret=SECRET)
    at = _at(till)
    bad: list[Any] = [
        [],
        {"id": 1},
        wc.order(9001, "1e999999999", at),
        wc.order(9002, "-3.00", at),
        wc.order(9003, "1.005", at),
        wc.order(9004, "5.00", at) | {"currency": "ZZZ"},
        wc.order(9005, "5.00", at) | {"line_items": [{"quantity": 0}]},
        wc.order(9006, "5.00", at) | {"refunds": [{"id": 1, "total": "abc"}]},
        wc.order(9007, "5.00", at) | {"date_paid_gmt": "yesterday"},
        wc.order(9008, "5.00", at) | {"id": "x" * 95},
    ]
    for payload in bad:
        answer = post(till, "order.updated", payload)
        assert 400 <= answer.status_code < 500, answer.text
        envelope(answer)
