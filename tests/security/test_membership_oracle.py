"""The public sign-up is no membership oracle (issue 16, point 9): the API and the /join form
answer byte for byte alike whether or not an e-mail, or a phone given with a new e-mail,
already belongs to a member. The e-mail is proven with the wallet's own code: a new member
gets a welcome with it, an existing one a code to open the card they have (never a second
membership), and the code opens the wallet. Sign-ups per address are limited."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.members.tables import members
from tests.comms.conftest import Inbox, _free_port
from tests.comms.test_email import text_of, to
from tests.conftest import SECRET
from tests.support import Shop

EXISTING_PHONE = "+34 611 222 333"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_client(db, settings: Settings, clock, inbox) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    mailing = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_security": "none"}
    )
    with TestClient(create_app(mailing, db=db, clock=clock)) as client:
        yield client


def existing(client: TestClient, shop: Shop) -> str:
    """The e-mail of a member of the shop, who is also given EXISTING_PHONE."""
    member = shop.members[0]
    patched = client.patch(
        f"/api/v1/members/{member}", json={"phone": EXISTING_PHONE}, headers=shop.auth()
    )
    assert patched.status_code == 200, patched.text
    return str(patched.json()["email"])


def count_with(db, shop: Shop, column: str, value: str) -> int:  # type: ignore[no-untyped-def]
    from lealtad.members import pii
    from lealtad.security.fields import keys_of

    keys = keys_of(db.engine.dialect)
    index = {"email": pii.email_index, "phone": pii.phone_index}[column](keys, shop.id, value)
    with db.read() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(members)
                .where(members.c.business_id == shop.id, members.c[f"{column}_index"] == index)
            ).scalar_one()
        )


def test_the_public_api_answers_alike_for_a_new_and_an_existing_e_mail_or_phone(
    client: TestClient, db, shop: Shop
) -> None:
    taken = existing(client, shop)
    url = f"/api/v1/public/{shop.slug}/members"
    base = {"name": "Someone", "accept_terms": True}
    answers = [
        client.post(url, json=base | {"email": "brand.new@oracle.example"}),
        client.post(url, json=base | {"email": taken}),
        client.post(url, json=base | {"email": "second.new@oracle.example", "phone": "611999888"}),
        client.post(
            url, json=base | {"email": "third.new@oracle.example", "phone": EXISTING_PHONE}
        ),
    ]
    assert {(a.status_code, a.content) for a in answers} == {(202, b'{"status":"code_sent"}')}
    # Nobody joined twice: the taken address is still one member's, and the taken phone too;
    # the member who gave it joined without it.
    assert count_with(db, shop, "email", taken) == 1
    assert count_with(db, shop, "phone", EXISTING_PHONE) == 1
    assert count_with(db, shop, "email", "third.new@oracle.example") == 1
    third = client.get(
        "/api/v1/members/lookup",
        params={"email": "third.new@oracle.example"},
        headers=shop.auth(),
    ).json()
    assert third["phone"] is None
    # A phone alone cannot be proven online, whether or not it is someone's.
    phone_only = [
        client.post(url, json=base | {"phone": phone}) for phone in ("622000111", EXISTING_PHONE)
    ]
    assert {(a.status_code, a.content) for a in phone_only} == {(422, phone_only[0].content)}
    assert phone_only[0].json()["error"]["code"] == "email_required"


def test_the_join_form_answers_alike_for_a_new_and_an_existing_e_mail_or_phone(
    client: TestClient, db, shop: Shop
) -> None:
    taken = existing(client, shop)
    base = {"name": "Someone", "accept_terms": "true", "lang": "es"}
    tries = [
        base | {"email": "page.new@oracle.example"},
        base | {"email": taken},
        base | {"email": "page.second@oracle.example", "phone": "633444555"},
        base | {"email": "page.third@oracle.example", "phone": EXISTING_PHONE},
    ]
    pages = set()
    for form in tries:
        page = client.post(f"/join/{shop.slug}", data=form)
        assert "set-cookie" not in page.headers
        # The address typed is shown back ("we sent a code to ..."): the only difference.
        pages.add((page.status_code, page.text.replace(form["email"], "<e-mail>")))
    assert len(pages) == 1
    ((status, text),) = pages
    assert status == 200
    assert "Hemos enviado un código de seis cifras a <e-mail>" in text
    assert count_with(db, shop, "email", taken) == 1
    assert count_with(db, shop, "phone", EXISTING_PHONE) == 1


def test_an_existing_member_signing_up_again_gets_a_code_to_their_own_card_not_a_second_one(
    mail_client: TestClient, db, shop: Shop, inbox
) -> None:
    client, box = mail_client, inbox[0]
    taken = existing(client, shop)
    card = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    base = {"name": "Again", "accept_terms": "true", "lang": "en"}
    again = client.post(f"/join/{shop.slug}", data=base | {"email": taken})
    assert again.status_code == 200, again.text
    fresh = client.post(f"/join/{shop.slug}", data=base | {"email": "fresh@oracle.example"})
    assert fresh.status_code == 200, fresh.text
    (reminder,) = to(box, taken)
    # In the member's own language (Spanish, the shop's), not the form's.
    assert reminder["Subject"].startswith("Ya eres socio/a de")
    (welcome,) = to(box, "fresh@oracle.example")
    assert welcome["Subject"].startswith("Welcome to")
    assert count_with(db, shop, "email", taken) == 1
    # Either code opens that member's own wallet, as the code page's form sends it.
    for address, mail, landing in (
        (taken, reminder, f"/w/{shop.slug}"),
        ("fresh@oracle.example", welcome, f"/w/{shop.slug}?welcome=1&lang=en"),
    ):
        code = re.search(r"\b(\d{6})\b", text_of(mail))
        assert code is not None
        client.cookies.clear()
        entry = {"email": address, "code": code.group(1), "lang": "en", "joined": "true"}
        opened = client.post(f"/w/{shop.slug}/login/code", data=entry, follow_redirects=False)
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == landing
        wallet = client.get(landing)
        assert wallet.status_code == 200
        if address == taken:
            assert card["card_number"] in wallet.text
    client.cookies.clear()


def test_sign_ups_for_one_address_are_limited_on_the_api_and_the_form(
    client: TestClient, shop: Shop
) -> None:
    url = f"/api/v1/public/{shop.slug}/members"
    body = {"name": "Flood", "email": "flooded@oracle.example", "accept_terms": True}
    for _ in range(5):
        assert client.post(url, json=body).status_code == 202
    refused = client.post(url, json=body)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) > 0
    form = {"name": "Flood", "email": "flooded@oracle.example", "accept_terms": "true"}
    page = client.post(f"/join/{shop.slug}", data=form | {"lang": "en"})
    assert page.status_code == 429
    assert "Too many sign-ups" in page.text
    assert page.headers["Retry-After"]


def test_only_a_development_install_without_mail_shows_the_code_on_the_page(
    sqlite_db, clock, tmp_path: Path
) -> None:
    from tests.support import make_shop

    shop = make_shop(sqlite_db, clock.now())
    form = {"name": "Demo", "email": "demo@oracle.example", "accept_terms": "true"}
    shown = {}
    for env in ("dev", "test"):
        settings = Settings(
            env=env, secret_key=SECRET, data_dir=tmp_path / env, log_level="warning"
        )
        with TestClient(create_app(settings, db=sqlite_db, clock=clock)) as client:
            for lang in ("es", "en"):
                page = client.post(f"/join/{shop.slug}", data=form | {"lang": lang})
                assert page.status_code == 200, page.text
                shown[env, lang] = page.text
    assert "Modo de demostración" in shown["dev", "es"]
    assert "Demo mode: no mail server is configured" in shown["dev", "en"]
    assert re.search(r'data-demo-code="\d{6}"', shown["dev", "en"])
    for lang in ("es", "en"):
        assert "data-demo-code" not in shown["test", lang]
