"""Purchases, refunds, pending and expiring points, adjustments: through the HTTP API."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger.maturity import settle
from lealtad.ledger.verify import verify
from tests.support import Shop, purchase_body


def _buy(client: TestClient, shop: Shop, **body):  # type: ignore[no-untyped-def]
    response = client.post("/api/v1/purchases", json=purchase_body(**body), headers=shop.auth())
    assert response.status_code == 201, response.text
    return response.json()


def _points(client: TestClient, shop: Shop, member: int) -> int:
    response = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth())
    assert response.status_code == 200, response.text
    return int(response.json()["points"])


def _set_program(
    client: TestClient,
    shop: Shop,
    points_per_unit: str = "1",
    rounding: str = "floor",
    points_expire_after_days: int | None = None,
    pending_days: int = 0,
) -> None:
    points = {"pending_days": pending_days}
    if points_expire_after_days:
        points |= {"expiry": "days", "expiry_days": points_expire_after_days}
    definition = {
        "points": points,
        "rules": [
            {
                "id": "base",
                "name": "Points per purchase",
                "action": {
                    "type": "points_per_unit",
                    "rate": points_per_unit,
                    "rounding": rounding,
                },
            }
        ],
    }
    body = {"definition": definition, "reason": "test set-up"}
    response = client.put("/api/v1/program", json=body, headers=shop.auth("manager"))
    assert response.status_code == 200, response.text


def _settle(db: Database, shop: Shop, clock: FixedClock) -> None:
    with db.transaction() as conn:
        settle(conn, shop.id, clock.now())


def test_a_member_purchase_earns_points_per_currency_unit_rounded_down(client, shop) -> None:
    answer = _buy(client, shop, amount=1299, member_id=shop.members[0])
    assert answer["awards"][0]["amount"] == 12
    assert answer["balances"]["points"] == 12
    history = client.get(f"/api/v1/members/{shop.members[0]}/history", headers=shop.auth()).json()
    assert history[0]["kind"] == "earn"
    assert answer["receipt_id"] in history[0]["reason"]
    assert history[0]["changes"] == {"points": 12}


def test_the_program_rounding_mode_and_rate_apply(client, shop) -> None:
    _set_program(client, shop, points_per_unit="2.5", rounding="half_up")
    assert _buy(client, shop, amount=1010, member_id=shop.members[0])["awards"][0]["amount"] == 25
    _set_program(client, shop, points_per_unit="1", rounding="ceil")
    assert _buy(client, shop, amount=1001, member_id=shop.members[0])["awards"][0]["amount"] == 11


def test_staff_cannot_change_the_program(client, shop) -> None:
    response = client.put(
        "/api/v1/program", json={"points_per_unit": "5"}, headers=shop.auth("staff")
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "role_required"


def test_an_anonymous_purchase_is_recorded_without_awards(client, shop) -> None:
    answer = _buy(client, shop, amount=500)
    assert answer["member_id"] is None
    assert answer["awards"] == []
    fetched = client.get(f"/api/v1/purchases/{answer['id']}", headers=shop.auth()).json()
    assert fetched["amount"] == 500


def test_a_purchase_finds_the_member_by_card_number_or_qr_token(client, shop) -> None:
    member = client.get(f"/api/v1/members/{shop.members[1]}", headers=shop.auth()).json()
    assert _buy(client, shop, card_number=member["card_number"])["member_id"] == member["id"]
    assert _buy(client, shop, qr_token=member["qr_token"])["member_id"] == member["id"]


def test_replaying_a_purchase_awards_once_and_returns_the_first_answer(client, shop) -> None:
    body = purchase_body(amount=2000, member_id=shop.members[0])
    first = client.post("/api/v1/purchases", json=body, headers=shop.auth())
    again = client.post("/api/v1/purchases", json=body, headers=shop.auth())
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert _points(client, shop, shop.members[0]) == 20


def test_the_same_receipt_with_a_different_payload_is_a_409(client, shop) -> None:
    body = purchase_body(amount=2000, member_id=shop.members[0])
    client.post("/api/v1/purchases", json=body, headers=shop.auth())
    response = client.post("/api/v1/purchases", json=body | {"amount": 9999}, headers=shop.auth())
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert _points(client, shop, shop.members[0]) == 20


def test_an_idempotency_key_header_guards_the_call_too(client, shop) -> None:
    headers = shop.auth() | {"Idempotency-Key": "pos-7-0001"}
    body = purchase_body(amount=700, member_id=shop.members[0])
    first = client.post("/api/v1/purchases", json=body, headers=headers)
    assert client.post("/api/v1/purchases", json=body, headers=headers).json() == first.json()
    other = client.post("/api/v1/purchases", json=purchase_body(amount=700), headers=headers)
    assert other.status_code == 409
    reused_receipt = client.post(
        "/api/v1/purchases", json=body, headers=shop.auth() | {"Idempotency-Key": "pos-7-0002"}
    )
    assert reused_receipt.status_code == 409
    assert reused_receipt.json()["error"]["code"] == "duplicate_receipt"


def test_partial_refunds_reverse_points_proportionally_and_add_up_to_the_whole(
    client, shop
) -> None:
    member = shop.members[0]
    bought = _buy(client, shop, amount=1000, member_id=member)
    receipt = bought["receipt_id"]
    first = client.post(
        "/api/v1/refunds",
        json={"refund_id": "F1", "receipt_id": receipt, "amount": 333},
        headers=shop.auth(),
    )
    assert first.status_code == 201, first.text
    assert first.json()["reversed"] == {"points": 3}
    rest = client.post(
        "/api/v1/refunds", json={"refund_id": "F2", "receipt_id": receipt}, headers=shop.auth()
    )
    assert rest.json()["amount"] == 667
    assert rest.json()["reversed"] == {"points": 7}
    assert _points(client, shop, member) == 0
    more = client.post(
        "/api/v1/refunds",
        json={"refund_id": "F3", "receipt_id": receipt, "amount": 1},
        headers=shop.auth(),
    )
    assert more.status_code == 422
    assert more.json()["error"]["code"] == "refund_exceeds_purchase"
    replay = client.post(
        "/api/v1/refunds",
        json={"refund_id": "F1", "receipt_id": receipt, "amount": 333},
        headers=shop.auth(),
    )
    assert replay.json() == first.json()


def test_a_refund_after_the_points_were_spent_never_takes_the_balance_below_zero(
    client, shop, db, clock
) -> None:
    member = shop.members[0]
    receipt = _buy(client, shop, amount=5000, member_id=member)["receipt_id"]
    spend = client.post(
        f"/api/v1/members/{member}/adjustments",
        json={"amount": -45, "reason": "gave away a mug"},
        headers=shop.auth("manager"),
    )
    assert spend.status_code == 201
    refund = client.post(
        "/api/v1/refunds", json={"refund_id": "F9", "receipt_id": receipt}, headers=shop.auth()
    ).json()
    assert refund["reversed"] == {"points": 5}
    assert refund["shortfall"] == {"points": 45}
    assert _points(client, shop, member) == 0
    with db.read() as conn:
        assert verify(conn, shop.id) == []


def test_pending_points_unlock_after_the_set_days_and_a_refund_takes_them_back_first(
    client, shop, db, clock
) -> None:
    _set_program(client, shop, points_per_unit="1", pending_days=7)
    member = shop.members[0]
    first = _buy(client, shop, amount=1000, member_id=member)
    assert first["awards"][0]["account"] == "points.pending"
    second = _buy(client, shop, amount=2000, member_id=member)
    balance = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()
    assert (balance["points"], balance["pending_points"]) == (0, 30)
    refund = client.post(
        "/api/v1/refunds",
        json={"refund_id": "P1", "receipt_id": first["receipt_id"]},
        headers=shop.auth(),
    ).json()
    assert refund["reversed"] == {"points.pending": 10}
    clock.at += timedelta(days=8)
    _settle(db, shop, clock)
    balance = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()
    assert (balance["points"], balance["pending_points"]) == (20, 0)
    assert second["awards"][0]["unlocks_at"] is not None
    kinds = [
        e["kind"]
        for e in client.get(f"/api/v1/members/{member}/history", headers=shop.auth()).json()
    ]
    assert kinds[0] == "unlock"


def test_points_expire_after_the_set_days_soonest_lots_first(client, shop, db, clock) -> None:
    _set_program(client, shop, points_per_unit="1", points_expire_after_days=30)
    member = shop.members[0]
    _buy(client, shop, amount=1000, member_id=member)
    clock.at += timedelta(days=20)
    _buy(client, shop, amount=2000, member_id=member)
    balance = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()
    assert balance["next_expiry_amount"] == 10
    spend = client.post(
        f"/api/v1/members/{member}/adjustments",
        json={"amount": -5, "reason": "correction"},
        headers=shop.auth(),
    )
    assert spend.status_code == 201
    clock.at += timedelta(days=11)
    _settle(db, shop, clock)
    # The spend took 5 from the older lot, so only its other 5 expire; the newer 20 remain.
    assert _points(client, shop, member) == 20
    history = client.get(f"/api/v1/members/{member}/history", headers=shop.auth()).json()
    assert history[0]["kind"] == "expire"
    assert history[0]["changes"] == {"points": -5}


def test_a_manager_adjustment_needs_a_reason_and_cannot_go_below_zero(client, shop) -> None:
    member = shop.members[0]
    url = f"/api/v1/members/{member}/adjustments"
    added = client.post(url, json={"amount": 50, "reason": "welcome gift"}, headers=shop.auth())
    assert added.status_code == 201
    assert added.json()["balances"]["points"] == 50
    assert client.post(url, json={"amount": 10}, headers=shop.auth()).status_code == 422
    assert (
        client.post(url, json={"amount": 0, "reason": "nothing"}, headers=shop.auth()).status_code
        == 422
    )
    too_much = client.post(url, json={"amount": -51, "reason": "too much"}, headers=shop.auth())
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    history = client.get(f"/api/v1/members/{member}/history", headers=shop.auth()).json()
    assert history[0]["reason"] == "welcome gift"
    assert history[0]["actor"].startswith("api_key:")


def test_a_currency_without_minor_units_earns_per_whole_unit(client, db, clock) -> None:
    from decimal import Decimal

    from lealtad.members import service as members
    from lealtad.members.schemas import MemberIn
    from lealtad.rules.definition import points_per_currency_unit
    from lealtad.tenancy import service as tenancy
    from lealtad.tenancy.model import Role

    with db.transaction() as conn:
        bid = tenancy.create_business(
            conn,
            name="Kissa",
            currency="JPY",
            timezone="Asia/Tokyo",
            locale="en",
            now=clock.now(),
            program=points_per_currency_unit(Decimal("0.01")),
        )
        _, key = tenancy.create_api_key(
            conn, bid, name="pos", role=Role.staff, location_id=None, now=clock.now()
        )
        member = members.enrol(conn, bid, MemberIn(name="K"), channel="api", now=clock.now())
    response = client.post(
        "/api/v1/purchases",
        json={"receipt_id": "J1", "amount": 1500, "currency": "JPY", "member_id": member},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.json()["awards"][0]["amount"] == 15
