"""In a real browser on a tablet-sized screen: staff log in, a keyboard-wedge scanner types the
member's card code into the scan box and presses Enter, staff type the amount and record the
purchase; the points earned show without the page reloading, and the sale is recorded once."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import func, select

from lealtad.purchases.tables import purchases
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def test_staff_scan_a_members_card_record_a_purchase_and_see_the_points_earned(
    live: LiveServer, page
) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1)
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    token = api.get(f"/api/v1/members/{shop.members[0]}").json()["qr_token"]
    page.set_viewport_size({"width": 768, "height": 1024})

    page.goto(f"{live.url}/counter")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["staff"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/counter")

    # The scan box has the cursor, so a wedge scanner types straight into it.
    scan = page.get_by_label("Escanea la tarjeta o escribe un número de tarjeta, correo o teléfono")
    assert scan.evaluate("element => element === document.activeElement")
    page.evaluate("window.stillTheSamePage = true")
    page.keyboard.type(token)
    page.keyboard.press("Enter")

    page.get_by_role("heading", name="Member 0").wait_for()
    amount = page.get_by_label("Importe (EUR)")
    assert amount.evaluate("element => element === document.activeElement")
    amount.fill("12,50")
    page.get_by_role("button", name="Registrar compra").click()

    page.get_by_role("heading", name="Compra registrada").wait_for()
    assert page.get_by_text("+12 puntos").is_visible()
    assert "Saldo ahora: 12 puntos" in page.locator(".result").inner_text()
    assert page.evaluate("window.stillTheSamePage") is True
    assert page.url.endswith(f"/counter/members/{shop.members[0]}")

    with live.db.read() as conn:
        count = select(func.count()).where(purchases.c.business_id == shop.id)
        assert conn.execute(count).scalar_one() == 1
    assert api.get(f"/api/v1/members/{shop.members[0]}").json()["balances"]["points"] == 12
