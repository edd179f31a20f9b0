"""The guided set-up in the console: each step saves on the server and refuses a bad value with
a page that names the field by its label; going live publishes the chosen program with the
owner's numbers and furnishes its products and rewards, on both databases."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lealtad.onboarding import service as onboarding
from lealtad.products import store as product_store
from lealtad.rewards import store as reward_store
from lealtad.rules import service as programs
from tests.support import PASSWORD, Shop, admin_login, make_shop, purchase_body


@pytest.fixture
def new_shop(db, clock) -> Shop:
    """A business as `lealtad business create` leaves it: no program yet, a set-up begun."""
    shop = make_shop(db, clock.now(), program=onboarding.empty_program("Nuevo"), members_count=1)
    with db.transaction() as conn:
        onboarding.begin(conn, shop.id, clock.now())
    return shop


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.headers["Accept-Language"] = "en"


def _business(**overrides: str) -> dict[str, str]:
    form = {
        "name": "Café Aurora",
        "currency": "EUR",
        "timezone": "Europe/Madrid",
        "locale": "es",
        "colour": "#0a7d4f",
    }
    return form | overrides


def _through_numbers(client: Any, csrf: str, template: str = "coffee-stamps") -> None:
    assert client.post("/admin/setup/business", data=_business(csrf=csrf)).status_code == 200
    client.post("/admin/setup/program", data={"csrf": csrf, "template": template})


def test_the_owner_of_a_new_business_signs_in_to_the_set_up(client, new_shop) -> None:
    form = {"business": new_shop.slug, "email": new_shop.staff_emails["owner"]}
    answer = client.post("/admin/login", data=form | {"password": PASSWORD}, follow_redirects=False)
    assert answer.headers["location"] == "/admin/setup?lang=en"
    page = client.get("/admin/setup")
    assert page.url.path == "/admin/setup/business"
    assert "Your business" in page.text
    home = client.get("/admin")
    assert 'href="/admin/setup"' in home.text  # until the program is live


def test_a_manager_signs_in_to_the_home_and_cannot_open_the_set_up(client, new_shop) -> None:
    admin_login(client, new_shop, role="manager")
    answer = client.get("/admin/setup/business")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("name", "", "Business name: Please give a name."),
        ("currency", "XX1", "Currency: use a three-letter code"),
        ("timezone", "Mars/Base", "Time zone: That time zone is not known"),
        ("colour", "#12345g", "Brand colour: The brand colour must be written like #5b3a29."),
    ],
)
def test_the_business_step_refuses_a_bad_value_naming_its_field(
    client, new_shop, field: str, value: str, said: str
) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    answer = client.post("/admin/setup/business", data=_business(csrf=csrf, **{field: value}))
    assert answer.status_code in (400, 409, 422)
    assert answer.headers["content-type"].startswith("text/html")
    assert said in answer.text
    assert 'role="alert"' in answer.text


def test_an_over_long_name_is_refused_with_a_page_naming_the_field(client, new_shop) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    answer = client.post("/admin/setup/business", data=_business(csrf=csrf, name="x" * 201))
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Business name" in answer.text


def test_steps_not_reached_send_the_owner_back_to_where_they_are(client, new_shop) -> None:
    admin_login(client, new_shop, role="owner")
    answer = client.get("/admin/setup/review", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/setup/business")


def test_the_program_step_explains_each_template_in_plain_words(client, new_shop) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    client.post("/admin/setup/business", data=_business(csrf=csrf))
    page = client.get("/admin/setup/program?lang=en")
    assert page.text.count('name="template"') == 6
    assert "Join and your 11th coffee is free" in page.text
    assert "Join and get 10% back on every purchase" in page.text
    spanish = client.get("/admin/setup/program?lang=es")
    assert "Únete y tu 11.º café es gratis" in spanish.text
    refused = client.post("/admin/setup/program", data={"csrf": csrf, "template": "nope"})
    assert refused.status_code == 422
    assert "Program: choose one of the programs below." in refused.text


@pytest.mark.parametrize(
    ("values", "said"),
    [
        ({"stamps_coffee": "0"}, "Stamps to fill the Coffee card: enter a number from 1 to 100."),
        ({"stamps_coffee": "500"}, "Stamps to fill the Coffee card: enter a number from 1 to"),
        ({"stamps_coffee": "ten"}, "Stamps to fill the Coffee card: enter a number."),
        ({"stamps_coffee": "2.5"}, "Stamps to fill the Coffee card: enter a whole number."),
        (
            {"reward_en_coffee": "x" * 101},
            "Reward of a full card, in English: at most 100 characters.",
        ),
    ],
)
def test_the_numbers_step_refuses_out_of_range_values_by_label(
    client, new_shop, values: dict[str, str], said: str
) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf)
    answer = client.post("/admin/setup/numbers", data={"csrf": csrf, **values})
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert said in answer.text
    assert 'aria-invalid="true"' in answer.text


def test_tier_thresholds_must_rise(client, new_shop) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf, "gem-tiers")
    answer = client.post(
        "/admin/setup/numbers",
        data={"csrf": csrf, "tier_sapphire": "900", "tier_ruby": "800"},
    )
    assert answer.status_code == 422
    assert "each tier must start above the one before it" in answer.text


def test_progress_is_kept_on_the_server_between_visits(client, new_shop, db) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf, "stars-tiers")
    client.post("/admin/setup/numbers", data={"csrf": csrf, "rate_base": "3", "tier_gold": "250"})
    with db.read() as conn:
        found = onboarding.current(conn, new_shop.id)
    assert found is not None
    assert (found.step, found.template) == ("places", "stars-tiers")
    assert found.numbers == {"rate_base": "3", "tier_gold": "250"}
    again = client.get("/admin/setup")
    assert again.url.path == "/admin/setup/places"
    numbers = client.get("/admin/setup/numbers")
    assert 'value="250"' in numbers.text  # Back shows what was typed


def test_going_live_publishes_the_program_with_the_owners_numbers(
    client, new_shop, db, clock
) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf)
    numbers = {"stamps_coffee": "8", "reward_es_coffee": "Café de la casa"}
    client.post("/admin/setup/numbers", data={"csrf": csrf, **numbers})
    location = client.post("/admin/setup/places/location", data={"csrf": csrf, "name": "Terraza"})
    assert location.status_code == 200
    invited = client.post(
        "/admin/setup/places/staff",
        data={"csrf": csrf, "name": "Lucía", "email": "lucia@aurora.example", "role": "staff"},
    )
    assert "Lucía can sign in now" in invited.text
    password = re.search(r"<strong data-password>([^<]+)</strong>", invited.text)
    assert password is not None
    assert len(password.group(1)) >= 10
    client.post("/admin/setup/places", data={"csrf": csrf})
    review = client.get("/admin/setup/review?lang=en")
    assert "Join and your 9th coffee is free" in review.text
    done = client.post("/admin/setup/live", data={"csrf": csrf})
    assert done.url.path == "/admin/setup/done"
    assert "Join and your 9th coffee is free" in done.text
    assert "Café Aurora" in done.text
    assert "#0a7d4f" in done.text
    with db.read() as conn:
        definition = programs.in_force(conn, new_shop.id, clock.now()).definition
        reward = reward_store.reward_by_slug(conn, new_shop.id, "free-drink")
        sold = product_store.listing(conn, new_shop.id, active_only=True)
        assert onboarding.pending(conn, new_shop.id) is False
    assert definition.stamp_cards[0].stamps_required == 8
    assert reward.title["es"] == "Café de la casa"
    assert any(p.category == "drinks" for p in sold)
    # Live: a drink earns a stamp.
    item = {"sku": "CAF", "category": "drinks", "quantity": 1, "unit_price": 150}
    body = purchase_body(member_id=new_shop.members[0], items=[item])
    earned = client.post("/api/v1/purchases", json=body, headers=new_shop.auth())
    assert earned.status_code in (200, 201), earned.text
    assert earned.json()["awards"], earned.text
    # Finished: the steps send the owner to the poster.
    assert client.get("/admin/setup/business").url.path == "/admin/setup/done"


def test_the_places_step_names_the_refused_field(client, new_shop) -> None:
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf)
    client.post("/admin/setup/numbers", data={"csrf": csrf})
    empty = client.post("/admin/setup/places/location", data={"csrf": csrf, "name": " "})
    assert empty.status_code == 422
    assert "Location name: Please give a name." in empty.text
    bad = client.post(
        "/admin/setup/places/staff",
        data={"csrf": csrf, "name": "Ana", "email": "not-an-address", "role": "staff"},
    )
    assert bad.status_code == 422
    assert "Their e-mail: That e-mail address does not look right." in bad.text


def test_a_business_with_sales_keeps_its_currency(client, shop) -> None:
    """A business made another way (the demo, the API) may take the set-up, but its sales fix
    its currency."""
    sale = purchase_body(member_id=shop.members[0])
    assert client.post("/api/v1/purchases", json=sale, headers=shop.auth()).status_code == 201
    csrf = admin_login(client, shop, role="owner")
    answer = client.post("/admin/setup/business", data=_business(csrf=csrf, currency="USD"))
    assert answer.status_code == 409
    assert "Currency: the business has recorded sales, so its currency stays." in answer.text


def test_the_later_steps_draw_the_limits_their_routes_take(client, new_shop) -> None:
    """The forms the sweep cannot reach (tests/web/test_forms_never_json.py NOT_DRAWN)."""
    csrf = admin_login(client, new_shop, role="owner")
    _through_numbers(client, csrf)
    numbers = client.get("/admin/setup/numbers?lang=en").text
    assert re.search(r'name="reward_es_coffee" required maxlength="100"', numbers)
    assert re.search(r'name="stamps_coffee" required min="1" max="100"', numbers)
    client.post("/admin/setup/numbers", data={"csrf": csrf})
    places = client.get("/admin/setup/places?lang=en").text
    assert '<label for="location-name">Location name</label>' in places
    assert 'id="location-name" name="name" required maxlength="200"' in places
    assert '<label for="staff-email">Their e-mail</label>' in places
    assert 'type="email" id="staff-email" name="email" required maxlength="320"' in places


def test_a_live_business_whose_owner_opens_the_set_up_is_not_called_not_live(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    assert client.post("/admin/setup/business", data=_business(csrf=csrf)).status_code == 200
    home = client.get("/admin")
    assert "Your program is not live yet." not in home.text
    client.post("/admin/logout", data={"csrf": csrf})
    form = {"business": shop.slug, "email": shop.staff_emails["owner"], "password": PASSWORD}
    answer = client.post("/admin/login", data=form, follow_redirects=False)
    assert not answer.headers["location"].startswith("/admin/setup")
