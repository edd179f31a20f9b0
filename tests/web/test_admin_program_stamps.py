"""The stamp card form of the program editor: how a card earns is one choice, and one save
moves it between per item, per visit and per amount, changing the rule's condition and action
together (a per-item action without its items condition is never left behind)."""

from __future__ import annotations

from typing import Any

from tests.support import admin_login, make_template_shop

SAVE = "/admin/program/save"


def _card_form(csrf: str, version: int, **fields: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "lang": "es",
        "part": "stamps",
        "base_version": str(version),
        "card_original": "coffee",
        "card_id": "coffee",
        "card_name": "Coffee card",
        "card_title_es": "Café",
        "card_title_en": "Coffee",
        "stamps_required": "10",
        "card_reward": "free-drink",
        "stamps_per": "1",
        "reason": "How the card earns",
    } | fields


def _stamp_rule(client: Any, shop: Any) -> dict[str, Any]:
    definition = client.get("/api/v1/program", headers=shop.auth()).json()["definition"]
    [rule] = [r for r in definition["rules"] if r["action"]["type"] == "stamps"]
    return dict(rule)


def test_a_stamp_card_moves_between_per_item_per_visit_and_per_amount_in_one_save_each(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = admin_login(client, shop)
    page = client.get("/admin/program/edit?part=stamps&card=coffee&lang=es")
    assert page.status_code == 200
    assert '<option value="per_item" selected>' in page.text
    assert '<option value="free-drink" selected>Bebida gratis</option>' in page.text
    assert 'value="Café"' in page.text

    visit = client.post(SAVE, data=_card_form(csrf, 1, earn="visit"), follow_redirects=False)
    assert visit.status_code == 303, visit.text
    rule = _stamp_rule(client, shop)
    assert rule["conditions"]["items"] is None
    assert rule["action"]["per_item"] is False
    assert rule["title"] == {"es": "Un sello por visita", "en": "One stamp per visit"}

    amount = _card_form(csrf, 2, earn="min_amount", stamp_min_amount="3,50")
    assert client.post(SAVE, data=amount, follow_redirects=False).status_code == 303
    rule = _stamp_rule(client, shop)
    assert (rule["conditions"]["min_amount"], rule["conditions"]["items"]) == (350, None)
    assert rule["action"]["per_item"] is False

    item = _card_form(csrf, 3, earn="per_item", stamp_categories="drinks")
    assert client.post(SAVE, data=item, follow_redirects=False).status_code == 303
    rule = _stamp_rule(client, shop)
    assert rule["conditions"]["min_amount"] is None
    assert rule["conditions"]["items"]["categories"] == ["drinks"]
    assert rule["action"]["per_item"] is True
    assert rule["title"]["es"] == "Un sello por artículo"


def test_per_item_without_products_named_is_refused_with_a_message_and_saves_nothing(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = admin_login(client, shop)
    refused = client.post(SAVE, data=_card_form(csrf, 1, earn="per_item", stamp_categories=""))
    assert refused.status_code == 422
    assert "indica las categorías o códigos de producto que dan un sello" in refused.text
    assert client.get("/api/v1/program", headers=shop.auth()).json()["version"] == 1
