"""Bad input over HTTP: every refusal is a 4xx with the error envelope, never a 500."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import Shop, purchase_body, refusal_code

PURCHASES = "/api/v1/purchases"
_receipts = itertools.count(1)


def assert_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert 400 <= resp.status_code < 500
    body = resp.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details"}
    assert isinstance(error["code"], str)
    assert isinstance(error["message"], str)
    assert error["message"]
    if code is not None:
        assert error["code"] == code
    return dict(error)


def post(client: TestClient, shop: Shop, url: str, body: Any) -> Any:
    return client.post(url, json=body, headers=shop.auth("staff"))


def without(key: str) -> dict[str, Any]:
    body = purchase_body()
    del body[key]
    return body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(without("receipt_id"), id="no-receipt"),
        pytest.param(without("amount"), id="no-amount"),
        pytest.param(without("currency"), id="no-currency"),
        pytest.param({}, id="empty-object"),
        pytest.param(purchase_body(amount="abc"), id="amount-text"),
        pytest.param(purchase_body(amount=12.5), id="amount-fraction"),
        pytest.param(purchase_body(amount=None), id="amount-null"),
        pytest.param(purchase_body(amount=-1), id="amount-negative"),
        pytest.param(purchase_body(amount=10**13), id="amount-huge"),
        pytest.param(purchase_body(amount=10**30), id="amount-enormous"),
        pytest.param(purchase_body(member_id="x"), id="member-text"),
        pytest.param(purchase_body(member_id=0), id="member-zero"),
        pytest.param(purchase_body(member_id=2**70), id="member-beyond-64-bits"),
        pytest.param(purchase_body(location_id=2**70), id="location-beyond-64-bits"),
        pytest.param(purchase_body(receipt_id=""), id="receipt-empty"),
        pytest.param(purchase_body(receipt_id="R" * 101), id="receipt-long"),
        pytest.param(purchase_body(receipt_id=7), id="receipt-number"),
        pytest.param(purchase_body(currency="EURO"), id="currency-long"),
        pytest.param(purchase_body(channel="fax"), id="channel-unknown"),
        pytest.param(purchase_body(occurred_at="yesterday"), id="occurred-text"),
        pytest.param(purchase_body(items=[{"sku": "A"}]), id="item-no-price"),
        pytest.param(purchase_body(items="lots"), id="items-text"),
        pytest.param(purchase_body(discount=10), id="extra-field"),
        pytest.param([purchase_body()], id="array"),
        pytest.param("receipt", id="string"),
        pytest.param(None, id="null"),
    ],
)
def test_a_purchase_with_missing_or_mistyped_fields_is_a_422(
    client: TestClient, shop: Shop, body: Any
) -> None:
    error = assert_error(post(client, shop, PURCHASES, body), 422, "invalid_request")
    assert error["details"]
    assert all({"loc", "type", "msg"} <= set(d) for d in error["details"])


def test_a_purchase_for_an_unknown_member_is_a_404(client: TestClient, shop: Shop) -> None:
    for who in ({"member_id": 2**62}, {"card_number": "0000000000"}, {"qr_token": "LT1-1-1-1-A"}):
        assert_error(post(client, shop, PURCHASES, purchase_body(**who)), 404, "member_not_found")


def test_a_purchase_for_a_member_of_another_business_is_a_404(
    client: TestClient, shop: Shop, other_shop: Shop
) -> None:
    body = purchase_body(member_id=other_shop.members[0])
    assert_error(post(client, shop, PURCHASES, body), 404, "member_not_found")


def test_a_purchase_in_an_unknown_or_foreign_currency_is_a_422(
    client: TestClient, shop: Shop
) -> None:
    for currency in ("XXQ", "ZZZ"):
        resp = post(client, shop, PURCHASES, purchase_body(currency=currency))
        assert_error(resp, 422, "unknown_currency")
    for currency in ("USD", "mxn"):
        resp = post(client, shop, PURCHASES, purchase_body(currency=currency))
        assert_error(resp, 422, "currency_mismatch")
    ok = post(client, shop, PURCHASES, purchase_body(currency="eur"))
    assert ok.status_code == 201, ok.text
    assert ok.json()["currency"] == "EUR"


@pytest.mark.parametrize(
    "raw",
    [b'{"receipt_id": "R-1", "amount": 10', b"{'receipt_id': 'R-1'}", b"\xff\xfe", b"{,}"],
)
def test_a_body_that_is_not_json_is_a_400(client: TestClient, shop: Shop, raw: bytes) -> None:
    headers = {**shop.auth("staff"), "Content-Type": "application/json"}
    assert_error(client.post(PURCHASES, content=raw, headers=headers), 400, "malformed_json")


def test_an_empty_body_is_a_422(client: TestClient, shop: Shop) -> None:
    for headers in (shop.auth("staff"), {**shop.auth("staff"), "Content-Type": "application/json"}):
        assert_error(client.post(PURCHASES, content=b"", headers=headers), 422, "invalid_request")


@pytest.mark.parametrize(
    "when", ["2026-03-03T10:30:00Z", "2026-03-02T10:36:00+00:00", "2199-12-31T23:59:59"]
)
def test_a_purchase_dated_in_the_future_is_a_422(client: TestClient, shop: Shop, when: str) -> None:
    resp = post(client, shop, PURCHASES, purchase_body(occurred_at=when))
    assert_error(resp, 422, "occurred_in_future")


@pytest.mark.parametrize(
    "when",
    [
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:00:00-05:00",
        # UTC, but year 0 in the business's local time (Madrid was UTC-0:14 then)
        "0001-01-01T00:00:00Z",
        "1899-12-31T23:59:59Z",
    ],
)
def test_a_date_at_the_edge_of_the_calendar_is_refused_not_a_500(
    client: TestClient, shop: Shop, when: str
) -> None:
    # Refused at the edge, before any time-zone arithmetic could overflow (kit/dates.py).
    resp = post(client, shop, PURCHASES, purchase_body(occurred_at=when))
    assert_error(resp, 422, "date_out_of_range")


@pytest.mark.parametrize("field", ["receipt_id", "card_number", "qr_token"])
def test_a_nul_byte_in_a_string_is_refused_not_a_500(
    client: TestClient, shop: Shop, field: str
) -> None:
    resp = post(client, shop, PURCHASES, purchase_body(**{field: "R-\x00-1"}))
    assert 400 <= resp.status_code < 500, resp.text
    assert_error(resp, resp.status_code, "invalid_request" if field == "receipt_id" else None)


def test_a_nul_byte_in_a_refund_id_is_refused(client: TestClient, shop: Shop) -> None:
    sale = purchase_body()
    assert post(client, shop, PURCHASES, sale).status_code == 201
    body = {"refund_id": "F-\x00", "receipt_id": sale["receipt_id"]}
    assert_error(post(client, shop, "/api/v1/refunds", body), 422, "invalid_request")


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/members", "staff_id"),
        ("/api/v1/members", "location_id"),
        ("/api/v1/public/{slug}/members", "location_id"),
    ],
)
def test_a_member_body_naming_an_id_beyond_64_bits_is_a_422(
    client: TestClient, shop: Shop, url: str, field: str
) -> None:
    body = {"name": "Big", "phone": "600123123", "accept_terms": True, field: 2**70}
    if "public" not in url:
        del body["accept_terms"]
    resp = post(client, shop, url.format(slug=shop.slug), body)
    assert_error(resp, 422, "invalid_request")


def test_a_refund_of_an_unknown_receipt_is_a_404(client: TestClient, shop: Shop) -> None:
    body = {"refund_id": "F-1", "receipt_id": "never-sold"}
    assert_error(post(client, shop, "/api/v1/refunds", body), 404, "purchase_not_found")


def test_a_refund_larger_than_the_purchase_or_of_zero_is_a_422(
    client: TestClient, shop: Shop
) -> None:
    sale = purchase_body(member_id=shop.members[0], amount=1000)
    assert post(client, shop, PURCHASES, sale).status_code == 201
    too_much = {"refund_id": "F-2", "receipt_id": sale["receipt_id"], "amount": 1001}
    error = assert_error(
        post(client, shop, "/api/v1/refunds", too_much), 422, "refund_exceeds_purchase"
    )
    assert error["details"] == {"refundable": 1000}
    for amount in (0, -5, "ten"):
        body = {"refund_id": "F-3", "receipt_id": sale["receipt_id"], "amount": amount}
        assert_error(post(client, shop, "/api/v1/refunds", body), 422, "invalid_request")
    whole = {"refund_id": "F-4", "receipt_id": sale["receipt_id"]}
    assert post(client, shop, "/api/v1/refunds", whole).status_code == 201
    again = {"refund_id": "F-5", "receipt_id": sale["receipt_id"], "amount": 1}
    assert_error(post(client, shop, "/api/v1/refunds", again), 422, "refund_exceeds_purchase")


@pytest.mark.parametrize(
    "member_id", ["0", "-1", "99999999999999999999999", "abc", "1.5", str(2**63)]
)
def test_a_path_id_that_cannot_be_an_id_is_a_4xx(
    client: TestClient, shop: Shop, member_id: str
) -> None:
    for suffix in ("", "/card.png", "/balance"):
        resp = client.get(f"/api/v1/members/{member_id}{suffix}", headers=shop.auth("staff"))
        assert_error(resp, 422, "invalid_request")


def test_the_largest_id_is_simply_not_found(client: TestClient, shop: Shop) -> None:
    resp = client.get(f"/api/v1/members/{2**63 - 1}", headers=shop.auth("staff"))
    assert_error(resp, 404, "member_not_found")


def test_an_unknown_route_is_a_404_and_a_wrong_method_a_405(client: TestClient, shop: Shop) -> None:
    assert_error(client.get("/api/v1/nowhere", headers=shop.auth("staff")), 404, "not_found")
    # An address outside the API is a person's: a page says it is not found (error_pages.py).
    page = client.get("/nowhere")
    assert page.status_code == 404
    assert refusal_code(page) == "not_found"
    resp = client.delete("/api/v1/members", headers=shop.auth("staff"))
    assert_error(resp, 405, "method_not_allowed")
    assert_error(client.put(PURCHASES, json=purchase_body()), 405, "method_not_allowed")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
PURCHASE_KEYS = ["receipt_id", "amount", "currency", "member_id", "card_number", "qr_token",
                 "location_id", "channel", "occurred_at", "items"]  # fmt: skip
MEMBER_KEYS = ["name", "email", "phone", "birthday", "locale", "tags", "consent",
               "location_id", "staff_id"]  # fmt: skip


def near(keys: list[str], base: dict[str, Any]) -> st.SearchStrategy[Any]:
    """A valid body with some fields swapped for random values, or any JSON value at all."""
    tweaks = st.dictionaries(st.sampled_from(keys), json_values, max_size=4)
    return json_values | tweaks.map(lambda t: {**base, **t})


FUZZ = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(body=near(PURCHASE_KEYS, {"receipt_id": "FUZZ", "amount": 500, "currency": "EUR"}))
def test_no_purchase_body_makes_a_5xx(client: TestClient, shop: Shop, body: Any) -> None:
    if isinstance(body, dict) and body.get("receipt_id") == "FUZZ":
        body["receipt_id"] = f"FUZZ-{next(_receipts)}"  # a fresh sale, not an idempotent replay
    resp = post(client, shop, PURCHASES, body)
    assert resp.status_code < 500, (body, resp.text)
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)


@FUZZ
@given(body=near(MEMBER_KEYS, {"name": "Fuzz"}))
def test_no_member_body_makes_a_5xx(client: TestClient, shop: Shop, body: Any) -> None:
    resp = post(client, shop, "/api/v1/members", body)
    assert resp.status_code < 500, (body, resp.text)
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)


EVENT_KEYS = [
    "event_id",
    "name",
    "member_id",
    "card_number",
    "email",
    "value",
    "properties",
    "occurred_at",
]
RULE_KEYS = ["id", "name", "trigger", "event", "conditions", "action", "award_to", "caps", "budget",
             "priority", "stacking", "stop_after", "active"]  # fmt: skip
_events = itertools.count(1)


@FUZZ
@given(body=near(EVENT_KEYS, {"event_id": "FUZZ", "name": "survey_answered", "member_id": 1}))
def test_no_event_body_makes_a_5xx(client: TestClient, shop: Shop, body: Any) -> None:
    if isinstance(body, dict) and body.get("event_id") == "FUZZ":
        body["event_id"] = f"FUZZ-{next(_events)}"
        if body.get("member_id") == 1:
            body["member_id"] = shop.members[0]
    resp = post(client, shop, "/api/v1/events", body)
    assert resp.status_code < 500, (body, resp.text)
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)


@FUZZ
@given(
    rule=near(RULE_KEYS, {"id": "r", "name": "R", "action": {"type": "fixed_points", "points": 5}}),
    extra=st.dictionaries(
        st.sampled_from(["points", "cashback", "tiers", "stamp_cards"]), json_values, max_size=2
    ),
)
def test_no_program_definition_makes_a_5xx(
    client: TestClient, shop: Shop, rule: Any, extra: Any
) -> None:
    body = {"definition": {"rules": [rule], **extra}, "reason": "fuzzing the rule format"}
    resp = client.put("/api/v1/program", json=body, headers=shop.auth("manager"))
    assert resp.status_code < 500, (body, resp.text)
    if resp.status_code >= 400:
        assert_error(resp, resp.status_code)
    else:
        bought = post(client, shop, PURCHASES, purchase_body(member_id=shop.members[0]))
        assert bought.status_code == 201, (body, bought.text)
