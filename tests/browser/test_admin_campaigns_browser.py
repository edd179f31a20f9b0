"""In a real browser at tablet size: the owner goes from the home's quick action to the campaign
composer, sees the message previewed with a member's name in both languages as it is typed
(HTMX), narrows the audience and sees it counted, and schedules the campaign."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from lealtad.comms import campaigns
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def test_the_owner_composes_and_schedules_a_campaign_with_its_preview_on_a_tablet(
    live: LiveServer, page
) -> None:
    page.set_viewport_size({"width": 820, "height": 1180})
    now = datetime.now(UTC)
    shop = make_shop(live.db, now, members_count=2)
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["owner"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin")
    sections = page.get_by_role("navigation", name="Secciones de la consola")
    expect(sections).to_be_visible()
    expect(sections.get_by_role("link", name="Inicio")).to_have_attribute("aria-current", "page")
    expect(page.locator("details.menu")).to_be_hidden()

    page.get_by_role("link", name="Enviar una campaña").click()
    expect(sections.get_by_role("link", name="Mensajes")).to_have_attribute("aria-current", "true")
    expect(page.locator("[data-audience]")).to_have_attribute("data-audience", "2")
    page.get_by_label("Nombre (para ti; los socios no lo ven)").fill("Primavera")
    page.get_by_label("Asunto en español").fill("Hola, {{ name }}")
    page.get_by_label("Mensaje en español").fill("Esta semana, doble de puntos.")
    page.get_by_label("Asunto en inglés").fill("Hello, {{ name }}")
    page.get_by_label("Mensaje en inglés").fill("Double points this week.")
    expect(page.locator('[data-preview="es"] [data-subject]')).to_have_text("Hola, Member 1")
    expect(page.locator('[data-preview="en"] [data-subject]')).to_have_text("Hello, Member 1")
    mail = page.frame_locator('[data-preview="es"] iframe')
    expect(mail.get_by_text("Esta semana, doble de puntos.")).to_be_visible()

    page.get_by_label("Etiquetas").fill("vip")
    page.get_by_label("Etiquetas").blur()
    expect(page.locator("[data-audience]")).to_have_attribute("data-audience", "0")
    page.get_by_label("Etiquetas").fill("")
    page.get_by_label("Etiquetas").blur()
    expect(page.locator("[data-audience]")).to_have_attribute("data-audience", "2")

    page.get_by_label("A una hora fijada").check()
    later = (now + timedelta(days=3)).strftime("%Y-%m-%dT10:00")
    page.get_by_label("Fecha y hora").fill(later)
    page.get_by_role("button", name="Guardar la campaña").click()
    expect(page.get_by_text("La campaña está guardada.")).to_be_visible()
    expect(page.locator("dd[data-status]")).to_have_text("Programada")
    with live.db.read() as conn:
        (saved,) = campaigns.listing(conn, shop.id)
    assert (saved.name, saved.status, saved.subject["es"]) == (
        "Primavera",
        "scheduled",
        "Hola, {{ name }}",
    )
