"""The program through the API: versions and their log, preview, events, caps, budgets,
cashback, referrals, tier floors, and why each award was given."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.comms.tables import outbox
from tests.support import Shop, purchase_body


def rule(rule_id: str, action: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"id": rule_id, "name": rule_id.title(), "action": action, **extra}


def per_unit(rate: str = "1") -> dict[str, Any]:
    return {"type": "points_per_unit", "rate": rate}


def put_program(client: TestClient, shop: Shop, definition: dict[str, Any], **extra: Any):  # type: ignore[no-untyped-def]
    body = {"definition": definition, "reason": "test change", **extra}
    return client.put("/api/v1/program", json=body, headers=shop.auth("manager"))


def adopt(client: TestClient, shop: Shop, definition: dict[str, Any]) -> None:
    response = put_program(client, shop, definition)
    assert response.status_code == 200, response.text


def buy(client: TestClient, shop: Shop, **body: Any) -> dict[str, Any]:
    response = client.post("/api/v1/purchases", json=purchase_body(**body), headers=shop.auth())
    assert response.status_code == 201, response.text
    return response.json()


def balances(client: TestClient, shop: Shop, member: int) -> dict[str, int]:
    return client.get(f"/api/v1/members/{member}", headers=shop.auth()).json()["balances"]


def test_an_invalid_rule_is_a_422_naming_the_field_and_the_reason(client, shop) -> None:
    bad = {"rules": [rule("base", {"type": "points_per_unit", "rate": "-1"})]}
    response = put_program(client, shop, bad)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    where = error["details"][0]
    assert where["loc"][:4] == ["body", "definition", "rules", 0]
    assert "rate" in where["loc"]
    assert "greater than 0" in where["msg"]
    unknown_card = {"rules": [rule("s", {"type": "stamps", "card": "nope"})]}
    response = put_program(client, shop, unknown_card)
    assert response.status_code == 422
    assert "no stamp card 'nope'" in response.json()["error"]["details"][0]["msg"]


def test_every_change_is_a_version_with_author_reason_and_diff(client, shop, db) -> None:
    adopt(client, shop, {"rules": [rule("base", per_unit("2"))]})
    versions = client.get("/api/v1/program/versions", headers=shop.auth()).json()
    assert [v["version"] for v in versions] == [2, 1]
    latest = versions[0]
    assert latest["author"].startswith("api_key:")
    assert latest["reason"] == "test change"
    assert {
        "path": "rules.base.action.rate",
        "change": "changed",
        "before": "1",
        "after": "2",
    } in latest["changes"]
    again = put_program(client, shop, {"rules": [rule("base", per_unit("2"))]})
    assert again.status_code == 422
    assert again.json()["error"]["code"] == "program_unchanged"
    with db.read() as conn:
        topics = conn.execute(
            select(outbox.c.topic, outbox.c.payload).where(outbox.c.business_id == shop.id)
        ).all()
    changed = [payload for topic, payload in topics if topic == "program.changed"]
    assert changed
    assert changed[-1]["version"] == 2


def test_a_purchase_is_evaluated_with_the_version_in_force_when_it_happened(
    client, shop, clock
) -> None:
    start = clock.now()
    later = start + timedelta(days=7)
    response = put_program(
        client, shop, {"rules": [rule("base", per_unit("5"))]}, effective_from=later.isoformat()
    )
    assert response.status_code == 200, response.text
    member = shop.members[0]
    assert buy(client, shop, amount=1000, member_id=member)["awards"][0]["amount"] == 10
    clock.at = later + timedelta(hours=1)
    assert buy(client, shop, amount=1000, member_id=member)["awards"][0]["amount"] == 50
    # A till that was offline reports a sale from before the change: the old rate applies.
    old = buy(
        client,
        shop,
        amount=1000,
        member_id=member,
        occurred_at=(later - timedelta(days=1)).isoformat(),
    )
    assert old["awards"][0]["amount"] == 10
    past = put_program(
        client, shop, {"rules": [rule("base", per_unit("7"))]}, effective_from=start.isoformat()
    )
    assert past.status_code == 422
    assert past.json()["error"]["code"] == "effective_in_past"


def test_preview_says_what_a_purchase_would_earn_and_writes_nothing(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "rules": [
                rule("base", per_unit("1")),
                rule(
                    "big", {"type": "fixed_points", "points": 50}, conditions={"min_amount": 5000}
                ),
            ]
        },
    )
    member = shop.members[0]
    body = purchase_body(amount=6000, member_id=member)
    preview = client.post("/api/v1/purchases/preview", json=body, headers=shop.auth())
    assert preview.status_code == 200, preview.text
    awards = {a["rule_id"]: a["amount"] for a in preview.json()["awards"]}
    assert awards == {"base": 60, "big": 50}
    assert balances(client, shop, member)["points"] == 0
    recorded = client.post("/api/v1/purchases", json=body, headers=shop.auth())
    assert recorded.status_code == 201, "the preview must not have used the receipt"


def test_each_award_says_which_rule_gave_it_and_why(client, shop) -> None:
    adopt(client, shop, {"rules": [rule("base", per_unit("1"))]})
    bought = buy(client, shop, amount=1234, member_id=shop.members[0])
    fetched = client.get(f"/api/v1/purchases/{bought['id']}", headers=shop.auth()).json()
    assert fetched["awards"][0]["rule_id"] == "base"
    assert "Base" in fetched["awards"][0]["reason"]
    history = client.get(f"/api/v1/members/{shop.members[0]}/history", headers=shop.auth()).json()
    assert "Base" in history[0]["reason"]


def test_events_earn_by_their_rules_once_per_event_id(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "rules": [
                rule("training", per_unit("100"), trigger="training_hours"),
                rule(
                    "app",
                    {"type": "fixed_points", "points": 25},
                    trigger="custom",
                    event="app.download",
                ),
            ]
        },
    )
    member = shop.members[0]
    body = {"event_id": "T-1", "name": "training_hours", "member_id": member, "value": "2.5"}
    first = client.post("/api/v1/events", json=body, headers=shop.auth())
    assert first.status_code == 201, first.text
    assert first.json()["awards"][0]["amount"] == 250
    assert client.post("/api/v1/events", json=body, headers=shop.auth()).json() == first.json()
    custom = client.post(
        "/api/v1/events",
        json={"event_id": "A-1", "name": "app.download", "member_id": member},
        headers=shop.auth(),
    )
    assert custom.json()["awards"][0]["amount"] == 25
    other = client.post(
        "/api/v1/events",
        json={"event_id": "A-2", "name": "app.rating", "member_id": member},
        headers=shop.auth(),
    )
    assert other.status_code == 201
    assert other.json()["awards"] == []
    reserved = client.post(
        "/api/v1/events",
        json={"event_id": "P-1", "name": "purchase", "member_id": member},
        headers=shop.auth(),
    )
    assert reserved.status_code == 422
    assert balances(client, shop, member)["points"] == 275


def test_a_daily_cap_trims_the_award_and_resets_the_next_day(client, shop, clock) -> None:
    adopt(
        client,
        shop,
        {
            "rules": [
                rule(
                    "visit",
                    {"type": "fixed_points", "points": 30},
                    caps=[{"period": "day", "max_units": 50}],
                )
            ]
        },
    )
    member = shop.members[0]
    got = [buy(client, shop, amount=100, member_id=member)["awards"] for _ in range(3)]
    assert [sum(a["amount"] for a in awards) for awards in got] == [30, 20, 0]
    clock.at += timedelta(days=1)
    assert buy(client, shop, amount=100, member_id=member)["awards"][0]["amount"] == 30


def test_a_rule_budget_is_shared_by_all_members_and_never_overspent(client, shop) -> None:
    adopt(
        client,
        shop,
        {"rules": [rule("launch", {"type": "fixed_points", "points": 40}, budget=100)]},
    )
    first, second = shop.members
    amounts = [
        sum(a["amount"] for a in buy(client, shop, amount=100, member_id=m)["awards"])
        for m in (first, second, first, second)
    ]
    assert amounts == [40, 40, 20, 0]


def test_cashback_is_earned_and_spent_as_a_discount_with_a_minimum(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "cashback": {"redemption_minimum": 500},
            "rules": [
                rule("back", {"type": "cashback_percent", "percent": "10"}),
                rule("base", per_unit("1")),
            ],
        },
    )
    member = shop.members[0]
    assert buy(client, shop, amount=10000, member_id=member)["balances"]["cashback"] == 1000
    too_little = client.post(
        "/api/v1/purchases",
        json=purchase_body(amount=2000, member_id=member, cashback_redeem=100),
        headers=shop.auth(),
    )
    assert too_little.status_code == 422
    assert too_little.json()["error"]["code"] == "below_redemption_minimum"
    too_much = client.post(
        "/api/v1/purchases",
        json=purchase_body(amount=5000, member_id=member, cashback_redeem=2000),
        headers=shop.auth(),
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"]["code"] == "insufficient_balance"
    paid = buy(client, shop, amount=3000, member_id=member, cashback_redeem=600)
    # Earning counts only what the member paid in money: 30.00 - 6.00 = 24.00.
    assert {a["rule_id"]: a["amount"] for a in paid["awards"]} == {"back": 240, "base": 24}
    assert paid["balances"]["cashback"] == 1000 - 600 + 240


def test_a_referral_rewards_both_friends_on_the_first_purchase_only(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "rules": [
                rule("base", per_unit("1")),
                rule(
                    "friends",
                    {"type": "fixed_points", "points": 100},
                    trigger="referral",
                    award_to="both",
                    conditions={"referral_on": "first_purchase"},
                ),
                rule(
                    "joined",
                    {"type": "fixed_points", "points": 10},
                    trigger="referral",
                    award_to="referrer",
                    conditions={"referral_on": "signup"},
                ),
            ]
        },
    )
    referrer = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    friend = client.post(
        "/api/v1/members",
        json={"name": "Friend", "referral_code": referrer["referral_code"]},
        headers=shop.auth(),
    )
    assert friend.status_code == 201, friend.text
    friend_id = friend.json()["id"]
    assert friend.json()["referred_by_member_id"] == referrer["id"]
    assert balances(client, shop, referrer["id"])["points"] == 10
    buy(client, shop, amount=1000, member_id=friend_id)
    buy(client, shop, amount=1000, member_id=friend_id)
    assert balances(client, shop, friend_id)["points"] == 10 + 100 + 10
    assert balances(client, shop, referrer["id"])["points"] == 10 + 100
    unknown = client.post(
        "/api/v1/members", json={"name": "X", "referral_code": "NOPE2345"}, headers=shop.auth()
    )
    assert unknown.status_code == 404


def test_a_manager_sets_a_tier_floor_the_member_never_drops_below(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "tiers": {
                "metric": "spend",
                "levels": [
                    {"id": "silver", "name": "Silver", "threshold": "0"},
                    {"id": "gold", "name": "Gold", "threshold": "100000", "multiplier": "2"},
                ],
            },
            "rules": [rule("base", per_unit("1"))],
        },
    )
    member = shop.members[0]
    assert buy(client, shop, amount=1000, member_id=member)["tier"] == "silver"
    staff_try = client.put(
        f"/api/v1/members/{member}/tier-floor", json={"tier": "gold"}, headers=shop.auth("staff")
    )
    assert staff_try.status_code == 403
    unknown = client.put(
        f"/api/v1/members/{member}/tier-floor", json={"tier": "platinum"}, headers=shop.auth()
    )
    assert unknown.status_code == 422
    floor = client.put(
        f"/api/v1/members/{member}/tier-floor", json={"tier": "gold"}, headers=shop.auth()
    )
    assert floor.status_code == 200, floor.text
    assert floor.json()["tier"] == "gold"
    # Gold's 2x multiplier applies at once.
    assert (
        sum(a["amount"] for a in buy(client, shop, amount=1000, member_id=member)["awards"]) == 20
    )
    tier = client.get(f"/api/v1/members/{member}/tier", headers=shop.auth()).json()
    assert (tier["floor"], tier["next_tier"]) == ("gold", None)


def test_tier_progress_shows_what_is_left_to_the_next_tier(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "tiers": {
                "metric": "visits",
                "levels": [
                    {"id": "regular", "name": "Regular", "threshold": "1"},
                    {"id": "vip", "name": "VIP", "threshold": "5", "perks": ["free refill"]},
                ],
            },
            "rules": [rule("base", per_unit("1"))],
        },
    )
    member = shop.members[0]
    for _ in range(3):
        buy(client, shop, amount=500, member_id=member)
    tier = client.get(f"/api/v1/members/{member}/tier", headers=shop.auth()).json()
    assert (tier["tier"], tier["next_tier"], tier["remaining"]) == ("regular", "vip", "2")
    buy(client, shop, amount=500, member_id=member)
    upgraded = buy(client, shop, amount=500, member_id=member)
    assert (upgraded["tier"], upgraded["tier_changed"]) == ("vip", True)
    assert client.get(f"/api/v1/members/{member}/tier", headers=shop.auth()).json()["perks"] == [
        "free refill"
    ]


def test_the_templates_are_listed_and_adoptable(client, shop) -> None:
    listed = client.get("/api/v1/program/templates", headers=shop.auth()).json()
    assert {t["name"] for t in listed} >= {"coffee-stamps", "trade-b2b"}
    assert all(t["title"]["es"] and t["title"]["en"] for t in listed)
    template = client.get("/api/v1/program/templates/coffee-stamps", headers=shop.auth()).json()
    adopt(client, shop, template["definition"])
    member = shop.members[0]
    items = [{"sku": "LAT", "category": "drinks", "quantity": 11, "unit_price": 290}]
    bought = buy(client, shop, amount=3190, member_id=member, items=items)
    assert bought["balances"]["stamps.coffee"] == 1
    assert bought["balances"]["reward.free-drink"] == 1
    assert bought["cards_completed"][0]["card"] == "coffee"
    assert client.get("/api/v1/program/templates/nope", headers=shop.auth()).status_code == 404


def test_a_multiplier_is_cut_with_the_capped_points_it_multiplies(client, shop) -> None:
    adopt(
        client,
        shop,
        {
            "rules": [
                rule(
                    "visit",
                    {"type": "fixed_points", "points": 30},
                    caps=[{"period": "day", "max_units": 50}],
                ),
                rule("double", {"type": "multiplier", "factor": "2"}),
            ]
        },
    )
    member = shop.members[0]
    first = {
        a["rule_id"]: a["amount"] for a in buy(client, shop, amount=100, member_id=member)["awards"]
    }
    second = {
        a["rule_id"]: a["amount"] for a in buy(client, shop, amount=100, member_id=member)["awards"]
    }
    assert first == {"visit": 30, "double": 30}
    # Only 20 of the 30 fit under the cap; the 2x bonus is on those 20, not on 30.
    assert second == {"visit": 20, "double": 20}


def test_an_effective_date_out_of_range_is_a_422(client, shop) -> None:
    definition = {"rules": [rule("base", per_unit("2"))]}
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-05:00"):
        response = put_program(client, shop, definition, effective_from=when)
        assert response.status_code == 422, response.text


def test_the_balance_lists_stamp_cards_and_rewards_by_name(client, shop) -> None:
    template = client.get("/api/v1/program/templates/coffee-stamps", headers=shop.auth()).json()
    adopt(client, shop, template["definition"])
    member = shop.members[0]
    items = [{"sku": "LAT", "category": "drinks", "quantity": 12, "unit_price": 290}]
    buy(client, shop, amount=3480, member_id=member, items=items)
    balance = client.get(f"/api/v1/members/{member}/balance", headers=shop.auth()).json()
    assert (balance["stamps"], balance["rewards"]) == ({"coffee": 2}, {"free-drink": 1})
