"""The program forms real programs need, through the API on both databases: points per whole
currency unit, expiry N calendar months after earning, event rules counting a named property,
and the tier a purchase that crosses a threshold earns at."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.ledger.maturity import settle
from tests.api.test_program import adopt, balances, buy, put_program, rule
from tests.support import Shop


def points_rule(**action: Any) -> dict[str, Any]:
    return rule("base", {"type": "points_per_unit", "rate": "4", **action})


def test_four_points_per_whole_unit_give_92_for_23_99(client: TestClient, shop: Shop) -> None:
    member = shop.members[0]
    adopt(client, shop, {"rules": [points_rule()]})
    assert buy(client, shop, amount=2399, member_id=member)["awards"][0]["amount"] == 95
    adopt(client, shop, {"rules": [points_rule(per="whole_unit")]})
    answer = buy(client, shop, amount=2399, member_id=member)
    assert [(a["amount"], a["reason"]) for a in answer["awards"]] == [
        (92, "Base: 4 points per whole unit")
    ]
    assert buy(client, shop, amount=99, member_id=member)["awards"] == []  # no whole unit
    assert balances(client, shop, member)["points"] == 95 + 92
    stored = client.get("/api/v1/program", headers=shop.auth()).json()
    assert stored["definition"]["rules"][0]["action"]["per"] == "whole_unit"


def test_a_program_without_the_new_fields_reads_back_as_it_was_written(
    client: TestClient, shop: Shop
) -> None:
    definition = {
        "points": {"expiry": "days", "expiry_days": 730},
        "tiers": {"levels": [{"id": "all", "name": "All", "threshold": "0"}]},
        "rules": [points_rule()],
    }
    adopt(client, shop, definition)
    stored = client.get("/api/v1/program", headers=shop.auth()).json()["definition"]
    assert set(stored["rules"][0]["action"]) == {"type", "rate", "rounding", "per_item"}
    assert "expiry_months" not in stored["points"]
    assert "crossing_purchase_earns_at" not in stored["tiers"]


@pytest.fixture
def clock() -> FixedClock:
    """10 January 2024, 12:00 in Madrid (the test shops' zone)."""
    return FixedClock(datetime(2024, 1, 10, 11, 0, tzinfo=UTC))


def test_points_earned_on_2024_01_10_with_24_months_expire_on_2026_01_10(
    client: TestClient, shop: Shop, clock: FixedClock, db: Database
) -> None:
    member = shop.members[0]
    points = {"expiry": "months", "expiry_months": 24}
    adopt(client, shop, {"points": points, "rules": [rule("base", per_unit_one())]})
    award = buy(client, shop, amount=1000, member_id=member)["awards"][0]
    assert datetime.fromisoformat(award["expires_at"]) == datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
    clock.at = datetime(2026, 1, 10, 10, 59, tzinfo=UTC)
    with db.transaction() as conn:
        settle(conn, shop.id, clock.now())
    assert balances(client, shop, member)["points"] == 10
    clock.at = datetime(2026, 1, 10, 11, 0, tzinfo=UTC)
    with db.transaction() as conn:
        assert settle(conn, shop.id, clock.now()).expired_units == 10
    assert balances(client, shop, member)["points"] == 0


def test_months_end_expires_at_the_end_of_the_month_n_months_on(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    clock.at = datetime(2024, 1, 31, 11, 0, tzinfo=UTC)
    adopt(
        client,
        shop,
        {"points": {"expiry": "months", "expiry_months": 1}, "rules": [rule("b", per_unit_one())]},
    )
    award = buy(client, shop, amount=1000, member_id=shop.members[0])["awards"][0]
    # 31 January + 1 month is the last day of February, at the same local time.
    assert datetime.fromisoformat(award["expires_at"]) == datetime(2024, 2, 29, 11, 0, tzinfo=UTC)
    points = {"expiry": "months_end", "expiry_months": 24}
    adopt(client, shop, {"points": points, "rules": [rule("b", per_unit_one())]})
    award = buy(client, shop, amount=1000, member_id=shop.members[0])["awards"][0]
    end = datetime(2026, 1, 31, 22, 59, 59, 999999, tzinfo=UTC)  # 23:59:59.999999 in Madrid
    assert datetime.fromisoformat(award["expires_at"]) == end


def per_unit_one() -> dict[str, Any]:
    return {"type": "points_per_unit", "rate": "1"}


@pytest.mark.parametrize(
    ("points", "word"),
    [
        ({"expiry": "months"}, "expiry_months"),
        ({"expiry": "days", "expiry_days": 10, "expiry_months": 3}, "expiry_months"),
        ({"expiry": "months", "expiry_months": 0}, "greater than or equal to 1"),
    ],
)
def test_months_without_their_count_are_a_422(
    client: TestClient, shop: Shop, points: dict[str, Any], word: str
) -> None:
    response = put_program(client, shop, {"points": points})
    assert response.status_code == 422
    assert word in response.text


def _event(client: TestClient, shop: Shop, event_id: str, **extra: Any) -> Any:
    body = {"event_id": event_id, "name": "training_hours", "member_id": shop.members[0], **extra}
    return client.post("/api/v1/events", json=body, headers=shop.auth())


def test_an_event_rule_counts_a_named_property(client: TestClient, shop: Shop) -> None:
    training = rule(
        "training",
        {"type": "points_per_unit", "rate": "10", "event_property": "hours"},
        trigger="training_hours",
    )
    adopt(client, shop, {"rules": [training]})
    counted = _event(client, shop, "T-1", properties={"hours": 2.5})
    assert counted.status_code == 201, counted.text
    assert counted.json()["awards"][0]["amount"] == 25  # the value (1 by default) is not used
    as_text = _event(client, shop, "T-2", properties={"hours": "3"})
    assert as_text.json()["awards"][0]["amount"] == 30
    missing = _event(client, shop, "T-3", value="8", properties={"room": "B"})
    assert (missing.status_code, missing.json()["awards"]) == (201, [])
    for n, bad in enumerate(["lots", True, -1, None, [2], {"h": 2}, 1e12]):
        wrong = _event(client, shop, f"T-bad-{n}", properties={"hours": bad})
        assert wrong.status_code == 422, (bad, wrong.text)
        error = wrong.json()["error"]
        assert error["code"] == "invalid_event_property"
        assert "'hours'" in error["message"]
        assert "'training'" in error["message"]
    assert balances(client, shop, shop.members[0])["points"] == 55
    # A refused event left nothing behind: its id can be sent again, put right.
    again = _event(client, shop, "T-bad-0", properties={"hours": 1})
    assert (again.status_code, again.json()["awards"][0]["amount"]) == (201, 10)
    whole = {
        "type": "points_per_unit",
        "rate": "10",
        "event_property": "hours",
        "per": "whole_unit",
    }
    adopt(client, shop, {"rules": [rule("training", whole, trigger="training_hours")]})
    assert (
        _event(client, shop, "T-4", properties={"hours": 2.75}).json()["awards"][0]["amount"] == 20
    )


def test_a_purchase_rule_cannot_count_an_event_property(client: TestClient, shop: Shop) -> None:
    response = put_program(client, shop, {"rules": [points_rule(event_property="hours")]})
    assert response.status_code == 422
    assert "event_property is for event rules" in response.text


def _tiered(crossing: str | None, metric: str = "spend") -> dict[str, Any]:
    tiers: dict[str, Any] = {
        "metric": metric,
        "levels": [
            {"id": "silver", "name": "Silver", "threshold": "0"},
            {"id": "gold", "name": "Gold", "threshold": "5000", "multiplier": "2"},
        ],
    }
    if crossing is not None:
        tiers["crossing_purchase_earns_at"] = crossing
    gold_bonus = rule(
        "gold-bonus",
        {"type": "fixed_points", "points": 7},
        conditions={"tiers": ["gold"]},
    )
    return {"tiers": tiers, "rules": [rule("base", per_unit_one()), gold_bonus]}


# At gold every point of the purchase, the gold-only bonus included, is doubled.
def at_gold(spent: int) -> int:
    return 2 * (spent + 7)


def _earned(answer: dict[str, Any]) -> int:
    return sum(a["amount"] for a in answer["awards"] if a["unit"] == "points")


@pytest.mark.parametrize("crossing", [None, "previous_tier"])
def test_by_default_a_crossing_purchase_earns_at_the_tier_held_before(
    client: TestClient, shop: Shop, crossing: str | None
) -> None:
    member = shop.members[0]
    adopt(client, shop, _tiered(crossing))
    assert buy(client, shop, amount=1000, member_id=member)["tier"] == "silver"
    crossing_sale = buy(client, shop, amount=6000, member_id=member)
    assert (crossing_sale["tier"], crossing_sale["tier_changed"]) == ("gold", True)
    assert _earned(crossing_sale) == 60
    assert _earned(buy(client, shop, amount=1000, member_id=member)) == at_gold(10)


def test_a_crossing_purchase_can_earn_at_the_new_tier(client: TestClient, shop: Shop) -> None:
    member = shop.members[0]
    adopt(client, shop, _tiered("new_tier"))
    assert buy(client, shop, amount=1000, member_id=member)["tier"] == "silver"
    body = {"amount": 6000, "member_id": member, "receipt_id": "PREVIEW"}
    preview = client.post(
        "/api/v1/purchases/preview", json={**body, "currency": "EUR"}, headers=shop.auth()
    )
    assert preview.status_code == 200, preview.text
    assert _earned(preview.json()) == at_gold(60)
    crossing_sale = buy(client, shop, amount=6000, member_id=member)
    assert (crossing_sale["tier"], crossing_sale["tier_changed"]) == ("gold", True)
    assert _earned(crossing_sale) == at_gold(60)
    after = buy(client, shop, amount=1000, member_id=member)
    assert (_earned(after), after["tier_changed"]) == (at_gold(10), False)
    tier = client.get(f"/api/v1/members/{member}/tier", headers=shop.auth()).json()
    assert tier["tier"] == "gold"


def test_new_tier_for_a_crossing_purchase_needs_a_spend_or_visits_metric(
    client: TestClient, shop: Shop
) -> None:
    response = put_program(client, shop, _tiered("new_tier", metric="points_earned"))
    assert response.status_code == 422
    assert "needs the spend or visits metric" in response.text
    assert put_program(client, shop, _tiered("new_tier", metric="visits")).status_code == 200
    answer = buy(client, shop, amount=1000, member_id=shop.members[0])
    assert answer["tier"] == "silver"


def test_visits_tiers_earn_at_the_new_tier_on_the_visit_that_reaches_it(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    definition = _tiered("new_tier", metric="visits")
    definition["tiers"]["levels"][1]["threshold"] = "2"
    adopt(client, shop, definition)
    member = shop.members[0]
    assert _earned(buy(client, shop, amount=1000, member_id=member)) == 10
    clock.at = clock.at + timedelta(days=1)
    second = buy(client, shop, amount=1000, member_id=member)
    assert (second["tier"], _earned(second)) == ("gold", at_gold(10))


def test_the_published_schema_says_what_unit_each_threshold_and_expiry_is_in(
    client: TestClient,
) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    tier = next(v for k, v in schemas.items() if k.startswith("Tier") and "threshold" in str(v))
    assert "minor units" in tier["properties"]["threshold"]["description"]
    policy = next(v for k, v in schemas.items() if k.startswith("TierPolicy"))
    assert "previous_tier" in policy["properties"]["crossing_purchase_earns_at"]["description"]
    points = next(v for k, v in schemas.items() if k.startswith("PointsPolicy"))
    assert "2026-01-10" in points["properties"]["expiry"]["description"]
    per_unit = next(v for k, v in schemas.items() if k.startswith("PointsPerUnit"))
    assert "gives 92" in per_unit["properties"]["per"]["description"]
    assert "hours" in per_unit["properties"]["event_property"]["description"]
