"""In a real browser: a member redeems a reward from the wallet's catalog, the voucher's QR as
Chromium draws it decodes to the code printed under it, and the Share button of the referral
link falls back to copying the link where the browser has no share sheet."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import httpx
import zxingcpp
from fastapi.responses import Response
from PIL import Image

from lealtad.ledger import adjustments
from lealtad.web import sessions
from tests.browser.conftest import LiveServer
from tests.support import make_shop


def test_a_member_redeems_in_the_wallet_and_shares_the_invitation_link(
    live: LiveServer, browser
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=1)
    member = shop.members[0]
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    body = {
        "slug": "latte",
        "kind": "free_product",
        "sku": "LAT",
        "title": {"es": "Café con leche gratis", "en": "Free latte"},
        "cost": 100,
    }
    assert api.post("/api/v1/rewards", json=body).status_code == 201
    with live.db.transaction() as conn:
        adjustments.adjust(
            conn, shop.id, member, unit="points", amount=130, reason="t", actor="t", now=now
        )
    # The session the e-mailed code would open (the code itself is tested elsewhere).
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, member, 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    context = browser.new_context(locale="es-ES")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live.url)
    context.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live.url}/w/{shop.slug}/rewards")
        page.get_by_role("link", name="Canjear").click()
        # Nothing is spent before the member says yes.
        page.get_by_text("¿Canjear Café con leche gratis por 100 puntos?").wait_for()
        page.get_by_role("button", name="Confirmar").click()
        code = page.locator("[data-voucher-code]").inner_text().strip()
        assert page.locator("[data-state]").inner_text() == "Listo para usar"
        shot = page.locator("[data-voucher-qr] svg").screenshot()
        assert zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))[0].text == code

        page.get_by_role("link", name="Yo").click()
        link = page.get_by_label("Tu enlace de invitación").input_value()
        assert link.startswith(f"{live.url}/join/{shop.slug}?ref=")
        page.get_by_role("button", name="Compartir mi enlace").click()
        page.get_by_text("Enlace copiado.").wait_for()
        assert page.evaluate("navigator.clipboard.readText()") == link
    finally:
        context.close()
