"""In a real browser: a manager connects Loyverse from the console, Loyverse's receipt reaches
the server at the address with its token, and the connector's section shows the delivery, in
Spanish and in English. Set LEALTAD_SHOTS to a folder to keep screenshots of both."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.connectors import loyverse_payloads as lv
from tests.support import PASSWORD, make_shop

SECRET = "lv-" + "7c1e9a3f" * 4


def test_a_manager_connects_loyverse_and_sees_its_deliveries(live: LiveServer, page) -> None:  # type: ignore[no-untyped-def]
    shop = make_shop(live.db, datetime.now(UTC))
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin")
    page.goto(f"{live.url}/admin/settings/connectors")
    page.get_by_label("Caja o tienda").select_option("loyverse")
    page.get_by_label("Secreto con el que firma el proveedor").fill(SECRET)
    page.get_by_role("button", name="Guardar conector").click()
    section = page.locator("#connector-loyverse")
    expect(section).to_contain_text(f"/hooks/loyverse/{shop.slug}?token=…")
    at = datetime.now(UTC) - timedelta(minutes=1)
    body = lv.delivery("receipts.update", at, [lv.receipt("1-0042", 9.5, at)])
    sent = httpx.post(
        f"{live.url}/hooks/loyverse/{shop.slug}",
        params={"token": SECRET},
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    assert sent.status_code == 200, sent.text
    shots = os.environ.get("LEALTAD_SHOTS")
    for lang, recorded in (("es", "Registrado"), ("en", "Recorded")):
        page.goto(f"{live.url}/admin/settings/connectors?lang={lang}")
        row = page.locator('#connector-loyverse tr[data-outcome="recorded"]')
        expect(row).to_contain_text("1-0042")
        expect(row).to_contain_text(recorded)
        if shots:
            page.locator("#connector-loyverse").screenshot(path=str(Path(shots) / f"lv-{lang}.png"))
            page.screenshot(path=str(Path(shots) / f"page-{lang}.png"), full_page=True)
