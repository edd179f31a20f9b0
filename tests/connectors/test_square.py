"""Square's payment and refund notifications (tests/connectors/square_payloads.py) posted to a
running server, signed as Square signs them: base64 HMAC-SHA256 of the notification URL
followed by the raw body, in `x-square-hmacsha256-signature`."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import httpx

from lealtad.connectors import square
from tests.connectors import square_payloads as sq
from tests.connectors.conftest import PUBLIC, Till, envelope

KEY = "fE2Q3kX9s8VbN1pL0aZyWw"
_events = itertools.count(1)


def post(
    till: Till, payload: dict[str, Any], *, key: str = KEY, signed: bool = True
) -> httpx.Response:
    path = f"/hooks/square/{till.shop.slug}"
    body = json.dumps(payload).encode()
    headers = {"content-type": "application/json", "square-environment": "Production"}
    if signed:
        headers[square.HEADER] = square.sign(key, PUBLIC + path, body)
    return till.http.post(path, content=body, headers=headers)


def _payment(
    till: Till, kind: str, pid: str, status: str, amount: int, **kw: Any
) -> dict[str, Any]:
    at = till.clock.now() - timedelta(minutes=2)
    return sq.payment(kind, pid, status, amount, at, event_id=f"ev-{next(_events)}", **kw)


def _refund(till: Till, kind: str, rid: str, pid: str, status: str, amount: int) -> dict[str, Any]:
    at = till.clock.now() - timedelta(minutes=1)
    return sq.refund(kind, rid, pid, status, amount, at, event_id=f"ev-{next(_events)}")


def test_a_payment_earns_once_when_completed_in_whatever_order_it_arrives(till: Till) -> None:
    till.connect("square", secret=KEY)
    member = till.enrol("dani@example.com")
    email = {"email": "dani@example.com"}
    approved = _payment(till, "payment.created", "PAY1", "APPROVED", 3000, **email)
    completed = _payment(till, "payment.updated", "PAY1", "COMPLETED", 3000, **email)
    # The update first, then the creation, then the update again, twice.
    outcomes = [
        post(till, p).json()["outcome"] for p in (completed, approved, completed, completed)
    ]
    assert outcomes == ["recorded", "ignored", "duplicate", "duplicate"]
    assert till.points(member) == 30
    # A payment created already completed (a till sale) earns on the creation alone.
    other = _payment(till, "payment.created", "PAY2", "COMPLETED", 1000, **email)
    assert post(till, other).json()["outcome"] == "recorded"
    assert (
        post(till, _payment(till, "payment.updated", "PAY2", "COMPLETED", 1000, **email)).json()[
            "outcome"
        ]
        == "duplicate"
    )
    assert till.points(member) == 40


def test_a_refund_takes_back_in_proportion_once_it_is_completed(till: Till) -> None:
    till.connect("square", secret=KEY)
    member = till.enrol("eva@example.com")
    sale = _payment(till, "payment.updated", "PAY3", "COMPLETED", 5000, email="eva@example.com")
    assert post(till, sale).status_code == 200
    assert till.points(member) == 50
    pending = _refund(till, "refund.created", "RF3", "PAY3", "PENDING", 2000)
    assert post(till, pending).json()["outcome"] == "ignored"
    assert till.points(member) == 50
    done = _refund(till, "refund.updated", "RF3", "PAY3", "COMPLETED", 2000)
    for expected in ("recorded", "duplicate"):
        assert post(till, done).json()["outcome"] == expected
    assert till.points(member) == 30


def test_unsigned_forged_and_stale_notifications_are_refused_and_logged(till: Till) -> None:
    till.connect("square", secret=KEY)
    member = till.enrol("flor@example.com")
    sale = _payment(till, "payment.updated", "PAY4", "COMPLETED", 1000, email="flor@example.com")
    missing = post(till, sale, signed=False)
    assert missing.status_code == 401
    assert envelope(missing) == "missing_signature"
    forged = post(till, sale, key="another-signature-key")
    assert forged.status_code == 401
    assert envelope(forged) == "bad_signature"
    old = sq.payment(
        "payment.updated",
        "PAY4",
        "COMPLETED",
        1000,
        till.clock.now() - timedelta(hours=26),
        event_id="ev-old",
        email="flor@example.com",
    )
    stale = post(till, old)
    assert stale.status_code == 400
    assert envelope(stale) == "stale_timestamp"
    assert till.points(member) == 0
    log = till.deliveries("square")
    assert [(d["outcome"], d["error_code"]) for d in reversed(log)] == [
        ("refused", "missing_signature"),
        ("refused", "bad_signature"),
        ("refused", "stale_timestamp"),
    ]


def test_an_unknown_buyer_is_enrolled_or_left_anonymous_as_configured(till: Till) -> None:
    till.connect("square", secret=KEY, unknown_customer="enrol")
    enrolled = post(
        till, _payment(till, "payment.updated", "PAY5", "COMPLETED", 1500, email="gala@example.com")
    )
    member = till.member_by_email("gala@example.com")
    assert member is not None
    assert enrolled.json()["purchase"]["member_id"] == member["id"]
    assert till.points(member["id"]) == 15
    till.connect("square", unknown_customer="anonymous")
    anonymous = post(
        till, _payment(till, "payment.updated", "PAY6", "COMPLETED", 1500, email="hugo@example.com")
    )
    assert anonymous.json()["purchase"]["member_id"] is None
    assert till.member_by_email("hugo@example.com") is None
    # No e-mail at all: nothing to enrol with, whatever the setting.
    till.connect("square", unknown_customer="enrol")
    nameless = post(till, _payment(till, "payment.updated", "PAY7", "COMPLETED", 1500))
    assert nameless.json()["purchase"]["member_id"] is None


def test_a_square_location_is_mapped_to_the_business_location(till: Till) -> None:
    store_two = till.shop.locations[1]
    till.connect("square", secret=KEY, locations={sq.LOCATION: store_two})
    answer = post(till, _payment(till, "payment.updated", "PAY8", "COMPLETED", 700))
    assert answer.json()["purchase"]["location_id"] == store_two


def test_a_buyer_known_only_by_customer_id_is_found_once_a_payment_showed_their_email(
    till: Till,
) -> None:
    till.connect("square", secret=KEY)
    member = till.enrol("ines@example.com")
    customer = {"customer_id": "JDKYHBWT1D4F8MFH63DBMEN8Y4"}
    # Before any payment showed the id beside an e-mail, it names nobody.
    before = post(till, _payment(till, "payment.updated", "PAY9", "COMPLETED", 1000, **customer))
    assert before.json()["purchase"]["member_id"] is None
    both = _payment(
        till, "payment.updated", "PAY10", "COMPLETED", 2000, email="ines@example.com", **customer
    )
    assert post(till, both).json()["purchase"]["member_id"] == member
    after = post(till, _payment(till, "payment.updated", "PAY11", "COMPLETED", 3000, **customer))
    assert after.json()["purchase"]["member_id"] == member
    assert till.points(member) == 50
