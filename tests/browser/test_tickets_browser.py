"""In a real browser: a member pastes a VERI*FACTU invoice's QR address into the wallet's ticket
page and is told it waits for the shop; a manager approves it in the console's queue (a real
form with its CSRF token) and the points reach the member's wallet. A receipt's printed link
opens the page with the code filled in, and one tap claims it."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
from fastapi.responses import Response

from lealtad.tickets import model
from lealtad.web import sessions
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop

TAX_ID = "B12345674"
# The AEAT's ValidarQR address ("Características del QR" v0.5.0).
AEAT = "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR"


def _member_page(live: LiveServer, browser: Any, shop: Any, member: int) -> Any:
    cookie = Response()
    sessions.start_member(cookie, live.settings, shop.id, member, 1)
    value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    context = browser.new_context(locale="es-ES", bypass_csp=True)
    context.add_cookies([{"name": sessions.MEMBER_COOKIE, "value": value, "url": live.url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    return page


def test_an_invoice_waits_in_the_console_queue_and_a_manager_approves_it(
    live: LiveServer, browser: Any, page: Any
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=1)
    api = httpx.Client(base_url=live.url, headers=shop.auth("owner"), timeout=30)
    rules = {"tax_id": TAX_ID, "approval_above": 5000}
    assert api.put("/api/v1/ticket-settings", json=rules).status_code == 200
    query = {"nif": TAX_ID, "numserie": "FS-0099", "fecha": now.strftime("%d-%m-%Y")}
    url = f"{AEAT}?{urlencode(query | {'importe': '75.00'})}"

    wallet = _member_page(live, browser, shop, shop.members[0])
    wallet.goto(f"{live.url}/w/{shop.slug}")
    wallet.get_by_role("link", name="Ticket", exact=True).click()
    wallet.get_by_label("Código del ticket").fill(url)
    wallet.get_by_role("button", name="Reclamar mis puntos").click()
    assert "la tienda lo revisará" in wallet.locator('[data-outcome="pending"]').inner_text()

    page.goto(f"{live.url}/admin/tickets")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.get_by_role("link", name="Reclamaciones de tickets").first.wait_for()
    row = page.locator("[data-queue] tr[data-claim]")
    assert row.count() == 1
    assert "FS-0099" in row.inner_text()
    assert "75,00" in row.inner_text()
    page.get_by_role("button", name="Aprobar FS-0099").click()
    page.locator("[data-notice]").wait_for()
    assert "la compra queda registrada" in page.locator("[data-notice]").inner_text()
    assert page.locator("[data-empty]").is_visible()
    assert page.locator('[data-latest] tr[data-status="accepted"]').count() == 1

    wallet.goto(f"{live.url}/w/{shop.slug}/history")
    assert "75" in wallet.content()
    member = api.get(f"/api/v1/members/{shop.members[0]}").json()
    assert member["balances"]["points"] == 75


def test_a_receipts_printed_link_opens_the_wallet_with_the_code_and_one_tap_claims_it(
    live: LiveServer, browser: Any
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=1)
    api = httpx.Client(base_url=live.url, headers=shop.auth("owner"), timeout=30)
    key = api.post(f"/api/v1/locations/{shop.locations[0]}/ticket-keys").json()
    secret = base64.urlsafe_b64decode(key["secret"] + "=")
    code = model.sign(
        secret,
        key_id=key["key_id"],
        location_id=shop.locations[0],
        receipt_id="TPV1-000731",
        amount=1840,
        currency="EUR",
        issued_at=now,
    )
    wallet = _member_page(live, browser, shop, shop.members[0])
    wallet.goto(f"{live.url}/w/{shop.slug}/tickets?t={code}")
    assert wallet.get_by_label("Código del ticket").input_value() == code
    wallet.get_by_role("button", name="Reclamar mis puntos").click()
    said = wallet.locator('[data-outcome="accepted"]').inner_text()
    assert "has ganado 18 puntos" in said
    assert "18,40" in said
    wallet.goto(f"{live.url}/w/{shop.slug}/tickets?t={code}&lang=en")
    wallet.get_by_role("button", name="Claim my points").click()
    assert "already been claimed" in wallet.locator("[data-error]").inner_text()
