"""The member page shows the member's segment, visits, spend and predicted value."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import update

from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.rules.definition import ProgramDefinition, Tier, TierPolicy
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit
from tests.support import Shop, admin_login, make_shop


def test_the_member_page_shows_segment_and_predicted_value_in_both_languages(
    client, db: Database, shop: Shop
) -> None:
    member = shop.members[0]
    admin_login(client, shop)
    page = client.get(f"/admin/members/{member}?lang=en").text
    assert "Customer value" in page
    assert "No purchases yet." in page
    client.post(
        "/api/v1/purchases",
        json={"receipt_id": "V1", "amount": 2500, "currency": "EUR", "member_id": member},
        headers=shop.auth("staff"),
    )
    with db.transaction() as conn:
        conn.execute(
            update(member_stats)
            .where(member_stats.c.member_id == member)
            .values(
                segment="at_risk",
                recency_score=2,
                frequency_score=4,
                monetary_score=5,
                p_alive=0.42,
                expected_visits=3.25,
                predicted_value=12345,
            )
        )
    english = client.get(f"/admin/members/{member}?lang=en").text
    assert 'data-value="segment">At risk<' in english
    assert 'data-value="rfm">2 · 4 · 5<' in english
    assert "€123.45" in english
    assert "42%" in english
    assert "3.2" in english
    spanish = client.get(f"/admin/members/{member}?lang=es").text
    assert "Valor del cliente" in spanish
    assert 'data-value="segment">En riesgo<' in spanish
    assert "123,45" in spanish


def test_a_member_on_a_tier_way_still_shows_their_visits_and_spend(
    client, db: Database, clock: FixedClock
) -> None:
    """The tier card's progress figure once shared its name with the customer-value row, so any
    member of a tiered program read "No purchases yet." however much they had bought."""
    tiered = ProgramDefinition(
        rules=[EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1)))],
        tiers=TierPolicy(
            metric="spend",
            levels=[
                Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
                Tier(id="gold", name="Gold", threshold=Decimal(10000)),
            ],
        ),
    )
    shop = make_shop(db, clock.now(), program=tiered)
    member = shop.members[0]
    for n, amount in enumerate((2500, 1200)):
        sale = {"receipt_id": f"T{n}", "amount": amount, "currency": "EUR", "member_id": member}
        client.post("/api/v1/purchases", json=sale, headers=shop.auth("staff"))
    admin_login(client, shop)
    english = client.get(f"/admin/members/{member}?lang=en").text
    assert "On the way to Gold: €37.00 of €100.00" in english
    value = english[english.index('id="value-h"') :][:1500]
    assert "1 visit, €37.00" in value, value  # two sales on one day: one visit
    assert "No purchases yet." not in english
    spanish = client.get(f"/admin/members/{member}?lang=es").text
    assert "1 visita, 37,00" in spanish
