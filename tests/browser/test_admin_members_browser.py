"""In a real browser: a manager finds a member by card number from the one search box, tags
them, adds points with a reason and sees it explained in the ledger, and a take-away beyond the
balance is refused on the page."""

from __future__ import annotations

from datetime import UTC, datetime

from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def test_a_manager_finds_a_member_tags_them_and_adjusts_points_with_a_reason(
    live: LiveServer, page
) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=1)
    with live.db.transaction() as conn:
        member = members.get(conn, shop.id, shop.members[0])
        other = members.enrol(
            conn, shop.id, MemberIn(name="Otra Persona"), channel="api", now=datetime.now(UTC)
        )
    page.goto(f"{live.url}/admin/members")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()

    search = page.get_by_label("Buscar por nombre, correo, teléfono o número de tarjeta")
    search.fill(member.card_number)
    search.press("Enter")
    page.get_by_text("1 de 2 socios").wait_for()
    assert page.locator(f'tr[data-member="{other}"]').count() == 0
    page.get_by_role("link", name="Member 0").click()

    page.get_by_label("Nueva etiqueta").fill("VIP")
    page.get_by_role("button", name="Añadir la etiqueta").click()
    page.get_by_text("Etiquetas guardadas.").wait_for()
    assert page.locator('[data-tag="vip"]').count() == 1

    page.get_by_label("Cantidad (negativa para quitar)").fill("25")
    page.get_by_label("Motivo (obligatorio)").fill("Regalo de bienvenida")
    page.get_by_role("button", name="Registrar el ajuste").click()
    page.get_by_text("El ajuste está registrado.").wait_for()
    row = page.locator('tr[data-kind="adjust"]')
    assert "Regalo de bienvenida" in row.inner_text()
    assert "Por manager" in row.inner_text()
    assert page.locator('[data-balance="points"]').inner_text() == "25"

    page.get_by_label("Cantidad (negativa para quitar)").fill("-40")
    page.get_by_label("Motivo (obligatorio)").fill("Demasiado")
    page.get_by_role("button", name="Registrar el ajuste").click()
    alert = page.locator("#adjust-error")
    alert.wait_for()
    assert "bajo cero" in alert.inner_text()
    assert page.locator('[data-balance="points"]').inner_text() == "25"
