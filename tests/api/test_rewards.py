"""The rewards catalog, redemption to vouchers, validation at the counter, cancellation and
expiry, gifts, ratings, and paying with points: through the API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lealtad.events.jobs import run_daily
from lealtad.ledger import adjustments
from lealtad.ledger.verify import verify
from tests.conftest import SECRET
from tests.support import Shop, purchase_body


def reward(slug: str = "coffee", **fields: Any) -> dict[str, Any]:
    body = {
        "slug": slug,
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Café gratis", "en": "Free coffee"},
        "cost": 100,
    }
    return body | fields


def create(client: TestClient, shop: Shop, **fields: Any) -> dict[str, Any]:
    response = client.post("/api/v1/rewards", json=reward(**fields), headers=shop.auth("manager"))
    assert response.status_code == 201, response.text
    return response.json()


def grant(db, shop: Shop, member: int, points: int, clock) -> None:  # type: ignore[no-untyped-def]
    with db.transaction() as conn:
        adjustments.adjust(
            conn,
            shop.id,
            member,
            unit="points",
            amount=points,
            reason="test",
            actor="t",
            now=clock.now(),
        )


def redeem(client: TestClient, shop: Shop, member: int, reward_id: int):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/v1/members/{member}/redemptions",
        json={"reward_id": reward_id},
        headers=shop.auth("staff"),
    )


def points(client: TestClient, shop: Shop, member: int) -> int:
    return int(
        client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()["points"]
    )


def test_every_reward_kind_can_be_created_with_texts_in_both_languages(client, shop) -> None:
    kinds = {
        "discount_fixed": {"value": 500},
        "discount_percent": {"value": 10},
        "free_product": {"sku": "LAT"},
        "cashback_credit": {"value": 300},
        "physical_gift": {"stock": 5},
        "marketing_credit": {"value": 10000},
        "extended_warranty": {},
        "workshop_seat": {"stock": 12},
        "training_seat": {},
    }
    for kind, extra in kinds.items():
        made = create(client, shop, slug=kind.replace("_", "-"), kind=kind, **extra)
        assert made["kind"] == kind
    missing_es = client.post(
        "/api/v1/rewards", json=reward("x", title={"en": "Only English"}), headers=shop.auth()
    )
    assert missing_es.status_code == 422
    assert missing_es.json()["error"]["details"][0]["loc"][-1] == "es"
    staff = client.post("/api/v1/rewards", json=reward("y"), headers=shop.auth("staff"))
    assert staff.status_code == 403


def test_redeeming_spends_the_cost_and_issues_a_voucher_validated_only_once(
    client, shop, db, clock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 250, clock)
    made = create(client, shop, voucher_days=14)
    response = redeem(client, shop, member, made["id"])
    assert response.status_code == 201, response.text
    voucher = response.json()
    assert voucher["status"] == "issued"
    assert voucher["balances"]["points"] == 150
    assert len(voucher["code"]) == 11
    svg = client.get(f"/api/v1/vouchers/{voucher['code']}/qr.svg", headers=shop.auth())
    assert svg.headers["content-type"].startswith("image/svg+xml")
    used = client.post(
        f"/api/v1/vouchers/{voucher['code'].lower().replace('-', '')}/validate",
        json={"location_id": shop.locations[1]},
        headers=shop.auth("staff"),
    )
    assert used.status_code == 200, used.text
    assert used.json()["status"] == "used"
    again = client.post(
        f"/api/v1/vouchers/{voucher['code']}/validate", json={}, headers=shop.auth("staff")
    )
    assert again.status_code == 409
    error = again.json()["error"]
    assert error["code"] == "voucher_used"
    assert error["details"]["used_location_id"] == shop.locations[1]
    assert error["details"]["used_at"].startswith(clock.now().date().isoformat())


def test_a_balance_that_does_not_cover_the_cost_is_a_409_and_changes_nothing(
    client, shop, db, clock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 99, clock)
    made = create(client, shop, stock=3)
    response = redeem(client, shop, member, made["id"])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert points(client, shop, member) == 99
    assert client.get(f"/api/v1/rewards/{made['id']}", headers=shop.auth()).json()["stock"] == 3


def test_stock_and_per_member_limits_are_enforced(client, shop, db, clock) -> None:
    first, second = shop.members
    for member in shop.members:
        grant(db, shop, member, 1000, clock)
    limited = create(client, shop, stock=2, limit_per_member=1, limit_period="week")
    assert redeem(client, shop, first, limited["id"]).status_code == 201
    again = redeem(client, shop, first, limited["id"])
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "redemption_limit_reached"
    assert redeem(client, shop, second, limited["id"]).status_code == 201
    clock.at += timedelta(days=8)
    out = redeem(client, shop, first, limited["id"])
    assert out.status_code == 409
    assert out.json()["error"]["code"] == "out_of_stock"


def test_cancelling_an_unused_voucher_gives_back_its_cost_and_its_stock(
    client, shop, db, clock
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock)
    made = create(client, shop, stock=1)
    code = redeem(client, shop, member, made["id"]).json()["code"]
    cancelled = client.post(f"/api/v1/vouchers/{code}/cancel", headers=shop.auth("staff"))
    assert cancelled.json()["status"] == "cancelled"
    assert points(client, shop, member) == 100
    assert client.get(f"/api/v1/rewards/{made['id']}", headers=shop.auth()).json()["stock"] == 1
    assert client.post(f"/api/v1/vouchers/{code}/cancel", headers=shop.auth()).status_code == 409
    with db.read() as conn:
        assert verify(conn, shop.id) == []


def test_expired_vouchers_are_refunded_or_lapse_as_the_reward_says(
    client, shop, db, clock, settings
) -> None:
    member = shop.members[0]
    grant(db, shop, member, 300, clock)
    refunded = create(client, shop, slug="refunded", voucher_days=7, on_expiry="refund")
    lapsing = create(client, shop, slug="lapsing", voucher_days=7, on_expiry="lapse")
    a = redeem(client, shop, member, refunded["id"]).json()["code"]
    b = redeem(client, shop, member, lapsing["id"]).json()["code"]
    assert points(client, shop, member) == 100
    clock.at += timedelta(days=8)
    late = client.post(f"/api/v1/vouchers/{b}/validate", json={}, headers=shop.auth())
    assert late.json()["error"]["code"] == "voucher_expired"
    with db.transaction() as conn:
        done = run_daily(conn, shop.id, clock.now(), SECRET)
    assert done.vouchers_expired == 2
    assert client.get(f"/api/v1/vouchers/{a}", headers=shop.auth()).json()["status"] == "expired"
    assert client.get(f"/api/v1/vouchers/{b}", headers=shop.auth()).json()["status"] == "expired"
    # Only the refunding reward's cost came back.
    assert points(client, shop, member) == 200


def test_cashback_credit_and_donation_rewards_settle_at_once(client, shop, db, clock) -> None:
    member = shop.members[0]
    grant(db, shop, member, 500, clock)
    credit = create(client, shop, slug="credit", kind="cashback_credit", value=250, cost=200)
    voucher = redeem(client, shop, member, credit["id"]).json()
    assert voucher["status"] == "used"
    assert voucher["balances"]["cashback"] == 250
    assert voucher["balances"]["points"] == 300


def test_a_physical_gift_moves_from_ordered_to_delivered(client, shop, db, clock) -> None:
    member = shop.members[0]
    grant(db, shop, member, 100, clock)
    gift = create(client, shop, slug="mug", kind="physical_gift", stock=10)
    code = redeem(client, shop, member, gift["id"]).json()["code"]
    url = f"/api/v1/vouchers/{code}/fulfilment"
    assert (
        client.get(f"/api/v1/vouchers/{code}", headers=shop.auth()).json()["fulfilment"]
        == "ordered"
    )
    wrong = client.post(url, json={"fulfilment": "delivered"}, headers=shop.auth())
    assert wrong.json()["error"]["code"] == "fulfilment_order"
    assert (
        client.post(url, json={"fulfilment": "shipped"}, headers=shop.auth()).json()["fulfilment"]
        == "shipped"
    )
    done = client.post(url, json={"fulfilment": "delivered"}, headers=shop.auth()).json()
    assert (done["fulfilment"], done["status"]) == ("delivered", "used")


def test_a_tier_only_reward_shows_and_redeems_only_for_that_tier(client, shop, db, clock) -> None:
    member = shop.members[0]
    grant(db, shop, member, 1000, clock)
    gold = create(client, shop, slug="gold-gift", visible_tiers=["gold"])
    plain = create(client, shop, slug="plain")
    seen = {
        r["slug"]: r["affordable"]
        for r in client.get(f"/api/v1/members/{member}/rewards", headers=shop.auth()).json()
    }
    assert seen == {"plain": True}
    refused = redeem(client, shop, member, gold["id"])
    assert refused.json()["error"]["code"] == "reward_not_for_member"
    assert redeem(client, shop, member, plain["id"]).status_code == 201


def test_members_rate_what_they_redeemed_and_managers_moderate(client, shop, db, clock) -> None:
    first, second = shop.members
    grant(db, shop, first, 100, clock)
    made = create(client, shop)
    not_yet = client.post(
        f"/api/v1/members/{first}/ratings",
        json={"reward_id": made["id"], "stars": 5},
        headers=shop.auth(),
    )
    assert not_yet.json()["error"]["code"] == "not_redeemed"
    redeem(client, shop, first, made["id"])
    rated = client.post(
        f"/api/v1/members/{first}/ratings",
        json={"reward_id": made["id"], "stars": 4, "text": "rico"},
        headers=shop.auth(),
    )
    assert rated.status_code == 201, rated.text
    again = client.post(
        f"/api/v1/members/{first}/ratings",
        json={"reward_id": made["id"], "stars": 2},
        headers=shop.auth(),
    )
    assert again.json()["stars"] == 2
    catalog = client.get(f"/api/v1/rewards/{made['id']}", headers=shop.auth()).json()
    assert (catalog["rating_average"], catalog["rating_count"]) == (2.0, 1)
    bad = client.post(
        f"/api/v1/members/{second}/ratings",
        json={"reward_id": made["id"], "stars": 6},
        headers=shop.auth(),
    )
    assert bad.status_code == 422
    hidden = client.patch(
        f"/api/v1/ratings/{rated.json()['id']}", json={"hidden": True}, headers=shop.auth("manager")
    )
    assert hidden.json()["hidden"] is True
    assert (
        client.get(f"/api/v1/rewards/{made['id']}", headers=shop.auth()).json()["rating_count"] == 0
    )
    assert (
        client.get(f"/api/v1/rewards/{made['id']}/ratings", headers=shop.auth("staff")).json() == []
    )
    assert (
        client.patch(
            f"/api/v1/ratings/{rated.json()['id']}",
            json={"hidden": False},
            headers=shop.auth("staff"),
        ).status_code
        == 403
    )


def test_points_pay_at_the_till_within_the_program_limits(client, shop, db, clock) -> None:
    definition = {
        "points": {"value_per_point": "1", "pay_min_points": 100, "pay_max_points": 1000},
        "rules": [
            {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "1"}}
        ],
    }
    assert (
        client.put(
            "/api/v1/program", json={"definition": definition, "reason": "pay"}, headers=shop.auth()
        ).status_code
        == 200
    )
    member = shop.members[0]
    grant(db, shop, member, 2000, clock)

    def pay(points_used: int, amount: int = 5000):  # type: ignore[no-untyped-def]
        body = purchase_body(amount=amount, member_id=member, points_redeem=points_used)
        return client.post("/api/v1/purchases", json=body, headers=shop.auth())

    assert pay(50).json()["error"]["code"] == "below_points_minimum"
    assert pay(1500).json()["error"]["code"] == "above_points_maximum"
    assert pay(900, amount=800).json()["error"]["code"] == "points_exceed_amount"
    paid = pay(500)
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert (body["points_redeemed"], body["points_discount"]) == (500, 500)
    # 50.00 less 5.00 paid with points earns on 45.00.
    assert body["awards"][0]["amount"] == 45
    assert body["balances"]["points"] == 2000 - 500 + 45


def test_a_full_stamp_card_is_redeemed_for_its_free_drink_voucher(client, shop) -> None:
    template = client.get("/api/v1/program/templates/coffee-stamps", headers=shop.auth()).json()
    adopt = client.put(
        "/api/v1/program",
        json={"definition": template["definition"], "reason": "stamps"},
        headers=shop.auth(),
    )
    assert adopt.status_code == 200
    member = shop.members[0]
    items = [{"sku": "LAT", "category": "drinks", "quantity": 10, "unit_price": 290}]
    bought = client.post(
        "/api/v1/purchases",
        json=purchase_body(amount=2900, member_id=member, items=items),
        headers=shop.auth(),
    ).json()
    assert bought["balances"]["reward.free-drink"] == 1
    drink = create(client, shop, slug="free-drink", cost_unit="reward.free-drink", cost=1)
    voucher = redeem(client, shop, member, drink["id"])
    assert voucher.status_code == 201, voucher.text
    assert voucher.json()["balances"]["reward.free-drink"] == 0
    assert (
        redeem(client, shop, member, drink["id"]).json()["error"]["code"] == "insufficient_balance"
    )


def test_a_reused_receipt_paid_with_points_takes_no_points(client, shop, db, clock) -> None:
    """The receipt is checked by the purchase's own insert, after the points were taken: the
    409 must roll the payment back with everything else."""
    definition = {
        "points": {"value_per_point": "1", "pay_min_points": 100, "pay_max_points": 1000},
        "rules": [
            {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "1"}}
        ],
    }
    program = {"definition": definition, "reason": "pay"}
    assert client.put("/api/v1/program", json=program, headers=shop.auth()).status_code == 200
    member = shop.members[0]
    grant(db, shop, member, 2000, clock)
    body = purchase_body(amount=5000, member_id=member, points_redeem=500)
    first = client.post("/api/v1/purchases", json=body, headers=shop.auth())
    assert first.json()["balances"]["points"] == 2000 - 500 + 45
    again = client.post(
        "/api/v1/purchases", json=body, headers=shop.auth() | {"Idempotency-Key": "other-key"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_receipt"
    balances = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth())
    assert balances.json()["points"] == 2000 - 500 + 45
    with db.read() as conn:
        assert verify(conn, shop.id) == []
