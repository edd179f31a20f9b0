"""Members open the wallet with a six-digit code that arrives by e-mail through a real SMTP
server: the code works once, expires, allows five tries, and the session ends with the card."""

from __future__ import annotations

import re
from datetime import timedelta
from email.header import decode_header, make_header

from sqlalchemy import select

from lealtad.comms.tables import messages as messages_table
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.test_email import text_of, to


def enrol(db, shop, clock, address: str, locale: str = "es") -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(name="Lucía", email=address, locale=locale, consent=Consent(email=True)),  # type: ignore[arg-type]
            channel="api",
            now=clock.now(),
        )


def subject(mail) -> str:
    return str(make_header(decode_header(mail["Subject"])))


def ask(client, shop, address: str, lang: str = "es"):
    return client.post(f"/w/{shop.slug}/login", data={"email": address, "lang": lang})


def code_in(box, address: str) -> str:
    mail = to(box, address)[-1]
    found = re.search(r"\b(\d{6})\b", text_of(mail))
    assert found, text_of(mail)
    return found.group(1)


def enter(client, shop, address: str, code: str):
    return client.post(
        f"/w/{shop.slug}/login/code",
        data={"email": address, "code": code, "lang": "es"},
        follow_redirects=False,
    )


def test_a_member_gets_a_code_by_e_mail_and_opens_the_wallet(
    db, shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    page = ask(client, shop, "lucia@example.org")
    assert page.status_code == 200
    assert "Escribe tu código" in page.text
    mail = to(box, "lucia@example.org")[-1]
    assert subject(mail).startswith("Tu código para")
    code = code_in(box, "lucia@example.org")
    answer = enter(client, shop, "lucia@example.org", code)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/w/{shop.slug}"
    wallet = client.get(f"/w/{shop.slug}")
    assert wallet.status_code == 200
    assert "Tu saldo" in wallet.text
    assert "data-card-number" in wallet.text
    with db.read() as conn:
        logged = conn.execute(
            select(messages_table).where(
                messages_table.c.business_id == shop.id, messages_table.c.template == "login_code"
            )
        ).one()
    assert logged.status == "sent"
    assert code not in str(logged.context), "the message log must not keep the code"


def test_an_english_member_gets_the_code_in_english(
    db, shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "sam@example.org", "en")
    ask(client, shop, "sam@example.org", "en")
    mail = to(box, "sam@example.org")[-1]
    assert subject(mail).startswith("Your")
    assert "It expires in 10 minutes" in text_of(mail)


def test_an_unknown_address_gets_the_same_answer_and_no_mail(
    shop, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    page = ask(client, shop, "stranger@example.org")
    assert page.status_code == 200
    assert "Escribe tu código" in page.text
    assert box.mails == []


def test_a_code_works_once(db, shop, clock, client, mail_settings, inbox) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    code = code_in(box, "lucia@example.org")
    assert enter(client, shop, "lucia@example.org", code).status_code == 303
    client.cookies.clear()
    again = enter(client, shop, "lucia@example.org", code)
    assert again.status_code == 401
    assert "no es correcto o ha caducado" in again.text


def test_a_code_expires_after_ten_minutes(db, shop, clock, client, mail_settings, inbox) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    code = code_in(box, "lucia@example.org")
    clock.at = clock.now() + timedelta(minutes=11)
    assert enter(client, shop, "lucia@example.org", code).status_code == 401


def test_five_wrong_tries_kill_the_code(db, shop, clock, client, mail_settings, inbox) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    code = code_in(box, "lucia@example.org")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        assert enter(client, shop, "lucia@example.org", wrong).status_code == 401
    assert enter(client, shop, "lucia@example.org", code).status_code == 401


def test_a_new_code_voids_the_old_one(db, shop, clock, client, mail_settings, inbox) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    first = code_in(box, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    second = code_in(box, "lucia@example.org")
    if first != second:
        assert enter(client, shop, "lucia@example.org", first).status_code == 401
    assert enter(client, shop, "lucia@example.org", second).status_code == 303


def test_reissuing_the_card_ends_the_wallet_session(
    db, shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    member = enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    enter(client, shop, "lucia@example.org", code_in(box, "lucia@example.org"))
    assert client.get(f"/w/{shop.slug}", follow_redirects=False).status_code == 200
    reissued = client.post(f"/api/v1/members/{member}/card/reissue", headers=shop.auth())
    assert reissued.status_code in (200, 201), reissued.text
    answer = client.get(f"/w/{shop.slug}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/login")


def test_the_session_of_one_business_does_not_open_another(
    db, shop, other_shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    enter(client, shop, "lucia@example.org", code_in(box, "lucia@example.org"))
    answer = client.get(f"/w/{other_shop.slug}", follow_redirects=False)
    assert answer.status_code == 303


def test_the_member_changes_their_own_message_preferences(
    db, shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    member = enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    enter(client, shop, "lucia@example.org", code_in(box, "lucia@example.org"))
    page = client.get(f"/w/{shop.slug}").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    forged = client.post(f"/w/{shop.slug}/preferences", data={"csrf": "nope"})
    assert forged.status_code == 403
    saved = client.post(f"/w/{shop.slug}/preferences", data={"csrf": csrf}, follow_redirects=False)
    assert saved.status_code == 303
    found = client.get(f"/api/v1/members/{member}", headers=shop.auth()).json()
    assert found["consent"]["email"]["granted"] is False


def _browser_keys() -> tuple[str, str]:
    import base64
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    return b64(point), b64(os.urandom(16))


def test_subscribing_to_push_from_the_wallet_needs_the_session_and_its_token(
    db, shop, clock, client, mail_settings, inbox
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    p256dh, auth = _browser_keys()
    body = {
        "endpoint": "https://push.example.net/send/abc123",
        "keys": {"p256dh": p256dh, "auth": auth},
    }
    assert client.post(f"/w/{shop.slug}/push", json=body).status_code == 401
    member = enrol(db, shop, clock, "lucia@example.org")
    ask(client, shop, "lucia@example.org")
    enter(client, shop, "lucia@example.org", code_in(box, "lucia@example.org"))
    page = client.get(f"/w/{shop.slug}").text
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    assert 'data-key="' in page, "the wallet must hand the browser the VAPID public key"
    forged = client.post(f"/w/{shop.slug}/push", json=body, headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    answer = client.post(f"/w/{shop.slug}/push", json=body, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 201, answer.text
    found = client.get(f"/api/v1/members/{member}", headers=shop.auth()).json()
    assert found["consent"]["push"]["granted"] is True
    bad = {"endpoint": "https://push.example.net/x", "keys": {"p256dh": "nope", "auth": auth}}
    refused = client.post(f"/w/{shop.slug}/push", json=bad, headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"]


def test_a_development_install_without_smtp_prints_the_code_to_the_console(
    db, shop, clock, client, caplog
) -> None:
    enrol(db, shop, clock, "lucia@example.org")
    client.app.state.settings = client.app.state.settings.model_copy(update={"env": "dev"})
    with caplog.at_level("WARNING", logger="lealtad.wallet"):
        ask(client, shop, "lucia@example.org")
    found = re.search(r"wallet login code (\d{6})", caplog.text)
    assert found, caplog.text
    assert enter(client, shop, "lucia@example.org", found.group(1)).status_code == 303


def test_a_test_or_production_install_never_prints_the_code(
    db, shop, clock, client, caplog
) -> None:
    enrol(db, shop, clock, "lucia@example.org")
    with caplog.at_level("WARNING", logger="lealtad.wallet"):
        ask(client, shop, "lucia@example.org")
    assert "login code" not in caplog.text
