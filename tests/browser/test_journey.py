"""The whole journey in a real browser, in Spanish and in English: a customer opens the poster's
link, joins and types the e-mailed code, the wallet shows the card with 0 points; staff scan
the QR the wallet draws and record a purchase; the open wallet shows the new balance within
5 s without a reload; the member redeems a reward; staff validate the voucher, and a second
validation is refused."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import httpx
import pytest
import zxingcpp
from PIL import Image

from lealtad.web.i18n import translator
from tests.browser.conftest import LiveServer
from tests.browser.test_wallet_and_surveys import _code
from tests.support import PASSWORD, make_shop
from tests.web.test_posters import _draw_pdf_code


def _poster_link(live: LiveServer, slug: str, email: str, location: int) -> str:
    """The sign-up link as a phone camera reads it off the printed poster."""
    with httpx.Client(base_url=live.url, timeout=30) as staff:
        form = {"business": slug, "email": email, "password": PASSWORD}
        assert staff.post("/admin/login", data=form).status_code == 303
        pdf = staff.get(f"/admin/locations/{location}/poster.pdf").content
    return str(zxingcpp.read_barcodes(_draw_pdf_code(pdf))[0].text)


@pytest.mark.parametrize("lang", ["es", "en"])
def test_join_earn_at_the_counter_see_it_live_redeem_and_validate_once(
    live: LiveServer, browser, lang: str
) -> None:
    _ = translator(lang)
    shop = make_shop(live.db, datetime.now(UTC), members_count=0)
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    reward = {
        "slug": "latte",
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Café con leche gratis", "en": "Free latte"},
        "cost": 10,
    }
    assert api.post("/api/v1/rewards", json=reward).status_code == 201
    link = _poster_link(live, shop.slug, shop.staff_emails["manager"], shop.locations[0])
    assert link.startswith(f"{live.url}/join/{shop.slug}")

    locale = "es-ES" if lang == "es" else "en-GB"
    # bypass_csp: wait_for_function evaluates strings (the policy is tested on its own).
    phone = browser.new_context(
        locale=locale, viewport={"width": 390, "height": 844}, bypass_csp=True
    )
    tablet = browser.new_context(
        locale=locale, viewport={"width": 768, "height": 1024}, bypass_csp=True
    )
    member, counter = phone.new_page(), tablet.new_page()
    for page in (member, counter):
        page.set_default_timeout(10_000)
    try:
        # The customer joins from the poster, types the code the welcome e-mail brings and
        # lands on the card with 0 points.
        address = f"lucia.{lang}@example.org"
        member.goto(link)
        member.get_by_label(_("Your name")).fill("Lucía")
        member.get_by_label(_("Your e-mail")).fill(address)
        member.locator("input[name=accept_terms]").check()
        member.get_by_role("button", name=_("Get my card")).click()
        member.get_by_label(_("Six-digit code")).fill(_code(live, address))
        member.get_by_role("button", name=_("Open my card")).click()
        points = member.locator('[data-balance="points"] dd')
        assert points.inner_text() == "0"
        shot = member.locator("[data-card-qr] svg").screenshot()
        token = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))[0].text
        assert token.startswith("LT2-")

        # Staff log in, scan the code (a wedge scanner types it) and record a purchase.
        counter.goto(f"{live.url}/counter")
        counter.get_by_label(_("Business")).fill(shop.slug)
        counter.get_by_label(_("E-mail"), exact=True).fill(shop.staff_emails["staff"])
        counter.get_by_label(_("Password")).fill(PASSWORD)
        counter.get_by_role("button", name=_("Log in")).click()
        counter.get_by_label(_("Scan the card, or type a card number, e-mail or phone")).fill(token)
        counter.keyboard.press("Enter")
        counter.get_by_role("heading", name="Lucía").wait_for()
        counter.get_by_label(re.compile("^" + _("Amount"))).first.fill(
            "12,50" if lang == "es" else "12.50"
        )
        counter.get_by_role("button", name=_("Record purchase")).click()
        counter.get_by_role("heading", name=_("Purchase recorded")).wait_for()

        # The open wallet shows the new balance by itself within 5 s.
        member.wait_for_function(
            "document.querySelector('[data-balance=\"points\"] dd').innerText === '12'",
            timeout=5_000,
        )

        # The member redeems the reward; staff validate the voucher once.
        member.goto(f"{live.url}/w/{shop.slug}/rewards")
        member.get_by_role("link", name=_("Redeem")).first.click()
        member.get_by_role("button", name=_("Confirm")).click()  # nothing spent before this
        code = member.locator("[data-voucher-code]").inner_text().strip()
        assert member.locator("[data-state]").inner_text() == _("Ready to use")

        counter.goto(f"{live.url}/counter")
        counter.locator("#tool-voucher summary").click()
        counter.get_by_label(_("Voucher code")).fill(code)
        counter.get_by_role("button", name=_("Validate the voucher")).click()
        counter.get_by_text(_("Voucher used: hand over the reward.")).wait_for()

        counter.goto(f"{live.url}/counter")
        counter.locator("#tool-voucher summary").click()
        counter.get_by_label(_("Voucher code")).fill(code)
        counter.get_by_role("button", name=_("Validate the voucher")).click()
        refusal = _("This voucher was already used on %(when)s at %(where)s by %(who)s.")
        counter.get_by_text(re.compile(re.escape(refusal.split("%(when)s")[0]))).wait_for()
    finally:
        phone.close()
        tablet.close()
    balance = api.get("/api/v1/members/lookup", params={"email": f"lucia.{lang}@example.org"})
    assert balance.json()["balances"]["points"] == 2
