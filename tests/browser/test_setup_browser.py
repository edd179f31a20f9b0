"""The guided set-up in a real browser, as the owner of a business with no program: from the
login page to the printed poster in at most 25 clicks and typed fields, in both languages; the
program is then live (a purchase earns) and the poster wears the brand. Every step passes the
accessibility audit, with a light brand colour that needs dark text."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from lealtad.kit.clock import SystemClock
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Role
from tests.browser.conftest import LiveServer
from tests.browser.setup_walk import BRAND_COLOUR, complete_setup, new_business
from tests.browser.test_accessibility import _audit

MOST_ACTIONS = 25
PROMISE = {"es": "Únete y tu 11.º café es gratis", "en": "Join and your 11th coffee is free"}


def _manager_key(live: LiveServer, slug: str) -> str:
    with live.db.transaction() as conn:
        business = tenancy_store.business_by_slug(conn, slug)
        _id, key = tenancy.create_api_key(
            conn,
            business.id,
            name="till",
            role=Role.manager,
            location_id=None,
            now=SystemClock().now(),
        )
    return key


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_owner_sets_up_a_coffee_card_and_prints_the_branded_poster(
    live: LiveServer, page: Any, lang: str
) -> None:
    owner = new_business(live.db, "Café Aurora", locale=lang)
    actions = complete_setup(page, live.url, "coffee-stamps", lang, owner=owner)
    assert actions <= MOST_ACTIONS, f"the set-up took {actions} clicks and typed fields"

    poster = page.locator("[data-poster]")
    assert PROMISE[lang] in poster.inner_text()
    assert "Café Aurora" in poster.inner_text()
    assert page.get_attribute("[data-poster] [data-brand]", "data-brand") == BRAND_COLOUR
    logo_width = page.evaluate(
        "document.querySelector('[data-poster] img[data-logo]').naturalWidth"
    )
    assert logo_width == 64, "the uploaded logo is drawn on the poster"
    assert page.locator("[data-poster] svg").count() == 1  # the code to join

    # Live: a member's drink earns a stamp.
    api = httpx.Client(
        base_url=live.url, headers={"X-API-Key": _manager_key(live, owner.business)}, timeout=30
    )
    member = api.post("/api/v1/members", json={"name": "Eva", "email": "eva@example.org"})
    assert member.status_code == 201, member.text
    item = {"sku": "CAF", "category": "drinks", "quantity": 1, "unit_price": 150}
    body = {"receipt_id": "T-1", "amount": 150, "currency": "EUR", "items": [item]}
    earned = api.post("/api/v1/purchases", json=body | {"member_id": member.json()["id"]})
    assert earned.status_code in (200, 201), earned.text
    assert earned.json()["awards"], earned.text

    # The home no longer asks to finish the set-up; the join page wears the brand.
    page.goto(f"{live.url}/admin?lang={lang}")
    assert page.locator("a[href='/admin/setup']").count() == 0
    page.goto(f"{live.url}/join/{owner.business}?lang={lang}")
    assert page.get_attribute("header.brand-bar", "data-brand") == BRAND_COLOUR


def test_every_step_of_the_set_up_passes_the_accessibility_audit(
    live: LiveServer, browser: Any
) -> None:
    owner = new_business(live.db, "Bar Amarillo")
    context = browser.new_context(
        locale="es-ES", viewport={"width": 1024, "height": 900}, bypass_csp=True
    )
    problems: dict[str, list[str]] = {}
    try:
        page = context.new_page()
        page.goto(f"{live.url}/admin/login")
        page.fill("#business", owner.business)
        page.fill("#email", owner.email)
        page.fill("#password", owner.password)
        page.click("button[type=submit]")
        page.wait_for_url("**/admin/setup/business*")
        problems["business"] = _audit(page)
        page.fill("#colour", "#ffd23f")  # light: the text on it must be dark
        page.click("form[action='/admin/setup/business'] button[type=submit]")
        page.wait_for_url("**/admin/setup/program*")
        problems["program"] = _audit(page)
        page.click("button[data-template='gem-tiers']")
        page.wait_for_url("**/admin/setup/numbers*")
        problems["numbers"] = _audit(page)
        page.click("form[action='/admin/setup/numbers'] button[type=submit]")
        page.wait_for_url("**/admin/setup/places*")
        problems["places"] = _audit(page)
        page.click("form[action='/admin/setup/places'] button[type=submit]")
        page.wait_for_url("**/admin/setup/review*")
        problems["review"] = _audit(page)
        page.click("form[action='/admin/setup/live'] button[type=submit]")
        page.wait_for_url("**/admin/setup/done*")
        problems["poster"] = _audit(page)
        page.goto(f"{live.url}/admin/settings/brand")
        problems["brand settings"] = _audit(page)
        page.goto(f"{live.url}/join/{owner.business}")
        problems["join, branded"] = _audit(page)
    finally:
        context.close()
    failing = {where: found for where, found in problems.items() if found}
    assert failing == {}, failing


@pytest.mark.parametrize(
    ("template", "lang", "headline"),
    [
        ("points-per-unit", "en", "Join and earn 4 points per €1"),
        ("catalog-points", "es", "Únete y gana 1 punto por cada 100"),
        ("gem-tiers", "en", "Join and get 10% back on every purchase"),
        ("stars-tiers", "es", "Únete y gana 2 estrellas por cada 1"),
        ("trade-b2b", "en", "Join and earn 1 point per €1"),
    ],
)
def test_every_template_goes_live_through_the_same_walk(
    live: LiveServer, page: Any, template: str, lang: str, headline: str
) -> None:
    owner = new_business(live.db, f"Tienda {template}")
    actions = complete_setup(page, live.url, template, lang, owner=owner, location=None, staff=None)
    assert actions <= MOST_ACTIONS
    assert headline in page.locator("[data-promise]").inner_text()
    api = httpx.Client(
        base_url=live.url, headers={"X-API-Key": _manager_key(live, owner.business)}, timeout=30
    )
    program = api.get("/api/v1/program").json()
    assert program["definition"]["rules"], program
    member = api.post("/api/v1/members", json={"name": "Eva", "email": "eva@example.org"})
    body = {"receipt_id": "T-1", "amount": 10_000, "currency": "EUR"}
    earned = api.post("/api/v1/purchases", json=body | {"member_id": member.json()["id"]})
    assert earned.status_code in (200, 201), earned.text
    assert earned.json()["awards"], earned.text
