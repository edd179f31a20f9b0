"""SMS and WhatsApp consent in the member's wallet and on the sign-up form (issue 20, part 4):
offered only for the channels the business has switched on; the member ticks and unticks each
one beside e-mail and push, gives a mobile number when the card has none, and each channel's
consent keeps its date and source as the others do. Refusals are pages in the member's
language. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import os
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from lealtad.members import service as members
from lealtad.members import store as member_store
from tests.support import counter_login, form_field, wallet_login

SMS = {
    "base_url": "http://127.0.0.1:9",
    "account_sid": "AC" + "0" * 32,
    "auth_token": "sms-token",
    "sender": "+34911000111",
    "country_code": "34",
}
WHATSAPP = {
    "base_url": "http://127.0.0.1:9",
    "api_version": "v21.0",
    "phone_number_id": "1000000001",
    "access_token": "wa-token",
    "app_secret": "wa-secret",
    "verify_token": "wa-verify",
    "country_code": "34",
    "templates": {"welcome": "bienvenida_socio"},
    "languages": {"es": "es_ES", "en": "en_US"},
}


def switch_on(client, shop, *channels: str) -> None:
    for channel in channels:
        body = SMS if channel == "sms" else WHATSAPP
        answer = client.put(f"/api/v1/channels/{channel}", json=body, headers=shop.auth("owner"))
        assert answer.status_code == 200, answer.text


def consent_of(db, shop, member: int) -> dict:
    with db.read() as conn:
        return dict(member_store.member(conn, shop.id, member).consent)


def phone_of(db, shop, member: int) -> str | None:
    with db.read() as conn:
        return member_store.member(conn, shop.id, member).phone


def test_without_phone_channels_the_wallet_and_sign_up_ask_only_for_email_and_push(
    client, db, shop
):
    wallet_login(client, db, shop, shop.members[0])
    page = client.get(f"/w/{shop.slug}?lang=en").text
    assert "Offers and news by e-mail" in page
    assert 'name="sms"' not in page
    assert 'name="whatsapp"' not in page
    assert 'name="phone"' not in page
    client.cookies.clear()
    join = client.get(f"/join/{shop.slug}?lang=en").text
    assert "consent_sms" not in join
    assert "consent_whatsapp" not in join


def test_the_member_gives_a_number_and_consents_to_sms_and_whatsapp_with_dates(
    client, db, shop, clock
):
    switch_on(client, shop, "sms", "whatsapp")
    member = shop.members[0]
    csrf = wallet_login(client, db, shop, member)
    page = client.get(f"/w/{shop.slug}?lang=es").text
    assert "Ofertas y novedades por SMS" in page
    assert "Ofertas y novedades por WhatsApp" in page
    assert "Tu número de móvil (para SMS y WhatsApp)" in page
    before = consent_of(db, shop, member)

    clock.at += timedelta(hours=1)
    answer = client.post(
        f"/w/{shop.slug}/preferences",
        data={"csrf": csrf, "email": "true", "sms": "true", "whatsapp": "true"}
        | {"phone": "611 222 999", "lang": "es"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == f"/w/{shop.slug}?saved=1&lang=es"
    consent = consent_of(db, shop, member)
    for channel in ("sms", "whatsapp"):
        assert consent[channel] == {
            "granted": True,
            "at": clock.now().isoformat(),
            "source": "profile",
        }
    # Push did not change, so it keeps the date it was given.
    assert consent["push"] == before["push"]
    assert phone_of(db, shop, member) == "611222999"
    page = client.get(f"/w/{shop.slug}?lang=en").text
    assert "Messages go to your number •••• 999" in page
    assert 'name="phone"' not in page
    assert page.count("checked") >= 3

    # Withdrawing WhatsApp alone: SMS stays as it was, with its date.
    clock.at += timedelta(hours=1)
    client.post(
        f"/w/{shop.slug}/preferences",
        data={"csrf": csrf, "email": "true", "sms": "true", "lang": "en"},
    )
    after = consent_of(db, shop, member)
    assert after["whatsapp"] == {
        "granted": False,
        "at": clock.now().isoformat(),
        "source": "profile",
    }
    assert after["sms"] == consent["sms"]
    # A number sent while one is on the card is not taken: changing it is the counter's.
    client.post(
        f"/w/{shop.slug}/preferences",
        data={"csrf": csrf, "sms": "true", "phone": "699 000 111"},
    )
    assert phone_of(db, shop, member) == "611222999"


@pytest.mark.parametrize(
    ("phone", "lang", "status", "said"),
    [
        ("", "en", 422, "To get messages by SMS or WhatsApp, give your mobile number."),
        ("", "es", 422, "Para recibir mensajes por SMS o WhatsApp, indica tu número de móvil."),
        ("call me", "en", 422, "That phone number does not look right."),
        ("+34 600 000 002", "es", 409, "Ese número no se puede añadir aquí."),
    ],
)
def test_a_refused_choice_is_a_page_that_says_why_and_changes_nothing(
    client, db, shop, clock, phone, lang, status, said
):
    switch_on(client, shop, "whatsapp")
    with db.transaction() as conn:
        members.update(
            conn,
            shop.id,
            shop.members[1],
            members.MemberPatch(phone="+34 600 000 002"),
            clock.now(),
            may_change_contact=True,
        )
    member = shop.members[0]
    before = consent_of(db, shop, member)
    csrf = wallet_login(client, db, shop, member)
    answer = client.post(
        f"/w/{shop.slug}/preferences",
        data={"csrf": csrf, "whatsapp": "true", "phone": phone, "lang": lang},
    )
    assert answer.status_code == status
    assert "text/html" in answer.headers["content-type"]
    assert said in answer.text
    assert 'role="alert"' in answer.text
    assert consent_of(db, shop, member) == before
    assert phone_of(db, shop, member) is None


def _browser_keys() -> dict[str, str]:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    point = public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"p256dh": _b64(point), "auth": _b64(os.urandom(16))}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_turning_on_notifications_keeps_whatsapp_consent(client, db, shop):
    switch_on(client, shop, "whatsapp")
    member = shop.members[0]
    csrf = wallet_login(client, db, shop, member)
    client.post(
        f"/w/{shop.slug}/preferences",
        data={"csrf": csrf, "whatsapp": "true", "phone": "611 222 777"},
    )
    answer = client.post(
        f"/w/{shop.slug}/push",
        json={"endpoint": "https://push.example/abc", "keys": _browser_keys()},
        headers={"X-CSRF-Token": csrf},
    )
    assert answer.status_code == 201, answer.text
    assert consent_of(db, shop, member)["whatsapp"]["granted"] is True


def test_the_sign_up_form_asks_for_the_channels_switched_on_and_needs_the_number(client, db, shop):
    switch_on(client, shop, "sms")
    form = client.get(f"/join/{shop.slug}?lang=en").text
    assert 'name="consent_sms"' in form
    assert 'name="consent_whatsapp"' not in form
    base = {"name": "Rosa", "email": "rosa@example.org", "accept_terms": "true", "lang": "es"}
    refused = client.post(f"/join/{shop.slug}", data=base | {"consent_sms": "true"})
    assert refused.status_code == 422
    assert "indica tu número de móvil" in refused.text
    assert 'name="consent_sms" value="true" checked' in refused.text
    joined = client.post(
        f"/join/{shop.slug}",
        data=base | {"consent_sms": "true", "consent_whatsapp": "true", "phone": "622 333 444"},
    )
    assert joined.status_code == 200, joined.text
    with db.read() as conn:
        rosa = member_store.member_by(conn, shop.id, "email", "rosa@example.org")
    assert rosa.phone == "622333444"
    assert rosa.consent["sms"]["granted"] is True
    assert rosa.consent["sms"]["source"] == "self"
    # WhatsApp is not switched on here: ticking it by hand grants nothing.
    assert rosa.consent["whatsapp"]["granted"] is False


def test_the_counter_offers_whatsapp_consent_once_the_business_switched_it_on(client, db, shop):
    csrf = counter_login(client, shop)
    assert "consent_whatsapp" not in client.get("/counter?lang=en").text
    switch_on(client, shop, "whatsapp")
    page = client.get("/counter?lang=es").text
    assert "El cliente quiere recibir ofertas y novedades por WhatsApp" in page
    base = {"name": "Luis", "accept_terms": "true", "consent": "true", "csrf": csrf}
    base |= {"consent_whatsapp": "true", "lang": "en"}
    by_mail = client.post(
        "/counter/members",
        data=base | {"contact": "luis@example.org", "key": form_field(page, "key")},
    )
    assert by_mail.status_code == 422
    assert "WhatsApp needs the customer&#39;s phone number" in by_mail.text
    page = client.get("/counter?lang=en").text
    joined = client.post(
        "/counter/members",
        data=base | {"contact": "633 444 555", "key": form_field(page, "key")},
    )
    assert joined.status_code == 201, joined.text
    with db.read() as conn:
        luis = member_store.member_by(conn, shop.id, "phone", "633444555")
    assert luis.consent["whatsapp"]["granted"] is True
    assert luis.consent["whatsapp"]["source"] == "counter"
    assert luis.consent["sms"]["granted"] is True
