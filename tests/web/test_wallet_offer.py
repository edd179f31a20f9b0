"""The card page's "For you" panel: the member's next-best offer, in Spanish and English, kept
up to date by the balance the wallet polls."""

from __future__ import annotations

import html

from tests.support import wallet_login


def _reward(client, shop, slug: str, cost: int, es: str, en: str) -> None:
    body = {"slug": slug, "kind": "physical_gift", "title": {"es": es, "en": en}, "cost": cost}
    made = client.post("/api/v1/rewards", json=body, headers=shop.auth())
    assert made.status_code == 201, made.text


def _panel(page: str) -> str:
    start = page.index("data-offer")
    return html.unescape(page[start : page.index("</div>", start)])


def test_the_card_page_shows_the_members_offer_in_spanish_and_english(db, client, shop) -> None:
    member = shop.members[0]
    wallet_login(client, db, shop, member)
    assert "data-offer" not in client.get(f"/w/{shop.slug}?lang=en").text  # nothing to offer yet
    items = [{"sku": "CROISSANT", "category": "pastries", "quantity": "2", "unit_price": 300}]
    sale = {"receipt_id": "R-offer-1", "amount": 600, "currency": "EUR", "member_id": member}
    answer = client.post("/api/v1/purchases", json=sale | {"items": items}, headers=shop.auth())
    assert answer.status_code == 201, answer.text  # 6 points
    english = client.get(f"/w/{shop.slug}?lang=en").text
    assert "For you" in _panel(english)
    assert "Your usual: pastries. Every visit counts." in _panel(english)
    _reward(client, shop, "mug", 80, "Taza", "Mug")
    english = client.get(f"/w/{shop.slug}?lang=en").text
    assert "Only 74 points away from Mug." in _panel(english)
    spanish = client.get(f"/w/{shop.slug}?lang=es").text
    assert "Para ti" in _panel(spanish)
    assert "Solo te faltan 74 puntos para Taza." in _panel(spanish)
    _reward(client, shop, "pin", 5, "Chapa", "Pin")
    polled = client.get(f"/w/{shop.slug}/balance?lang=en").text
    assert "You can redeem Pin now for 5 points: you haven't tried it yet!" in _panel(polled)
    polled = client.get(f"/w/{shop.slug}/balance?lang=es").text
    assert "Ya puedes canjear Chapa por 5 puntos: ¡todavía no lo has probado!" in _panel(polled)
