"""In a real browser: an owner turns on two-step verification from their account page, logs out,
and logs back in with the password and then a code from the authenticator (pyotp here)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pyotp

from tests.browser.conftest import LiveServer
from tests.support import PASSWORD, make_shop


def test_an_owner_turns_on_two_step_and_logs_in_with_a_code(live: LiveServer, page) -> None:
    shop = make_shop(live.db, datetime.now(UTC), members_count=0)
    page.goto(f"{live.url}/admin/login")
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["owner"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin")

    page.goto(f"{live.url}/admin/two-step")
    secret = page.locator("code.totp-secret").get_attribute("data-secret")
    assert secret
    assert page.get_by_role("img", name="Código QR para añadir esta cuenta").is_visible()
    page.get_by_label("Código").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activar la verificación en dos pasos").click()
    page.get_by_text("La verificación en dos pasos está activada.").wait_for()

    page.get_by_role("button", name="Salir").click()
    page.get_by_label("Negocio").fill(shop.slug)
    page.get_by_label("Correo electrónico").fill(shop.staff_emails["owner"])
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Entrar").click()
    page.wait_for_url(f"{live.url}/admin/login/code")
    # The next step's code: the one that turned two-step on cannot be used again.
    page.get_by_label("Código").fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Continuar").click()
    page.wait_for_url(f"{live.url}/admin")
