"""The first pages: landing and self-service sign-up, in Spanish and English."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image

from lealtad.web.i18n import LOCALES, pick_language
from tests.support import queued_code


def test_the_landing_page_speaks_spanish_and_english(client) -> None:
    assert "plataforma de fidelización" in client.get("/?lang=es").text
    assert "loyalty platform" in client.get("/?lang=en").text
    assert "loyalty platform" in client.get("/", headers={"Accept-Language": "en-GB,en;q=0.9"}).text


def test_the_sign_up_link_shows_a_form_in_the_business_language(client, shop) -> None:
    business = client.get("/api/v1/business", headers=shop.auth()).json()
    assert business["signup_url"].endswith(f"/join/{shop.slug}")
    page = client.get(f"/join/{shop.slug}")
    assert page.status_code == 200
    assert "Únete al programa" in page.text
    assert "Join the" in client.get(f"/join/{shop.slug}?lang=en").text


def test_signing_up_from_the_link_sends_a_code_that_opens_a_card_with_a_readable_qr(
    client, shop, db
) -> None:
    form = {"name": "Ana", "email": "ana@example.org", "accept_terms": "true", "lang": "en"}
    page = client.post(f"/join/{shop.slug}", data=form)
    assert page.status_code == 200, page.text
    assert "We have sent a six-digit code to ana@example.org" in page.text
    found = client.get(
        "/api/v1/members/lookup", params={"email": "ana@example.org"}, headers=shop.auth()
    )
    member = found.json()
    assert member["enrolment_channel"] == "self"
    code = queued_code(db, shop.id, member["id"])
    entry = {"email": "ana@example.org", "code": code, "lang": "en", "joined": "true"}
    wallet = client.post(f"/w/{shop.slug}/login/code", data=entry)
    assert str(wallet.url).endswith(f"/w/{shop.slug}?welcome=1&lang=en"), "welcomed in"
    assert "Welcome, Ana!" in wallet.text
    assert member["card_number"] in wallet.text
    assert 'data-token="LT2-' in wallet.text, "the wallet shows the rotating code"
    png = client.get(f"/api/v1/members/{member['id']}/card.png", headers=shop.auth()).content
    assert zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))[0].text == member["qr_token"]


def test_sign_up_without_accepting_the_terms_explains_why_in_the_members_language(
    client, shop
) -> None:
    form = {"name": "Ana", "email": "ana@example.org", "lang": "es"}
    page = client.post(f"/join/{shop.slug}", data=form)
    assert page.status_code == 422
    assert "aceptar las condiciones" in page.text
    again = client.post(f"/join/{shop.slug}", data=form | {"accept_terms": "true"})
    assert again.status_code == 200
    assert "Hemos enviado un código" in again.text


def test_sign_up_with_a_phone_only_is_sent_to_the_counter(client, shop) -> None:
    form = {"name": "Ana", "phone": "+34 600 111 222", "accept_terms": "true", "lang": "es"}
    page = client.post(f"/join/{shop.slug}", data=form)
    assert page.status_code == 422
    assert "pregunta en el mostrador" in page.text
    assert 'value="+34 600 111 222"' in page.text, "what was typed stays in the form"


def test_an_unknown_business_link_is_a_404(client) -> None:
    assert client.get("/join/no-such-business").status_code == 404


def test_every_spanish_message_is_translated() -> None:
    from babel.messages.pofile import read_po

    with (LOCALES / "es" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalog = read_po(handle)
    untranslated = [m.id for m in catalog if m.id and not m.string]
    assert untranslated == []


def test_language_choice_prefers_the_explicit_one_then_the_browser_then_the_business() -> None:
    assert pick_language("en", "es", "es") == "en"
    assert pick_language(None, "fr-FR,en;q=0.8", "es") == "en"
    assert pick_language(None, None, "es") == "es"


def test_every_message_the_pages_use_has_a_spanish_translation() -> None:
    import re
    from pathlib import Path

    from lealtad.web.i18n import _catalog

    package = Path(__file__).resolve().parents[2] / "src" / "lealtad"
    web = package / "web"
    sources = [*web.rglob("*.html"), *web.rglob("*.py"), *package.glob("*/pages.py")]
    patterns = (r'_\("((?:[^"\\]|\\.)+)"\)', r"_\('((?:[^'\\]|\\.)+)'\)")
    used = {
        m for path in sources for pattern in patterns for m in re.findall(pattern, path.read_text())
    }
    assert used, "no messages found: the pattern no longer matches the templates"
    missing = sorted(used - set(_catalog("es")))
    assert missing == [], f"messages without a Spanish translation: {missing}"
