"""The console's SMS and WhatsApp settings page, for owners, in Spanish and English: the forms
save through the same checks as the JSON API, a refusal is a page (never JSON), tokens are
never shown back, and the callback addresses to give the providers are listed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.comms.phone_provider import Provider
from tests.support import Shop, admin_login


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider()
    yield found
    found.stop()


@pytest.fixture
def web(db: Database, settings: Settings, clock: FixedClock) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"base_url": "http://lealtad.test"}), db, clock)
    with TestClient(app) as client:
        yield client


def test_the_owner_sets_up_sms_and_whatsapp_in_the_console(
    web: TestClient, shop: Shop, provider: Provider
) -> None:
    csrf = admin_login(web, shop, role="owner")
    web.headers["Accept-Language"] = "es"
    page = web.get("/admin/settings/channels")
    assert page.status_code == 200
    assert "SMS y WhatsApp" in page.text
    assert 'href="/admin/settings/channels"' in page.text, "in the settings navigation"
    sms_form = {
        "csrf": csrf,
        "enabled": "true",
        "base_url": provider.url,
        "account_sid": provider.account,
        "auth_token": provider.token,
        "sender": "Cafeteria",
        "country_code": "34",
    }
    refused = web.post("/admin/settings/channels/sms", data={**sms_form, "auth_token": ""})
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert "La primera vez, rellena todos los tokens y secretos." in refused.text
    bad = web.post("/admin/settings/channels/sms", data={**sms_form, "sender": "x" * 40})
    assert bad.status_code == 422
    assert "Revisa estos campos: sender" in bad.text
    saved = web.post("/admin/settings/channels/sms", data=sms_form, follow_redirects=False)
    assert saved.status_code == 303
    page = web.get("/admin/settings/channels")
    assert provider.token not in page.text
    assert f"http://lealtad.test/api/v1/public/{shop.slug}/sms/status" in page.text
    assert "Guardado. Déjalo en blanco para conservarlo." in page.text
    wa_form = {
        "csrf": csrf,
        "enabled": "true",
        "base_url": provider.url,
        "api_version": "v21.0",
        "phone_number_id": provider.phone_number_id,
        "access_token": provider.access_token,
        "app_secret": "app-secret",
        "verify_token": "verify-token-1",
        "country_code": "34",
        "templates": "welcome = bienvenida_socio\nvoucher=tu_vale\n",
        "language_es": "es_ES",
        "language_en": "en_US",
    }
    wrong = web.post(
        "/admin/settings/channels/whatsapp", data={**wa_form, "templates": "welcome = Hola!"}
    )
    assert wrong.status_code == 422
    assert "nombre de plantilla" in wrong.text
    saved = web.post("/admin/settings/channels/whatsapp", data=wa_form, follow_redirects=False)
    assert saved.status_code == 303
    web.headers["Accept-Language"] = "en"
    page = web.get("/admin/settings/channels?lang=en")
    assert "SMS and WhatsApp" in page.text
    assert "welcome = bienvenida_socio" in page.text
    assert "voucher = tu_vale" in page.text
    assert f"http://lealtad.test/api/v1/public/{shop.slug}/whatsapp" in page.text
    assert "app-secret" not in page.text
    channels = web.get("/api/v1/channels", headers=shop.auth("owner")).json()
    assert [(c["channel"], c["sender"]) for c in channels] == [
        ("sms", "Cafeteria"),
        ("whatsapp", provider.phone_number_id),
    ]


def test_a_manager_is_refused_the_page(web: TestClient, shop: Shop) -> None:
    admin_login(web, shop, role="manager")
    answer = web.get("/admin/settings/channels")
    assert answer.status_code == 403
    assert answer.headers["content-type"].startswith("text/html")
