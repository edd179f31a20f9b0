"""Paying part of a sale with the member's balance at the counter: the cashback of a cashback
program and the points of a program whose points pay at the till are spent from the purchase
form, behind the member's card PIN, through the ledger as the API does; what cannot be paid is
refused with a sentence and records nothing."""

from __future__ import annotations

from html import unescape
from typing import Any

from sqlalchemy import func, select

from lealtad.members import pin
from lealtad.purchases.tables import purchases
from tests.support import counter_login, form_field, make_template_shop


def _fund(client: Any, shop: Any, unit: str, amount: int) -> None:
    given = {"unit": unit, "amount": amount, "reason": "opening balance"}
    path = f"/api/v1/members/{shop.members[0]}/adjustments"
    answer = client.post(path, json=given, headers=shop.auth())
    assert answer.status_code == 201, answer.text


def _balances(client: Any, shop: Any) -> dict[str, int]:
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    return dict(member["balances"])


def _sale(client: Any, shop: Any, csrf: str, **fields: str) -> Any:
    page = client.get(f"/counter/members/{shop.members[0]}?lang=en").text
    form = {"amount": "20.00", "key": form_field(page, "key"), "csrf": csrf, "lang": "en"}
    return client.post(f"/counter/members/{shop.members[0]}/purchases", data=form | fields)


def _sales(db: Any, shop: Any) -> int:
    with db.read() as conn:
        where = purchases.c.business_id == shop.id
        return int(conn.execute(select(func.count()).where(where)).scalar_one())


def test_cashback_pays_part_of_a_sale_and_the_rest_earns(client, db, clock) -> None:
    shop = make_template_shop(db, clock.now(), "gem-tiers")
    _fund(client, shop, "cashback", 1000)
    csrf = counter_login(client, shop)
    page = client.get(f"/counter/members/{shop.members[0]}?lang=en").text
    assert "Cashback to use (EUR)" in page
    assert "Up to €10.00." in page

    answer = _sale(client, shop, csrf, pay_cashback="5")
    assert answer.status_code == 201, answer.text
    assert "Paid with cashback: €5.00" in answer.text
    after = _balances(client, shop)
    # 10 € - 5 € spent + 10 % of the 15 € the customer paid in money.
    assert after["cashback"] == 1000 - 500 + 150


def test_a_member_with_a_card_pin_pays_with_their_balance_only_with_it(client, db, clock) -> None:
    shop = make_template_shop(db, clock.now(), "gem-tiers")
    _fund(client, shop, "cashback", 1000)
    with db.transaction() as conn:
        pin.set_pin(conn, shop.id, shop.members[0], "4321", clock.now())
    csrf = counter_login(client, shop)
    page = client.get(f"/counter/members/{shop.members[0]}?lang=en").text
    assert 'name="card_pin"' in page.split("data-pay-with")[1]

    asked = _sale(client, shop, csrf, pay_cashback="5")
    assert asked.status_code == 403
    assert asked.headers["content-type"].startswith("text/html")
    wrong = _sale(client, shop, csrf, pay_cashback="5", card_pin="0000")
    assert wrong.status_code == 403
    assert _sales(db, shop) == 0
    assert _balances(client, shop)["cashback"] == 1000

    paid = _sale(client, shop, csrf, pay_cashback="5", card_pin="4321")
    assert paid.status_code == 201, paid.text
    assert _balances(client, shop)["cashback"] == 1000 - 500 + 150
    # A sale that spends nothing of the balance needs no PIN.
    assert _sale(client, shop, csrf).status_code == 201


def test_more_cashback_than_held_or_than_the_sale_is_refused_and_records_nothing(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now(), "gem-tiers")
    _fund(client, shop, "cashback", 1000)
    csrf = counter_login(client, shop)
    over_balance = _sale(client, shop, csrf, amount="50", pay_cashback="12")
    assert over_balance.status_code in (409, 422)
    assert "The member's balance does not cover that payment." in unescape(over_balance.text)
    over_sale = _sale(client, shop, csrf, amount="3", pay_cashback="5")
    assert over_sale.status_code == 422
    assert "Cashback cannot pay more than the purchase." in over_sale.text
    not_a_number = _sale(client, shop, csrf, pay_points="ten")
    assert not_a_number.status_code == 422
    assert "Points to use must be a whole number of points." in not_a_number.text
    assert _sales(db, shop) == 0
    assert _balances(client, shop)["cashback"] == 1000


def test_points_worth_money_at_the_till_pay_in_the_page_s_language(client, db, clock) -> None:
    shop = make_template_shop(db, clock.now(), "points-per-unit")
    _fund(client, shop, "points", 300)
    csrf = counter_login(client, shop)
    spanish = client.get(f"/counter/members/{shop.members[0]}?lang=es").text
    assert "Puntos a usar" in spanish
    assert "300 puntos" in spanish
    assert "3,00\xa0€" in spanish

    answer = _sale(client, shop, csrf, pay_points="250")
    assert answer.status_code == 201, answer.text
    assert "Paid with points: 250 points" in answer.text
    # 300 - 250 spent + 4 points a pound (euro here) on the 17.50 paid in money.
    assert _balances(client, shop)["points"] == 300 - 250 + 70


def test_a_program_whose_points_do_not_pay_at_the_till_offers_no_such_field(
    client, db, clock
) -> None:
    shop = make_template_shop(db, clock.now(), "catalog-points")
    _fund(client, shop, "points", 300)
    counter_login(client, shop)
    page = client.get(f"/counter/members/{shop.members[0]}?lang=es").text
    assert "data-pay-with" not in page
