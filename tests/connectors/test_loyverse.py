"""Loyverse's receipt and customer webhooks (tests/connectors/loyverse_payloads.py) posted to a
running server at the address the business registers, which carries the connector's secret as
`?token=` (Loyverse signs no webhook a business makes with its own access token; D74)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from lealtad.connectors.tables import connector_customers
from lealtad.db.engine import Database
from tests.connectors import loyverse_payloads as lv
from tests.connectors.conftest import Till, envelope

SECRET = "lv-9f2c6e1a4b7d3058e2a1c4f6b8d0"


def post(
    till: Till, payload: Any, *, token: str | None = SECRET, raw: bytes | None = None
) -> httpx.Response:
    path = f"/hooks/loyverse/{till.shop.slug}"
    params = {"token": token} if token is not None else {}
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = {"content-type": "application/json"}
    return till.http.post(path, content=body, params=params, headers=headers)


def _at(till: Till) -> datetime:
    return till.clock.now() - timedelta(minutes=2)


def receipts(till: Till, *records: dict[str, Any]) -> dict[str, Any]:
    return lv.delivery("receipts.update", _at(till), list(records))


def customers(till: Till, *records: dict[str, Any]) -> dict[str, Any]:
    return lv.delivery("customers.update", _at(till), list(records))


def test_a_receipt_earns_once_however_many_times_and_in_whatever_batch_it_comes(
    till: Till,
) -> None:
    till.connect("loyverse", secret=SECRET)
    member = till.enrol("paula@example.com")
    linked = post(
        till, customers(till, lv.customer(lv.CUSTOMER, _at(till), email="paula@example.com"))
    )
    assert linked.json()["outcome"] == "linked", linked.text
    first = lv.receipt("1-1001", 12.5, _at(till), customer_id=lv.CUSTOMER)
    second = lv.receipt("1-1002", 7, _at(till), customer_id=lv.CUSTOMER)
    answer = post(till, receipts(till, first))
    assert answer.json()["outcome"] == "recorded", answer.text
    assert answer.json()["purchase"]["member_id"] == member
    assert answer.json()["purchase"]["amount"] == 1250
    # Sent again, alone and beside a new receipt, and six times at once.
    assert post(till, receipts(till, first)).json()["outcome"] == "duplicate"
    both = post(till, receipts(till, second, first)).json()
    assert [r["outcome"] for r in both["results"]] == ["recorded", "duplicate"]
    third = receipts(till, lv.receipt("1-1003", 3, _at(till), customer_id=lv.CUSTOMER))
    with ThreadPoolExecutor(6) as pool:
        said = sorted(pool.map(lambda _: post(till, third).json()["outcome"], range(6)))
    assert said == ["duplicate"] * 5 + ["recorded"]
    assert till.points(member) == 12 + 7 + 3


def test_a_refund_receipt_takes_back_in_proportion_and_a_voided_one_whole(till: Till) -> None:
    till.connect("loyverse", secret=SECRET)
    member = till.enrol("quique@example.com")
    post(till, customers(till, lv.customer("c-quique", _at(till), email="quique@example.com")))
    sale = lv.receipt("2-2001", 40, _at(till), customer_id="c-quique")
    refund = lv.receipt("2-2002", 10, _at(till), kind="REFUND", refund_for="2-2001")
    # The refund before its sale: 409, so that Loyverse's next delivery applies it.
    early = post(till, receipts(till, refund))
    assert early.status_code == 409
    assert envelope(early) == "sale_not_recorded"
    assert post(till, receipts(till, sale)).json()["outcome"] == "recorded"
    assert till.points(member) == 40
    assert [post(till, receipts(till, refund)).json()["outcome"] for _ in range(2)] == [
        "recorded",
        "duplicate",
    ]
    assert till.points(member) == 30
    # A sale and its refund in one delivery, the refund listed first.
    pair = receipts(
        till,
        lv.receipt("2-2005", 10, _at(till), kind="REFUND", refund_for="2-2004"),
        lv.receipt("2-2004", 20, _at(till), customer_id="c-quique"),
    )
    assert post(till, pair).json()["outcome"] == "recorded"
    assert till.points(member) == 40
    other = lv.receipt("2-2003", 20, _at(till), customer_id="c-quique")
    assert post(till, receipts(till, other)).json()["outcome"] == "recorded"
    assert till.points(member) == 60
    voided = lv.receipt("2-2003", 20, _at(till), customer_id="c-quique", cancelled=True)
    assert post(till, receipts(till, voided)).json()["outcome"] == "recorded"
    assert post(till, receipts(till, voided)).json()["outcome"] == "duplicate"
    assert till.points(member) == 40


def test_a_missing_or_wrong_token_and_a_stale_delivery_are_refused_and_logged(
    till: Till,
) -> None:
    till.connect("loyverse", secret=SECRET)
    payload = receipts(till, lv.receipt("3-3001", 10, _at(till)))
    missing = post(till, payload, token=None)
    assert missing.status_code == 401
    assert envelope(missing) == "missing_signature"
    wrong = post(till, payload, token=SECRET[:-1] + "x")
    assert wrong.status_code == 401
    assert envelope(wrong) == "bad_signature"
    old = lv.delivery(
        "receipts.update",
        till.clock.now() - timedelta(hours=30),
        [lv.receipt("3-3001", 10, _at(till))],
    )
    stale = post(till, old)
    assert stale.status_code == 400
    assert envelope(stale) == "stale_timestamp"
    log = till.deliveries("loyverse")
    assert [(d["outcome"], d["event"], d["error_code"]) for d in reversed(log)] == [
        ("refused", "receipts.update", "missing_signature"),
        ("refused", "receipts.update", "bad_signature"),
        ("refused", "receipts.update", "stale_timestamp"),
    ]


def test_an_unknown_customer_is_enrolled_or_left_anonymous_as_configured(till: Till) -> None:
    till.connect("loyverse", secret=SECRET, unknown_customer="enrol")
    by_phone = till.http.post(
        "/api/v1/members", json={"phone": "+34 600 555 666"}, headers=till.owner
    )
    assert by_phone.status_code == 201, by_phone.text
    post(
        till,
        customers(
            till,
            lv.customer("c-rosa", _at(till), phone="+34600555666"),
            lv.customer("c-sara", _at(till), email="sara@example.com"),
        ),
    )
    sara = till.member_by_email("sara@example.com")
    assert sara is not None
    rosa_sale = post(till, receipts(till, lv.receipt("4-4001", 5, _at(till), customer_id="c-rosa")))
    assert rosa_sale.json()["purchase"]["member_id"] == by_phone.json()["id"]
    sara_sale = post(till, receipts(till, lv.receipt("4-4002", 5, _at(till), customer_id="c-sara")))
    assert sara_sale.json()["purchase"]["member_id"] == sara["id"]
    # A customer never seen: the receipt counts, without a member.
    stranger = post(till, receipts(till, lv.receipt("4-4003", 5, _at(till), customer_id="c-x")))
    assert stranger.json()["purchase"]["member_id"] is None
    till.connect("loyverse", unknown_customer="anonymous")
    tomas = post(
        till, customers(till, lv.customer("c-tomas", _at(till), email="tomas@example.com"))
    )
    assert tomas.json()["outcome"] == "ignored"
    assert till.member_by_email("tomas@example.com") is None
    later = post(till, receipts(till, lv.receipt("4-4004", 5, _at(till), customer_id="c-tomas")))
    assert later.json()["purchase"]["member_id"] is None


def test_a_store_is_mapped_and_a_short_secret_is_refused(till: Till) -> None:
    answer = till.http.put(
        "/api/v1/connectors/loyverse", json={"secret": "short-secret"}, headers=till.owner
    )
    assert answer.status_code == 422
    assert envelope(answer) == "secret_too_short"
    store_two = till.shop.locations[1]
    till.connect("loyverse", secret=SECRET, locations={lv.STORE: store_two})
    sale = post(till, receipts(till, lv.receipt("5-5001", 8, _at(till))))
    assert sale.json()["purchase"]["location_id"] == store_two


def test_hostile_deliveries_with_the_right_token_are_client_errors(till: Till) -> None:
    till.connect("loyverse", secret=SECRET)
    at = _at(till)
    bad: list[Any] = [
        [],
        {"type": "receipts.update"},
        receipts(till, {"receipt_number": "x"}),
        receipts(till, lv.receipt("6-1", 10, at) | {"total_money": "NaN"}),
        receipts(till, lv.receipt("6-2", 10, at) | {"total_money": 1e300}),
        receipts(till, lv.receipt("6-3", 10.005, at)),
        receipts(till, lv.receipt("6-4", 10, at) | {"receipt_number": "x" * 95}),
        receipts(till, lv.receipt("6-5", 10, at, kind="REFUND")),
        receipts(till, lv.receipt("6-6", 10, at) | {"line_items": [{"quantity": -1}]}),
        receipts(till, *[lv.receipt(f"6-7-{i}", 1, at) for i in range(101)]),
        customers(till, {"name": "sin id"}),
        lv.delivery("receipts.update", at, []) | {"created_at": "ayer"},
    ]
    for payload in bad:
        answer = post(till, payload)
        assert 400 <= answer.status_code < 500, answer.text
        envelope(answer)
    assert post(till, None, raw=b"\xff\xfe").status_code == 422
    empty = post(till, lv.delivery("receipts.update", at, []))
    assert empty.json()["outcome"] == "ignored"


def test_a_link_to_a_member_erased_since_names_nobody(till: Till, db: Database) -> None:
    till.connect("loyverse", secret=SECRET)
    member = till.enrol("ursula@example.com")
    post(till, customers(till, lv.customer("c-ursula", _at(till), email="ursula@example.com")))
    shop = connector_customers.c.business_id == till.shop.id
    with db.read() as conn:
        assert conn.execute(
            select(connector_customers.c.member_id).where(shop)
        ).scalars().all() == [member]
    erased = till.http.post(f"/api/v1/members/{member}/erasure", headers=till.owner)
    assert erased.status_code == 200, erased.text
    with db.read() as conn:  # the erasure forgets Loyverse's id of the member
        assert (
            conn.execute(select(connector_customers.c.member_id).where(shop)).scalars().all() == []
        )
    sale = post(till, receipts(till, lv.receipt("7-7001", 5, _at(till), customer_id="c-ursula")))
    assert sale.status_code == 200, sale.text
    assert sale.json()["purchase"]["member_id"] is None
