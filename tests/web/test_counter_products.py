"""The counter's product buttons on a business started from the coffee card: the owner's
products as buttons, the sale's items and amount made from the taps, the stamps the drinks earn
(the page and the API agree), and a full card's reward redeemed from the catalog."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from lealtad.purchases.tables import purchases
from tests.support import admin_login, counter_login, form_field, make_template_shop


def _buttons(page: str) -> dict[str, str]:
    """Product name -> product id, as the buttons on the page show them."""
    found = re.findall(
        r'<span class="name">([^<]+)</span>.*?name="product" value="(\d+)"', page, re.S
    )
    return dict(found)


def _tap(page: str, taps: dict[str, int]) -> dict[str, Any]:
    """The purchase form as a browser sends it after tapping the named buttons."""
    buttons = _buttons(page)
    return {
        "product": list(buttons.values()),
        "count": [str(taps.get(name, 0)) for name in buttons],
    }


def _member_page(client: Any, shop: Any, lang: str = "es") -> str:
    page = client.get(f"/counter/members/{shop.members[0]}?lang={lang}")
    assert page.status_code == 200, page.text
    return str(page.text)


def test_the_counter_shows_the_coffee_cards_products_as_buttons_in_the_pages_language(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    counter_login(client, shop)
    spanish = _member_page(client, shop, "es")
    assert list(_buttons(spanish))[:3] == ["Café", "Café con leche", "Capuchino"]
    assert "Cruasán" in _buttons(spanish)
    assert "1,50\xa0€" in spanish
    assert "0 de 10 sellos" in spanish
    english = _member_page(client, shop, "en")
    assert {"Coffee", "Latte", "Croissant"} <= set(_buttons(english))
    assert "€1.50" in english


def test_a_drink_tapped_twice_is_one_purchase_of_two_drinks_that_earns_two_stamps(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = counter_login(client, shop)
    page = _member_page(client, shop)
    form = _tap(page, {"Café": 2, "Cruasán": 1}) | {
        "amount": "",
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": "es",
    }
    answer = client.post(f"/counter/members/{shop.members[0]}/purchases", data=form)
    assert answer.status_code == 201, answer.text
    assert "+2 sellos en la tarjeta Café</strong> · Un sello por bebida" in answer.text
    assert "4,80\xa0€" in answer.text, "2 × 1,50 € + 1,80 €, from the products' prices"
    assert "2 de 10 sellos" in answer.text
    with db.read() as conn:
        sale = conn.execute(select(purchases).where(purchases.c.business_id == shop.id)).one()
    items = {(i["sku"], i["category"], str(i["quantity"]), i["unit_price"]) for i in sale.items}
    assert items == {("CAFE", "drinks", "2", 150), ("CRO", "bakery", "1", 180)}
    assert sale.amount == 480
    api = client.get(f"/api/v1/members/{shop.members[0]}/purchases", headers=shop.auth())
    [bought] = api.json()
    assert [(a["rule_id"], a["account"], a["amount"]) for a in bought["awards"]] == [
        ("stamp-per-drink", "stamps.coffee", 2)
    ]
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"]["stamps.coffee"] == 2


def test_an_amount_typed_over_the_buttons_is_what_was_paid(client, db, clock) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = counter_login(client, shop)
    page = _member_page(client, shop)
    form = _tap(page, {"Capuchino": 3}) | {
        "amount": "6,00",
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": "es",
    }
    answer = client.post(f"/counter/members/{shop.members[0]}/purchases", data=form)
    assert answer.status_code == 201, answer.text
    assert "+3 sellos en la tarjeta Café" in answer.text
    with db.read() as conn:
        assert (
            conn.execute(
                select(purchases.c.amount).where(purchases.c.business_id == shop.id)
            ).scalar_one()
            == 600
        )


def test_the_owner_edits_a_product_and_the_counter_shows_it(client, db, clock) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = admin_login(client, shop)
    listing = client.get("/admin/products?lang=es")
    assert listing.status_code == 200
    assert "gana en el programa" in listing.text, "drinks are named by the stamp rule"
    cafe = _buttons(_counter_page_as_manager(client, shop))["Café"]
    form = {
        "csrf": csrf,
        "sku": "CAFE",
        "category": "drinks",
        "name_es": "Café solo",
        "name_en": "Espresso",
        "price": "1,60",
        "active": "true",
    }
    saved = client.post(f"/admin/products/{cafe}", data=form)
    assert saved.status_code == 200, saved.text
    added = client.post(
        "/admin/products",
        data={
            "csrf": csrf,
            "sku": "MAGD",
            "category": "bakery",
            "name_es": "Magdalena",
            "price": "1",
        },
    )
    assert added.status_code == 201, added.text
    hidden = form | {"sku": "TEA", "name_es": "Té", "name_en": "Tea", "price": "2"}
    tea = _buttons(_counter_page_as_manager(client, shop))["Té"]
    hidden.pop("active")
    assert client.post(f"/admin/products/{tea}", data=hidden).status_code == 200
    page = _counter_page_as_manager(client, shop)
    assert "Café solo" in _buttons(page)
    assert "1,60\xa0€" in page
    assert "Magdalena" in _buttons(page)
    assert "Té" not in _buttons(page), "a product not shown at the counter has no button"


def _counter_page_as_manager(client: Any, shop: Any) -> str:
    return _member_page(client, shop, "es")


def test_a_full_cards_reward_is_in_the_catalog_and_redeems_at_the_counter(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now())
    csrf = counter_login(client, shop)
    page = _member_page(client, shop)
    form = _tap(page, {"Café con leche": 10}) | {
        "amount": "",
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": "es",
    }
    full = client.post(f"/counter/members/{shop.members[0]}/purchases", data=form)
    assert full.status_code == 201, full.text
    assert "Tarjeta Café completa: ya puede canjear Bebida gratis." in full.text
    # The balance line says the reward is ready, as the member panel does.
    assert "Saldo ahora: 1 premio listo: Bebida gratis" in full.text
    assert "Bebida gratis" in full.text.split('id="redeem-h"')[1]
    reward = re.search(r'name="reward_id" value="(\d+)"', full.text)
    assert reward is not None
    asked_for = {
        "reward_id": reward.group(1),
        "key": form_field(full.text.split('id="redeem-h"')[1], "key"),
        "csrf": csrf,
        "lang": "es",
    }
    path = f"/counter/members/{shop.members[0]}/redemptions"
    question = client.post(path, data=asked_for)
    # The first tap asks, naming the reward and what it spends, and spends nothing.
    assert question.status_code == 200, question.text
    asked = re.search(r'class="question"[^>]*>([^<]*)<', question.text)
    assert asked is not None, question.text[:300]
    assert "Bebida gratis" in asked.group(1)
    redeemed = client.post(path, data=asked_for | {"confirmed": "yes"})
    assert redeemed.status_code == 201, redeemed.text
    assert "Bebida gratis" in redeemed.text
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"].get("reward.free-drink", 0) == 0
