"""In a real browser, in Spanish: the rule form previews 4 points per whole euro on 23.99 as 92,
and the points form shows the months field for both kinds of expiry in months only."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def _login(live: LiveServer, page, shop) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin")


def test_whole_units_preview_92_for_23_99_and_months_show_their_field(
    live: LiveServer, page
) -> None:
    shop = make_shop(live.db, datetime.now(UTC))
    _login(live, page, shop)
    page.goto(f"{live.url}/admin/program/edit?part=rule&rule=base")
    draft = page.locator('[data-side="draft"] [data-unit="points"]')
    page.get_by_label("Importe (EUR)").fill("23.99")
    expect(draft).to_have_attribute("data-total", "23")
    page.get_by_label("Puntos por cada EUR gastado", exact=False).fill("4")
    expect(draft).to_have_attribute("data-total", "95")
    page.get_by_label("Importe que cuenta").select_option("whole_unit")
    expect(draft).to_have_attribute("data-total", "92")

    page.goto(f"{live.url}/admin/program/edit?part=points")
    months = page.get_by_label("Meses (si caducan pasados unos meses)")
    days = page.get_by_label("Días (si caducan pasados unos días)")
    expect(months).to_be_hidden()
    page.get_by_label("Los puntos caducan").select_option("months")
    expect(months).to_be_visible()
    expect(days).to_be_hidden()
    page.get_by_label("Los puntos caducan").select_option("months_end")
    expect(months).to_be_visible()
    months.fill("24")
    page.get_by_label("Motivo del cambio", exact=False).fill("Dos años")
    page.get_by_role("button", name="Guardar como versión nueva").click()
    expect(page.get_by_text("Guardado como versión 2.")).to_be_visible()
    expect(page.get_by_text("Los puntos caducan al final del mes que cae 24 meses")).to_be_visible()
