"""The counter screen: who may use it, finding the member by card number and by the wallet's
rotating code, recording purchases (with and without a member, exactly once per form) and
enrolling a customer at the till."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from lealtad.db import group_commit
from lealtad.members import model
from lealtad.members import store as member_store
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.rules.definition import ProgramDefinition, StampCard, Tier, TierPolicy
from lealtad.rules.earn_rule import CashbackPercent, EarnRule, PointsPerUnit, Stamps
from tests.conftest import SECRET
from tests.support import counter_login, form_field, make_shop


def _card(client, shop, index: int = 0) -> str:
    return client.get(f"/api/v1/members/{shop.members[index]}", headers=shop.auth()).json()[
        "card_number"
    ]


def _find(client, csrf: str, q: str, lang: str = "en"):
    return client.post("/counter/find", data={"q": q, "csrf": csrf, "lang": lang})


def _sale(client, csrf: str, page: str, member_id: int | None, amount: str, **extra):
    path = f"/counter/members/{member_id}/purchases" if member_id else "/counter/purchases"
    data = {"amount": amount, "key": form_field(page, "key"), "csrf": csrf, "lang": "en"}
    return client.post(path, data=data | extra)


def _count(db, table, **where) -> int:
    with db.read() as conn:
        query = select(func.count()).select_from(table)
        for column, value in where.items():
            query = query.where(table.c[column] == value)
        return int(conn.execute(query).scalar_one())


def test_the_counter_sends_a_visitor_without_a_session_to_the_login_page(client) -> None:
    answer = client.get("/counter", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")
    posted = client.post("/counter/find", data={"q": "x"}, follow_redirects=False)
    assert posted.status_code == 303
    # Staff sent there from the counter are told where they are going, not "the admin console".
    page = client.get(answer.headers["location"], headers={"Accept-Language": "es"}).text
    assert "<h1>Entra en el mostrador</h1>" in page
    page = client.get("/admin/login", headers={"Accept-Language": "en"}).text
    assert "<h1>Log in to the admin console</h1>" in page


@pytest.mark.parametrize("role", ["staff", "manager"])
def test_a_staff_member_and_a_manager_can_both_use_the_counter(client, shop, role) -> None:
    csrf = counter_login(client, shop, role)
    page = _find(client, csrf, _card(client, shop))
    assert page.status_code == 200
    assert "Member 0" in page.text
    assert "Store 1" in page.text


def test_staff_land_on_the_counter_after_logging_in(client, shop) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["staff"], "password": "x"}
    form["password"] = "correct horse battery"
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    assert answer.headers["location"] == "/counter"


def test_a_card_number_finds_the_member_with_balances_and_the_purchase_form(client, shop) -> None:
    csrf = counter_login(client, shop)
    card = _card(client, shop)
    page = _find(client, csrf, f"{card[:4]} {card[4:]}")
    assert page.status_code == 200
    assert "Member 0" in page.text
    assert "Record a purchase" in page.text
    assert 'id="amount"' in page.text


def test_the_page_speaks_the_browsers_language_and_can_be_switched(client, shop) -> None:
    counter_login(client, shop)
    spanish = client.get("/counter", headers={"Accept-Language": "es-ES,es;q=0.9"})
    assert "Buscar" in spanish.text
    assert "Cliente nuevo" in spanish.text
    english = client.get("/counter?lang=en", headers={"Accept-Language": "es-ES"})
    assert "New customer" in english.text


def test_a_fresh_wallet_code_finds_the_member(client, shop, clock) -> None:
    csrf = counter_login(client, shop)
    token = model.rotating_token(SECRET, shop.id, shop.members[1], 1, clock.now().timestamp())
    page = _find(client, csrf, token)
    assert page.status_code == 200
    assert "Member 1" in page.text


def test_a_stale_wallet_code_asks_for_the_card_to_be_refreshed(client, shop, clock) -> None:
    csrf = counter_login(client, shop)
    old = (clock.now() - timedelta(minutes=5)).timestamp()
    token = model.rotating_token(SECRET, shop.id, shop.members[0], 1, old)
    page = _find(client, csrf, token)
    assert page.status_code == 422
    assert "ask the member to refresh the card" in page.text.lower()
    spanish = _find(client, csrf, token, lang="es")
    assert "pide al socio que actualice la tarjeta" in spanish.text.lower()


def test_a_forged_wallet_code_is_refused_as_not_valid_here(client, shop, clock) -> None:
    csrf = counter_login(client, shop)
    token = model.rotating_token("another-secret" * 4, shop.id, shop.members[0], 1, 0)
    page = _find(client, csrf, token[:-4] + "AAAA")
    assert page.status_code == 404
    assert "This card code is not valid here" in page.text


def test_another_business_member_is_not_found_by_code_or_address(client, shop, other_shop) -> None:
    csrf = counter_login(client, shop)
    token = model.qr_token(SECRET, other_shop.id, other_shop.members[0], 1)
    assert _find(client, csrf, token).status_code == 404
    assert _find(client, csrf, _card(client, other_shop)).status_code == 404
    page = client.get(f"/counter/members/{other_shop.members[0]}?lang=en")
    assert page.status_code == 404
    assert "No member matches" in page.text


def test_nothing_typed_or_nothing_matching_is_explained(client, shop) -> None:
    csrf = counter_login(client, shop)
    assert "Scan a card or type" in _find(client, csrf, "  ").text
    page = _find(client, csrf, "nobody@nowhere.example")
    assert page.status_code == 404
    assert "No member or voucher matches" in page.text


def test_a_purchase_shows_what_it_earned_with_the_rule_and_the_new_balance(client, shop) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(client, csrf, page, shop.members[0], "12,50")
    assert answer.status_code == 201, answer.text
    assert "Purchase recorded" in answer.text
    assert "+12 points" in answer.text
    assert "Points per purchase" in answer.text
    assert "Balance now: 12 points" in answer.text
    again = _sale(client, csrf, answer.text, shop.members[0], "7.50")
    assert "+7 points" in again.text
    assert "Balance now: 19 points" in again.text


def test_the_same_form_sent_twice_records_the_purchase_once(client, shop, db) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    first = _sale(client, csrf, page, shop.members[0], "10")
    second = _sale(client, csrf, page, shop.members[0], "10")
    assert first.status_code == second.status_code == 201
    assert "+10 points" in second.text
    assert _count(db, purchases, member_id=shop.members[0]) == 1
    balance = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert balance["balances"]["points"] == 10


def test_a_counter_sale_is_committed_by_the_writer_the_api_purchases_share(
    client, shop, db
) -> None:
    """One writer per process for every purchase, the counter's as the API's (issue 18)."""
    before = group_commit.BATCH_JOBS._sum.get()
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    assert _sale(client, csrf, page, shop.members[0], "10").status_code == 201
    assert group_commit.BATCH_JOBS._sum.get() == before + 1  # a batch of one: this sale
    assert _count(db, purchases, member_id=shop.members[0]) == 1


def test_a_purchase_with_items_goes_to_the_service_with_its_items(client, shop, db) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(
        client,
        csrf,
        page,
        shop.members[0],
        "7,00",
        receipt="T-77",
        sku=["COFFEE", "", ""],
        qty=["2", "", ""],
        price=["3,50", "", ""],
    )
    assert answer.status_code == 201, answer.text
    assert "T-77" in answer.text
    with db.read() as conn:
        row = conn.execute(
            select(purchases).where(
                purchases.c.business_id == shop.id, purchases.c.receipt_id == "T-77"
            )
        ).one()
    assert row.items[0]["sku"] == "COFFEE"
    assert row.items[0]["unit_price"] == 350
    assert row.channel == "counter"


@pytest.mark.parametrize("amount", ["", "abc", "-5", "1.000", "0", "12,345"])
def test_a_bad_amount_is_refused_with_a_message_and_records_nothing(
    client, shop, db, amount
) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(client, csrf, page, shop.members[0], amount)
    assert answer.status_code == 422
    assert 'class="error" role="alert"' in answer.text
    assert _count(db, purchases, business_id=shop.id) == 0


def test_a_bad_item_row_is_refused_with_a_message(client, shop) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(client, csrf, page, shop.members[0], "5", sku=[""], qty=["2"], price=["1"])
    assert answer.status_code == 422
    assert "Each item needs its product code." in answer.text


def test_a_sale_without_a_member_is_recorded_at_the_staff_members_location(
    client, shop, db
) -> None:
    csrf = counter_login(client, shop)
    page = client.get("/counter?lang=en").text
    answer = _sale(client, csrf, page, None, "4,20")
    assert answer.status_code == 201, answer.text
    assert "Purchase recorded" in answer.text
    with db.read() as conn:
        row = conn.execute(select(purchases).where(purchases.c.business_id == shop.id)).one()
    assert row.member_id is None
    assert row.amount == 420
    assert row.location_id == shop.locations[0]
    assert row.staff_id == shop.staff["staff"]
    replay = _sale(client, csrf, page, None, "4,20")
    assert replay.status_code == 201
    assert _count(db, purchases, business_id=shop.id) == 1


def test_a_form_without_the_session_token_is_refused(client, shop, db) -> None:
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(client, "forged", page, shop.members[0], "10")
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    assert _count(db, purchases, business_id=shop.id) == 0


def test_htmx_gets_the_work_area_alone_and_the_members_address(client, shop) -> None:
    csrf = counter_login(client, shop)
    answer = client.post(
        "/counter/find",
        data={"q": _card(client, shop), "csrf": csrf, "lang": "en"},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 200
    assert "<html" not in answer.text
    assert "Member 0" in answer.text
    assert answer.headers["HX-Push-Url"] == f"/counter/members/{shop.members[0]}"


def test_enrolling_at_the_counter_records_the_staff_member_and_location(client, shop, db) -> None:
    csrf = counter_login(client, shop)
    page = client.get("/counter?lang=en").text
    form = {
        "name": "Ana Pérez",
        "contact": "ana@example.com",
        "consent": "true",
        "accept_terms": "true",
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": "en",
    }
    answer = client.post("/counter/members", data=form)
    assert answer.status_code == 201, answer.text
    assert "Ana Pérez" in answer.text
    assert "Welcome to the program" in answer.text
    assert client.post("/counter/members", data=form).status_code == 201
    with db.read() as conn:
        # The e-mail is encrypted: found through its blind index (D28).
        row = member_store.member_by(conn, shop.id, "email", "ana@example.com")
    assert row.enrolment_channel == "counter"
    assert row.enrolled_by_staff_id == shop.staff["staff"]
    assert row.enrolled_location_id == shop.locations[0]
    assert row.consent["email"]["granted"] is True
    assert _count(db, members, business_id=shop.id) == 3


def test_enrolment_needs_the_terms_and_a_contact_and_says_so(client, shop) -> None:
    csrf = counter_login(client, shop)
    page = client.get("/counter?lang=en").text
    base = {"name": "Luis", "key": form_field(page, "key"), "csrf": csrf, "lang": "en"}
    no_terms = client.post("/counter/members", data=base | {"contact": "600123456"})
    assert no_terms.status_code == 422
    assert "must accept the program terms" in no_terms.text
    no_contact = client.post("/counter/members", data=base | {"accept_terms": "true"})
    assert "e-mail address or a phone number" in no_contact.text
    taken = client.post(
        "/counter/members",
        data=base
        | {
            "accept_terms": "true",
            "contact": client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()[
                "email"
            ],
        },
    )
    assert taken.status_code == 409
    assert "already belongs to a member" in taken.text


def _rich_program() -> ProgramDefinition:
    return ProgramDefinition(
        stamp_cards=[
            StampCard(id="coffee", name="Coffee card", stamps_required=5, reward="free-coffee")
        ],
        tiers=TierPolicy(
            metric="spend",
            levels=[
                Tier(id="bronze", name="Bronze", threshold=Decimal(0)),
                Tier(id="gold", name="Gold", threshold=Decimal(5000)),
            ],
        ),
        rules=[
            EarnRule(id="base", name="Points per euro", action=PointsPerUnit(rate=Decimal(1))),
            EarnRule(id="stamp", name="A stamp a visit", action=Stamps(card="coffee")),
            EarnRule(id="back", name="Cashback 10%", action=CashbackPercent(percent=Decimal(10))),
        ],
    )


def test_the_panel_shows_tier_stamps_cashback_in_money_and_a_birthday(client, db, clock) -> None:
    shop = make_shop(db, clock.now(), program=_rich_program())
    client.patch(
        f"/api/v1/members/{shop.members[0]}", json={"birthday": "1990-03-02"}, headers=shop.auth()
    )
    csrf = counter_login(client, shop)
    page = _find(client, csrf, _card(client, shop)).text
    answer = _sale(client, csrf, page, shop.members[0], "60")
    assert answer.status_code == 201, answer.text
    assert "A stamp a visit" in answer.text
    assert "Cashback 10%" in answer.text
    assert "New tier:" in answer.text
    assert "Gold" in answer.text
    assert "1 of 5 stamps" in answer.text
    assert "€6.00" in answer.text
    assert "Birthday today" in answer.text
    other = _find(client, csrf, _card(client, shop, 1)).text
    assert "Birthday today" not in other


def test_a_points_card_shows_no_cashback_box_and_a_cashback_program_does(client, db, clock) -> None:
    points_only = ProgramDefinition(
        rules=[EarnRule(id="base", name="Points per euro", action=PointsPerUnit(rate=Decimal(1)))]
    )
    shop = make_shop(db, clock.now(), program=points_only)
    csrf = counter_login(client, shop)
    panel = _find(client, csrf, _card(client, shop)).text
    assert "<dt>Points</dt>" in panel
    assert "<dt>Cashback</dt>" not in panel
    rich = make_shop(db, clock.now(), program=_rich_program())
    csrf = counter_login(client, rich)
    assert "<dt>Cashback</dt>" in _find(client, csrf, _card(client, rich)).text


def test_a_purchase_for_another_business_member_is_not_found_and_records_nothing(
    client, shop, other_shop, db
) -> None:
    csrf = counter_login(client, shop)
    page = client.get("/counter?lang=en").text
    answer = _sale(client, csrf, page, other_shop.members[0], "10")
    assert answer.status_code == 404
    assert "No member matches" in answer.text
    assert _count(db, purchases, member_id=other_shop.members[0]) == 0
