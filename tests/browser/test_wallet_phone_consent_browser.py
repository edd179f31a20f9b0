"""On a phone, in Chromium: the member switches SMS and WhatsApp on in the wallet's messages,
is asked for a mobile number when the card has none, gives it and sees it masked; in Spanish and
English; and the sign-up form and the counter offer the channels the business switched on.
Screenshots of each screen go to $LEALTAD_SHOTS when set. On SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.responses import Response

from lealtad.config import Settings
from lealtad.members import store as member_store
from lealtad.web import sessions
from tests.conftest import SECRET
from tests.passes.chain import make_chain, upload_apple
from tests.passes.live import free_base_url, serving
from tests.support import PASSWORD, admin_login
from tests.web.test_wallet_phone_consent import SMS, WHATSAPP

PHONE = {"width": 390, "height": 844}


@pytest.fixture
def site(db, clock, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=free_base_url(),
    )
    with serving(settings, db, clock) as base:
        yield base, settings


@pytest.fixture
def phone(browser: Any) -> Iterator[Any]:
    context = browser.new_context(
        locale="es-ES", viewport=PHONE, is_mobile=True, has_touch=True, bypass_csp=True
    )
    yield context
    context.close()


def _shot(page: Any, name: str) -> None:
    folder = os.environ.get("LEALTAD_SHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _signed_in(context: Any, base: str, settings: Settings, db, shop, member: int) -> None:
    with db.read() as conn:
        version = member_store.member(conn, shop.id, member).card_version
    cookie = Response()
    sessions.start_member(cookie, settings, shop.id, member, version)
    name, value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)
    context.add_cookies([{"name": name, "value": value, "url": base}])


def test_a_member_switches_on_whatsapp_and_sms_from_the_phone(site, phone, db, shop) -> None:
    base, settings = site
    owner = httpx.Client(base_url=base, headers=shop.auth("owner"), timeout=60)
    for channel, body in (("sms", SMS), ("whatsapp", WHATSAPP)):
        assert owner.put(f"/api/v1/channels/{channel}", json=body).status_code == 200
    member = shop.members[0]
    _signed_in(phone, base, settings, db, shop, member)
    page = phone.new_page()

    page.goto(f"{base}/w/{shop.slug}?lang=es")
    whatsapp = page.get_by_label("Ofertas y novedades por WhatsApp")
    sms = page.get_by_label("Ofertas y novedades por SMS")
    assert not whatsapp.is_checked()
    page.locator("#prefs-h").scroll_into_view_if_needed()
    _shot(page, "wallet-messages-es")
    whatsapp.check()
    page.get_by_role("button", name="Guardar", exact=True).click()
    alert = page.get_by_role("alert")
    assert "indica tu número de móvil" in alert.inner_text()
    # The ticks survive the refusal: the member only adds the number.
    assert page.get_by_label("Ofertas y novedades por WhatsApp").is_checked()
    _shot(page, "wallet-messages-refused-es")

    page.get_by_label("Tu número de móvil (para SMS y WhatsApp)").fill("611 222 999")
    page.get_by_label("Ofertas y novedades por SMS").check()
    page.get_by_role("button", name="Guardar", exact=True).click()
    assert page.get_by_role("status").filter(has_text="Guardado").count() == 1
    assert "•••• 999" in page.locator("#phone-on-file").inner_text()
    assert page.get_by_label("Ofertas y novedades por WhatsApp").is_checked()
    assert sms.is_checked()
    _shot(page, "wallet-messages-saved-es")
    with db.read() as conn:
        consent = member_store.member(conn, shop.id, member).consent
    assert consent["whatsapp"]["granted"]
    assert consent["sms"]["granted"]
    assert consent["whatsapp"]["source"] == "profile"

    page.goto(f"{base}/w/{shop.slug}?lang=en")
    page.get_by_label("Offers and news by WhatsApp").uncheck()
    page.get_by_role("button", name="Save", exact=True).click()
    assert "Messages go to your number •••• 999" in page.locator("#phone-on-file").inner_text()
    assert not page.get_by_label("Offers and news by WhatsApp").is_checked()
    assert page.get_by_label("Offers and news by SMS").is_checked()
    _shot(page, "wallet-messages-saved-en")
    # Nothing runs off a phone's screen.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_sign_up_and_the_counter_offer_the_channels_switched_on(
    site, phone, shop, lang
) -> None:
    base, _settings = site
    owner = httpx.Client(base_url=base, headers=shop.auth("owner"), timeout=60)
    assert owner.put("/api/v1/channels/whatsapp", json=WHATSAPP).status_code == 200
    page = phone.new_page()
    page.goto(f"{base}/join/{shop.slug}?lang={lang}")
    label = {
        "es": "Quiero recibir ofertas y novedades por WhatsApp",
        "en": "Send me offers and news by WhatsApp",
    }[lang]
    assert page.get_by_label(label).count() == 1
    assert page.locator("input[name=consent_sms]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    _shot(page, f"join-{lang}")

    page.goto(f"{base}/admin/login?lang={lang}")
    page.fill("input[name=business]", shop.slug)
    page.fill("input[name=email]", shop.staff_emails["staff"])
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.goto(f"{base}/counter?lang={lang}")
    page.locator("#tool-enrol summary").click()
    counter_label = {
        "es": "El cliente quiere recibir ofertas y novedades por WhatsApp",
        "en": "The customer wants offers and news by WhatsApp",
    }[lang]
    assert page.get_by_label(counter_label).count() == 1
    _shot(page, f"counter-enrol-{lang}")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_campaign_composer_offers_whatsapp_alone(site, phone, shop, lang) -> None:
    base, _settings = site
    owner = httpx.Client(base_url=base, headers=shop.auth("owner"), timeout=60)
    assert owner.put("/api/v1/channels/whatsapp", json=WHATSAPP).status_code == 200
    page = phone.new_page()
    page.goto(f"{base}/admin/login?lang={lang}")
    page.fill("input[name=business]", shop.slug)
    page.fill("input[name=email]", shop.staff_emails["manager"])
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.goto(f"{base}/admin/campaigns/new?lang={lang}")
    only = {"es": "Solo WhatsApp", "en": "WhatsApp only"}[lang]
    page.get_by_label(only).check()
    page.locator("#h-channel").scroll_into_view_if_needed()
    _shot(page, f"campaign-new-{lang}")
    page.fill("[name=name]", "Finde")
    for part, text in (("subject", "Fin de semana"), ("body", "Doble de puntos.")):
        page.fill(f"[name={part}_es]", text)
        page.fill(f"[name={part}_en]", text)
    page.get_by_role(
        "button", name={"es": "Guardar la campaña", "en": "Save the campaign"}[lang]
    ).click()
    assert only in page.locator("main").inner_text()
    _shot(page, f"campaign-saved-{lang}")


@pytest.mark.parametrize("lang", ["es", "en"])
def test_the_welcome_preview_shows_the_wallet_links(site, phone, shop, lang) -> None:
    base, _settings = site
    with httpx.Client(base_url=base, timeout=60) as console:
        csrf = admin_login(console, shop, "owner")
        assert upload_apple(console, csrf, make_chain()).status_code == 303
    page = phone.new_page()
    page.goto(f"{base}/admin/login?lang={lang}")
    page.fill("input[name=business]", shop.slug)
    page.fill("input[name=email]", shop.staff_emails["manager"])
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.goto(f"{base}/admin/messages/preview?template=welcome&in={lang}&lang={lang}")
    label = {"es": "Añadir a Apple Wallet", "en": "Add to Apple Wallet"}[lang]
    assert label in page.content()
    _shot(page, f"welcome-preview-{lang}")
