"""The generic signed webhook (Standard Webhooks v1 signatures; the body documented in
src/lealtad/connectors/standard.py) posted to a running server."""

from __future__ import annotations

import json
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from lealtad.connectors import standard
from tests.connectors.conftest import Till, envelope

SECRET = "whsec_" + "c2VjcmV0LWtleS1vZi10aGUtdGlsbC0xMjM0NTY3OA=="
HOOK = "/hooks/standard/{slug}"


def _sale(sale_id: str, amount: int, **data: Any) -> dict[str, Any]:
    body = {
        "id": sale_id,
        "amount": amount,
        "currency": "EUR",
        "occurred_at": "2026-03-02T10:00:00Z",
    }
    return {"type": "sale.completed", "data": body | data}


def post(
    till: Till,
    payload: dict[str, Any],
    *,
    message_id: str | None = None,
    age: int = 0,
    secret: str = SECRET,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    body = json.dumps(payload).encode()
    stamp = int(till.clock.now().timestamp()) - age
    msg = message_id or f"msg_{random.randrange(10**12)}"
    sent = {
        "content-type": "application/json",
        "webhook-id": msg,
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard.sign(secret, msg, stamp, body),
    }
    if headers is not None:
        sent = {k: v for k, v in sent.items() if k == "content-type"} | headers
    return till.http.post(HOOK.format(slug=till.shop.slug), content=body, headers=sent)


def test_a_sale_earns_once_however_many_times_it_is_delivered(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    member = till.enrol("ana@example.com")
    payload = _sale("T-1", 1250, customer={"email": "Ana@Example.com"})
    before = till.points(member)
    first = post(till, payload, message_id="msg_1")
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "recorded"
    earned = till.points(member) - before
    assert earned > 0
    # The same message retried, and the same sale sent again as a new message.
    for again in (
        post(till, payload, message_id="msg_1"),
        post(till, payload),
        post(till, payload),
    ):
        assert again.status_code == 200, again.text
        assert again.json()["outcome"] == "duplicate"
    assert till.points(member) - before == earned
    outcomes = [d["outcome"] for d in till.deliveries("standard")]
    assert outcomes == ["duplicate", "duplicate", "duplicate", "recorded"]


def test_a_refund_takes_back_in_proportion_once(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    member = till.enrol("bea@example.com")
    sale = post(till, _sale("T-2", 4000, customer={"email": "bea@example.com"}))
    assert sale.status_code == 200, sale.text
    earned = till.points(member)
    assert earned == 40
    refund = {"type": "sale.refunded", "data": {"id": "RF-1", "sale_id": "T-2", "amount": 1000}}
    for _ in range(2):
        answer = post(till, refund)
        assert answer.status_code == 200, answer.text
    assert till.points(member) == 30  # a quarter of the money back, a quarter of the points
    rest = post(till, {"type": "sale.refunded", "data": {"id": "RF-2", "sale_id": "T-2"}})
    assert rest.status_code == 200, rest.text
    assert till.points(member) == 0


def test_a_refund_of_a_sale_not_yet_recorded_is_refused_so_the_till_retries(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    refund = {"type": "sale.refunded", "data": {"id": "RF-9", "sale_id": "T-later", "amount": 100}}
    answer = post(till, refund)
    assert answer.status_code == 409
    assert envelope(answer) == "sale_not_recorded"
    assert post(till, _sale("T-later", 500)).status_code == 200
    assert post(till, refund).json()["outcome"] == "recorded"


def test_missing_wrong_and_stale_signatures_are_refused_and_logged(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    member = till.enrol("carla@example.com")
    payload = _sale("T-3", 1000, customer={"email": "carla@example.com"})
    missing = post(till, payload, headers={})
    assert missing.status_code == 401
    assert envelope(missing) == "missing_signature"
    other = "whsec_" + "b3RoZXItc2VjcmV0LW9mLWFub3RoZXItdGlsbC0xMjM="
    wrong = post(till, payload, secret=other)
    assert wrong.status_code == 401
    assert envelope(wrong) == "bad_signature"
    stale = post(till, payload, age=6 * 60)
    assert stale.status_code == 400
    assert envelope(stale) == "stale_timestamp"
    assert post(till, payload, age=4 * 60).status_code == 200  # within the five minutes
    assert till.points(member) == 10
    log = till.deliveries("standard")
    assert [(d["outcome"], d["status_code"], d["error_code"]) for d in reversed(log)] == [
        ("refused", 401, "missing_signature"),
        ("refused", 401, "bad_signature"),
        ("refused", 400, "stale_timestamp"),
        ("recorded", 200, None),
    ]


def test_an_unknown_customer_is_enrolled_when_the_business_asks(till: Till) -> None:
    till.connect("standard", secret=SECRET, unknown_customer="enrol")
    answer = post(till, _sale("T-4", 2500, customer={"email": "nuevo@example.com"}))
    assert answer.status_code == 200, answer.text
    member = till.member_by_email("nuevo@example.com")
    assert member is not None
    assert member["enrolment_channel"] == "connector"
    assert answer.json()["purchase"]["member_id"] == member["id"]
    assert till.points(member["id"]) == 25


def test_an_unknown_customer_is_left_anonymous_when_the_business_asks(till: Till) -> None:
    till.connect("standard", secret=SECRET, unknown_customer="anonymous")
    answer = post(till, _sale("T-5", 2500, customer={"email": "anon@example.com"}))
    assert answer.status_code == 200, answer.text
    assert answer.json()["purchase"]["member_id"] is None
    assert till.member_by_email("anon@example.com") is None


def test_a_payload_that_cannot_be_mapped_is_a_422_and_logged(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    for payload in (
        {"type": "sale.completed", "data": {"id": "T-6", "amount": -5, "currency": "EUR"}},
        {"type": "sale.completed", "data": "nope"},
        _sale("T-7", 100, items=[{"sku": "x", "unit_price": "free"}]),
    ):
        answer = post(till, payload)
        assert answer.status_code == 422, answer.text
        assert envelope(answer) == "unmappable_payload"
    wrong_currency = post(till, _sale("T-8", 100, currency="USD"))
    assert wrong_currency.status_code == 422
    assert envelope(wrong_currency) == "currency_mismatch"
    assert {d["outcome"] for d in till.deliveries("standard")} == {"failed"}


def test_a_business_without_the_connector_answers_404(till: Till) -> None:
    answer = post(till, _sale("T-9", 100))
    assert answer.status_code == 404
    assert envelope(answer) == "connector_not_found"
    unknown = till.http.post(f"/hooks/nosuch/{till.shop.slug}", content=b"{}")
    assert unknown.status_code == 404
    assert envelope(unknown) == "connector_not_found"


def test_the_same_sale_delivered_many_times_at_once_earns_once(till: Till) -> None:
    till.connect("standard", secret=SECRET)
    member = till.enrol("rafa@example.com")
    payload = _sale("T-many", 3300, customer={"email": "rafa@example.com"})
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: post(till, payload), range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text[:200] for a in answers]
    assert sorted(a.json()["outcome"] for a in answers) == ["duplicate"] * 7 + ["recorded"]
    assert till.points(member) == 33
