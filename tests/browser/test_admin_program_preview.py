"""In a real browser: the program editor previews a draft while the manager types (HTMX,
debounced), shows only the fields of the kind of rule chosen, and saves the draft as version 2."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import expect

from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def test_the_editor_previews_a_2x_draft_as_it_is_typed_and_saves_it(live: LiveServer, page) -> None:
    shop = make_shop(live.db, datetime.now(UTC))
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin")
    page.goto(f"{live.url}/admin/program/edit?part=rule&kind=multiplier")
    draft = page.locator('[data-side="draft"] [data-unit="points"]')
    current = page.locator('[data-side="current"] [data-unit="points"]')
    expect(draft).to_have_attribute("data-total", "10")
    expect(page.get_by_label("Puntos de bonificación")).to_be_hidden()
    page.get_by_label("Nombre", exact=True).fill("Puntos dobles")
    page.get_by_label("Multiplicador", exact=True).fill("2")
    expect(draft).to_have_attribute("data-total", "20")
    expect(current).to_have_attribute("data-total", "10")
    page.get_by_label("Importe (EUR)").fill("25")
    expect(draft).to_have_attribute("data-total", "50")
    page.get_by_label("Motivo del cambio", exact=False).fill("Campaña de puntos dobles")
    page.get_by_role("button", name="Guardar como versión nueva").click()
    expect(page.get_by_text("Guardado como versión 2.")).to_be_visible()
    expect(page.locator('[data-rule="puntos-dobles"]')).to_contain_text(
        "los puntos de la compra multiplicados por 2"
    )
