"""The member page shows the member's segment, visits, spend and predicted value."""

from __future__ import annotations

from sqlalchemy import update

from lealtad.analytics.tables import member_stats
from lealtad.db.engine import Database
from tests.support import Shop, admin_login


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
