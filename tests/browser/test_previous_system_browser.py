"""In a real browser: the member page shows the previous system's lifetime figures in the customer
value card, beside Lealtad's own visits and spend and apart from them, in Spanish and in English.
Set LEALTAD_SHOTS to a folder to keep a screenshot of the card in each language."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lealtad.imports import opening as importer
from lealtad.kit.clock import SystemClock
from lealtad.purchases import service as purchases
from lealtad.purchases.schemas import PurchaseIn
from tests.browser.conftest import LiveServer
from tests.conftest import SECRET
from tests.support import PASSWORD, make_shop


def test_the_value_card_shows_the_figures_before_lealtad_in_both_languages(
    live: LiveServer, page, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    shop = make_shop(live.db, now - timedelta(days=40), members_count=1)
    (ana,) = shop.members
    for day in (3, 17):
        body = PurchaseIn(
            receipt_id=f"R{day}",
            amount=1_850,
            currency="EUR",
            member_id=ana,
            occurred_at=now - timedelta(days=40 - day),
        )
        with live.db.transaction() as conn:
            purchases.record(conn, shop.principal(), body, secret_key=SECRET, now=now)
    path = tmp_path / "lifetime.csv"
    path.write_text(
        "member_id,lifetime_spend,lifetime_visits,lifetime_points,lifetime_as_of\n"
        f"{ana},1845000,212,18450,2026-11-30\n",
        encoding="utf-8",
    )
    importer.import_balances(live.db, shop.id, path, secret_key=SECRET, clock=SystemClock())
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo").fill(shop.staff_emails["manager"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url("**/admin**")
    shots = os.environ.get("LEALTAD_SHOTS")
    expected = {
        "es": "Antes de Lealtad (sistema anterior, a 30 nov 2026): 212 visitas, "
        "18.450,00\xa0€ gastados, 18.450 puntos ganados",
        "en": "Before Lealtad (previous system, as of 30 Nov 2026): 212 visits, "
        "€18,450.00 spent, 18,450 points earned",
    }
    for lang, text in expected.items():
        page.goto(f"{live.url}/admin/members/{ana}?lang={lang}")
        line = page.locator('[data-value="previous-system"]')
        line.wait_for()
        assert line.is_visible()
        assert line.inner_text() == text
        card = page.locator("#value")
        assert line.bounding_box() is not None
        if shots:
            card.screenshot(path=str(Path(shots) / f"previous-system-{lang}.png"))
