"""Vouchers and refunds at the counter: redeeming a reward for the member once per form,
validating a voucher once (the second try says when, where and by whom), scanning a voucher,
and refunding a sale by its receipt number."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from lealtad.purchases.tables import refunds
from lealtad.rewards.tables import vouchers
from tests.support import counter_login, form_field

MUG = {
    "slug": "mug",
    "kind": "free_product",
    "sku": "MUG",
    "title": {"es": "Taza de regalo", "en": "Free mug"},
    "cost_unit": "points",
    "cost": 10,
}


def _member_with_points(client, shop, points: int = 25) -> str:
    """A catalog with the mug and member 0 holding `points`; returns their card number."""
    assert client.post("/api/v1/rewards", json=MUG, headers=shop.auth()).status_code == 201
    body = {
        "receipt_id": f"R-{shop.id}-seed",
        "amount": points * 100,
        "currency": "EUR",
        "member_id": shop.members[0],
    }
    assert client.post("/api/v1/purchases", json=body, headers=shop.auth()).status_code == 201
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    return str(member["card_number"])


def _open(client, csrf: str, q: str, lang: str = "en"):
    return client.post("/counter/find", data={"q": q, "csrf": csrf, "lang": lang})


def _redeem(client, csrf: str, page: str, member_id: int, reward_id: str):
    form = re.search(r'name="key" value="([^"]+)">\s*<input type="hidden" name="reward_id"', page)
    key = form.group(1) if form else form_field(page, "key")
    data = {"reward_id": reward_id, "key": key, "csrf": csrf, "lang": "en", "confirmed": "yes"}
    return client.post(f"/counter/members/{member_id}/redemptions", data=data)


def _reward_id(page: str) -> str:
    return form_field(page, "reward_id")


def _voucher_code(page: str) -> str:
    found = re.search(r'class="mono code">([A-Z0-9]{5}-[A-Z0-9]{5})<', page)
    assert found, "no voucher code on the page"
    return found.group(1)


def _validate(client, csrf: str, code: str, lang: str = "en"):
    return client.post(
        "/counter/vouchers/validate", data={"code": code, "csrf": csrf, "lang": lang}
    )


def _count(db, table, business_id: int) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(table).where(table.c.business_id == business_id)
        return int(conn.execute(query).scalar_one())


def test_the_panel_lists_what_the_member_can_redeem_now(client, shop) -> None:
    card = _member_with_points(client, shop)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    assert "Free mug" in page
    assert "10 points" in page
    assert "Redeem" in page


def test_redeeming_at_the_counter_shows_the_voucher_once_per_form(client, shop, db) -> None:
    card = _member_with_points(client, shop)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    first = _redeem(client, csrf, page, shop.members[0], _reward_id(page))
    assert first.status_code == 201, first.text
    assert "Reward redeemed. Here is the voucher." in first.text
    code = _voucher_code(first.text)
    again = _redeem(client, csrf, page, shop.members[0], _reward_id(page))
    assert _voucher_code(again.text) == code
    assert _count(db, vouchers, shop.id) == 1
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"]["points"] == 15
    assert code in _open(client, csrf, card).text


def test_a_reward_the_balance_does_not_cover_is_refused_with_a_message(client, shop) -> None:
    card = _member_with_points(client, shop, points=12)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    reward_id = _reward_id(page)
    assert _redeem(client, csrf, page, shop.members[0], reward_id).status_code == 201
    page = _open(client, csrf, card).text
    refused = _redeem(client, csrf, page, shop.members[0], reward_id)
    assert refused.status_code == 409
    assert "does not cover this reward" in refused.text


def test_a_voucher_is_validated_once_and_the_second_try_says_when_where_and_by_whom(
    client, shop
) -> None:
    card = _member_with_points(client, shop)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    code = _voucher_code(_redeem(client, csrf, page, shop.members[0], _reward_id(page)).text)
    used = _validate(client, csrf, code.replace("-", "").lower())
    assert used.status_code == 200, used.text
    assert "Voucher used: hand over the reward." in used.text
    again = _validate(client, csrf, code)
    assert again.status_code == 409
    assert "This voucher was already used on 2 Mar 2026, 11:30" in again.text
    assert "at Store 1 by staff" in again.text
    spanish = _validate(client, csrf, code, lang="es")
    assert "Este vale ya se usó el 2 mar 2026, 11:30" in spanish.text
    voucher = client.get(f"/api/v1/vouchers/{code}", headers=shop.auth()).json()
    assert voucher["status"] == "used"


def test_a_scanned_voucher_opens_it_ready_to_use(client, shop) -> None:
    card = _member_with_points(client, shop)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    code = _voucher_code(_redeem(client, csrf, page, shop.members[0], _reward_id(page)).text)
    scanned = _open(client, csrf, code)
    assert scanned.status_code == 200
    assert "Free mug" in scanned.text
    assert "Use it now" in scanned.text


def test_another_business_voucher_is_not_found(client, shop, other_shop) -> None:
    card = _member_with_points(client, other_shop)
    csrf = counter_login(client, other_shop)
    page = _open(client, csrf, card).text
    code = _voucher_code(_redeem(client, csrf, page, other_shop.members[0], _reward_id(page)).text)
    client.cookies.clear()
    csrf = counter_login(client, shop)
    refused = _validate(client, csrf, code)
    assert refused.status_code == 404
    assert "There is no voucher with this code." in refused.text
    assert _open(client, csrf, code).status_code == 404
    other = client.get(f"/api/v1/vouchers/{code}", headers=other_shop.auth()).json()
    assert other["status"] == "issued"


def test_a_refund_by_receipt_shows_what_was_taken_back(client, shop, db) -> None:
    card = _member_with_points(client, shop, points=0)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    data = {"amount": "20", "receipt": "T-900", "key": form_field(page, "key"), "csrf": csrf}
    sold = client.post(f"/counter/members/{shop.members[0]}/purchases", data=data | {"lang": "en"})
    assert "+20 points" in sold.text
    form = {"receipt": "T-900", "amount": "5,00", "csrf": csrf, "lang": "en"}
    form["key"] = re.findall(r'name="key" value="([^"]+)"', sold.text)[-1]
    refunded = client.post("/counter/refunds", data=form)
    assert refunded.status_code == 201, refunded.text
    assert "Refund recorded" in refunded.text
    assert "Taken back: 5 points" in refunded.text
    assert "Balance now: 15 points" in refunded.text
    assert client.post("/counter/refunds", data=form).status_code == 201
    assert _count(db, refunds, shop.id) == 1


def test_a_refund_of_an_unknown_receipt_or_too_much_is_explained(client, shop) -> None:
    csrf = counter_login(client, shop)
    page = client.get("/counter?lang=en").text
    form = {"receipt": "NOPE", "key": form_field(page, "key"), "csrf": csrf, "lang": "en"}
    unknown = client.post("/counter/refunds", data=form)
    assert unknown.status_code == 404
    assert "There is no purchase with this receipt number." in unknown.text
    sale = {"amount": "3", "receipt": "T-1", "key": form_field(page, "key"), "csrf": csrf}
    assert client.post("/counter/purchases", data=sale).status_code == 201
    page = client.get("/counter?lang=en").text
    too_much = form | {"receipt": "T-1", "amount": "9", "key": form_field(page, "key")}
    answer = client.post("/counter/refunds", data=too_much)
    assert answer.status_code == 422
    assert "more than is left to refund" in answer.text


def test_a_purchase_names_the_rewards_it_brought_within_reach(client, shop) -> None:
    card = _member_with_points(client, shop, points=6)
    csrf = counter_login(client, shop)
    page = _open(client, csrf, card).text
    assert "Nothing yet: the balance does not cover a reward." in page
    data = {"amount": "4", "key": form_field(page, "key"), "csrf": csrf, "lang": "en"}
    sold = client.post(f"/counter/members/{shop.members[0]}/purchases", data=data)
    assert sold.status_code == 201, sold.text
    assert "Now within reach: Free mug" in sold.text
    data = {"amount": "4", "key": form_field(sold.text, "key"), "csrf": csrf, "lang": "en"}
    later = client.post(f"/counter/members/{shop.members[0]}/purchases", data=data)
    assert "Now within reach" not in later.text
