"""In a real browser on a tablet: staff at the counter of a café started from the coffee card
tap "Café" twice, see the amount fill in from the prices, record the sale, and read the two
stamps and the full card's reward by their Spanish names; the sale carries two drinks."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import select

from lealtad.purchases.tables import purchases
from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_template_shop


def test_staff_tap_a_drink_twice_record_it_and_see_the_stamps_and_the_reward_in_spanish(
    live: LiveServer, page
) -> None:
    shop = make_template_shop(live.db, datetime.now(UTC), members_count=1)
    api = httpx.Client(base_url=live.url, headers=shop.auth(), timeout=30)
    member = api.get(f"/api/v1/members/{shop.members[0]}").json()
    eight = {"sku": "CCL", "category": "drinks", "quantity": 8, "unit_price": 180}
    bought = api.post(
        "/api/v1/purchases",
        json={
            "receipt_id": "T-8",
            "amount": 1440,
            "currency": "EUR",
            "member_id": member["id"],
            "items": [eight],
        },
    )
    assert bought.status_code == 201, bought.text
    page.set_viewport_size({"width": 820, "height": 1180})

    page.goto(f"{live.url}/counter")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["staff"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/counter")
    page.keyboard.type(member["card_number"])
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Member 0").wait_for()
    assert "8 de 10 sellos" in page.locator(".balances").inner_text()

    cafe = page.get_by_role("button", name="Café 1,50 €", exact=True)
    cafe.click()
    cafe.click()
    assert page.get_by_label("Importe (EUR)").input_value() == "3,00"
    assert page.get_by_label("Cantidad: Café", exact=True).input_value() == "2"
    page.get_by_role("button", name="Registrar compra").click()

    result = page.locator(".result")
    result.get_by_role("heading", name="Compra registrada").wait_for()
    said = result.inner_text()
    assert "+2 sellos en la tarjeta Café" in said
    assert "Tarjeta Café completa: ya puede canjear Bebida gratis." in said
    redeem = page.get_by_role("button", name="Canjear: Bebida gratis")
    assert redeem.is_visible()
    with live.db.read() as conn:
        sale = conn.execute(
            select(purchases).where(purchases.c.business_id == shop.id, purchases.c.amount == 300)
        ).one()
    assert [(i["sku"], str(i["quantity"])) for i in sale.items] == [("CAFE", "2")]
