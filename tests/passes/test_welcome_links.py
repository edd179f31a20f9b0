"""The welcome e-mail carries the wallet card links (issue 20, part 3; D76): with the business's
Apple and Google credentials, the e-mail that reaches a real SMTP server (aiosmtpd) says "Add to
Apple Wallet" and "Save to Google Wallet" in the member's language, and following its links
against the running app, with no session, gives a signed `.pkpass` of that member and a Google
save link whose JWT verifies. Without credentials no link shows; a link after its 30 days, after
the card is reissued, or tampered with sends the visitor to sign in. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import subprocess
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from lealtad.comms import messages
from lealtad.comms.dispatch import dispatch
from lealtad.config import Settings
from lealtad.members import cards
from lealtad.members import model as members_model
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.conftest import Inbox
from tests.conftest import SECRET
from tests.passes.chain import PASS_TYPE_ID, make_chain, upload_apple
from tests.passes.live import free_base_url, serving
from tests.passes.test_google import ACCOUNT, KEY, _upload
from tests.support import admin_login

CHAIN = make_chain()
GOOGLE_SAVE = "https://pay.google.com/gp/v/save/"


@pytest.fixture
def live(db, clock, inbox, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    # 12:00 in Madrid: outside the default quiet hours, so the welcome goes at once.
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=free_base_url(),
        smtp_host="127.0.0.1",
        smtp_port=inbox[1],
        smtp_security="none",
    )
    with serving(settings, db, clock) as base:
        yield base, settings


def _welcome(db, settings, clock, shop, box: Inbox, address: str, locale: str) -> Message:
    return _enrol(db, settings, clock, shop, box, address, locale)[0]


def _enrol(db, settings, clock, shop, box: Inbox, address: str, locale: str) -> tuple[Message, int]:
    with db.transaction() as conn:
        member = members.enrol(
            conn,
            shop.id,
            MemberIn(name="Ana", email=address, locale=locale, consent=Consent(email=True)),  # type: ignore[arg-type]
            channel="api",
            now=clock.now(),
        )
    dispatch(db, clock.now(), business_id=shop.id)
    messages.send_due(db, settings, clock.now(), business_id=shop.id)
    (mail,) = [m for m in box.mails if m["To"] == address]
    return mail, member


def _part(mail: Message, kind: str) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == kind)
    return part.get_payload(decode=True).decode().replace("\r\n", "\n")  # type: ignore[union-attr]


def _link(text: str, label: str) -> str:
    found = re.search(rf"^{re.escape(label)}: (\S+)$", text, re.MULTILINE)
    assert found, f"no line {label!r} in:\n{text}"
    return found.group(1)


def _owner_sets_up_both_wallets(base: str, shop) -> None:
    with httpx.Client(base_url=base, timeout=60) as console:
        csrf = admin_login(console, shop, "owner")
        assert upload_apple(console, csrf, CHAIN).status_code == 303
        assert _upload(console, csrf, ACCOUNT).status_code == 303


def _verified_pass(data: bytes, tmp_path: Path) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(files["manifest.json"])
    assert set(manifest) == set(files) - {"manifest.json", "signature"}
    for name, digest in manifest.items():
        assert hashlib.sha1(files[name]).hexdigest() == digest, name
    for name in ("manifest.json", "signature"):
        (tmp_path / name).write_bytes(files[name])
    (tmp_path / "ca.pem").write_bytes(CHAIN.root_pem)
    verified = subprocess.run(
        [
            *("openssl", "smime", "-verify", "-binary", "-inform", "DER"),
            *("-in", str(tmp_path / "signature"), "-content", str(tmp_path / "manifest.json")),
            *("-CAfile", str(tmp_path / "ca.pem"), "-purpose", "any", "-out", "/dev/null"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stderr
    return dict(json.loads(files["pass.json"]))


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _google_object(location: str) -> dict:
    assert location.startswith(GOOGLE_SAVE)
    header, claims, signature = location.removeprefix(GOOGLE_SAVE).split(".")
    KEY.public_key().verify(
        _unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )
    payload = json.loads(_unb64(claims))
    assert payload["typ"] == "savetowallet"
    assert payload["iss"] == ACCOUNT["client_email"]
    (found,) = payload["payload"]["loyaltyObjects"]
    return dict(found)


def test_the_welcome_mail_links_open_the_members_cards_without_a_session(
    live, db, shop, clock, inbox, tmp_path: Path
):
    base, settings = live
    box, _port = inbox
    _owner_sets_up_both_wallets(base, shop)
    spanish = _welcome(db, settings, clock, shop, box, "ana@example.org", "es")
    english = _welcome(db, settings, clock, shop, box, "bob@example.org", "en")

    text = _part(spanish, "text/plain")
    apple = _link(text, "Añadir a Apple Wallet")
    google = _link(text, "Guardar en Google Wallet")
    assert apple.startswith(f"{base}/w/{shop.slug}/card.pkpass?t=")
    html = _part(spanish, "text/html")
    assert f'<a href="{apple}">Añadir a Apple Wallet</a>' in html
    assert f'<a href="{google}">Guardar en Google Wallet</a>' in html
    english_text = _part(english, "text/plain")
    assert _link(english_text, "Add to Apple Wallet") != apple
    assert _link(english_text, "Save to Google Wallet")

    # A phone that never signed in: no cookie, only the e-mail's link.
    with httpx.Client(timeout=60) as phone:
        answer = phone.get(apple)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "application/vnd.apple.pkpass"
        assert not phone.cookies
        card = _verified_pass(answer.content, tmp_path)
        assert card["passTypeIdentifier"] == PASS_TYPE_ID
        read = members_model.read_qr_token(SECRET, card["barcodes"][0]["message"])
        assert read is not None
        assert read[0] == shop.id
        saved = phone.get(google, follow_redirects=False)
        assert saved.status_code == 303
        loyalty = _google_object(saved.headers["location"])
        assert loyalty["barcode"]["value"] == card["barcodes"][0]["message"]
        assert loyalty["accountId"] == card["storeCard"]["backFields"][0]["value"]


def test_a_link_out_of_date_reissued_or_tampered_with_asks_the_member_to_sign_in(
    live, db, shop, clock, inbox
):
    base, settings = live
    box, _port = inbox
    _owner_sets_up_both_wallets(base, shop)
    text = _part(_welcome(db, settings, clock, shop, box, "cy@example.org", "en"), "text/plain")
    apple, google = _link(text, "Add to Apple Wallet"), _link(text, "Save to Google Wallet")
    login = f"/w/{shop.slug}/login"
    with httpx.Client(timeout=60) as phone:
        for changed in (apple[:-3] + "abc", apple.replace("?t=", "?t=x"), apple + "x" * 400):
            refused = phone.get(changed)
            assert refused.status_code == 303
            assert refused.headers["location"] == login

        clock.at += timedelta(days=29)
        assert phone.get(apple).status_code == 200
        clock.at += timedelta(days=1, seconds=1)
        for link in (apple, google):
            late = phone.get(link)
            assert late.status_code == 303
            assert late.headers["location"] == login
        signing_in = phone.get(apple, follow_redirects=True, headers={"Accept-Language": "en"})
        assert signing_in.status_code == 200
        assert "text/html" in signing_in.headers["content-type"]


def test_a_reissued_card_kills_the_link_of_the_old_one(live, db, shop, clock, inbox):
    base, settings = live
    box, _port = inbox
    _owner_sets_up_both_wallets(base, shop)
    mail, member_id = _enrol(db, settings, clock, shop, box, "eve@example.org", "en")
    apple = _link(_part(mail, "text/plain"), "Add to Apple Wallet")
    with httpx.Client(timeout=60) as phone:
        assert phone.get(apple).status_code == 200
        with db.transaction() as conn:
            cards.reissue(conn, shop.principal(), member_id, clock.now())
        answer = phone.get(apple)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/w/{shop.slug}/login"


def test_without_credentials_the_welcome_mail_has_no_wallet_links(live, db, shop, clock, inbox):
    base, settings = live
    box, _port = inbox
    mail = _welcome(db, settings, clock, shop, box, "dee@example.org", "es")
    text = _part(mail, "text/plain")
    assert "Wallet" not in text
    assert "card.pkpass" not in _part(mail, "text/html")
    assert f"{base}/w/{shop.slug}" in text


def test_the_consoles_preview_of_the_welcome_shows_the_links_without_a_members_token(live, shop):
    base, _settings = live
    with httpx.Client(base_url=base, timeout=60) as console:
        admin_login(console, shop)
        before = console.get("/admin/messages/preview", params={"template": "welcome", "in": "es"})
        assert "Añadir a Apple Wallet" not in before.text
    _owner_sets_up_both_wallets(base, shop)
    with httpx.Client(base_url=base, timeout=60) as console:
        admin_login(console, shop)
        page = console.get("/admin/messages/preview", params={"template": "welcome", "in": "es"})
        assert page.status_code == 200
        assert "Añadir a Apple Wallet" in page.text
        assert "Guardar en Google Wallet" in page.text
        followed = console.get(f"/w/{shop.slug}/card.pkpass?t=preview")
        assert followed.status_code == 303
        assert followed.headers["location"] == f"/w/{shop.slug}/login"
