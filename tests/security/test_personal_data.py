"""Personal data at rest (issue 8.3, D28): members' contact details are encrypted, found through
keyed blind indexes, absent from a raw dump of the database, exported and erased as before."""

from __future__ import annotations

import re
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.ledger.verify import verify
from lealtad.members import service as members
from lealtad.members import store
from lealtad.members.tables import members as members_table
from tests.comms.conftest import Inbox, _free_port
from tests.comms.test_email import text_of, to
from tests.support import purchase_body, wallet_login


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mail_client(db, settings: Settings, clock, inbox):  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from lealtad.api import create_app

    mailing = settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_security": "none"}
    )
    with TestClient(create_app(mailing, db=db, clock=clock)) as client:
        yield client


def dump(db: Database) -> str:
    """Everything the database holds, as an attacker with a copy of it would read it."""
    if db.dialect == "sqlite":
        path = Path(db.engine.url.database or "")
        # The file and its write-ahead log, byte for byte, and SQLite's own SQL dump.
        raw = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        with sqlite3.connect(path) as conn:
            return raw.decode("latin-1") + "\n".join(conn.iterdump())
    parts = []
    with db.read() as conn:
        for table in inspect(conn).get_table_names():
            rows = conn.execute(text(f'SELECT row_to_json(t)::text FROM "{table}" t')).scalars()
            parts.extend(rows)
    return "\n".join(parts)


def forms_of(email: str, phone: str) -> list[str]:
    digits = re.sub(r"\D", "", phone)
    return [email, email.lower(), email.upper(), email.split("@")[0].lower(), phone, digits]


def test_a_raw_dump_holds_no_members_e_mail_or_phone_after_a_day_of_use(
    db, mail_client, shop, clock, inbox
) -> None:
    client = mail_client
    tag = secrets.token_hex(4)
    api_email = f"Zaida.Api{tag}@Example.org"
    api_phone = "+34 611 " + str(int(tag, 16) % 1000000).zfill(6)
    self_email = f"quintin.self{tag}@example.net"
    self_phone = "+34 622 " + str(int(tag[::-1], 16) % 1000000).zfill(6)
    enrolled = client.post(
        "/api/v1/members",
        json={
            "name": "Zaida Api",
            "email": api_email,
            "phone": api_phone,
            "birthday": "1990-05-17",
            "consent": {"email": True},
        },
        headers={**shop.auth(), "Idempotency-Key": f"enrol-{tag}"},
    )
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["email"] == api_email.lower()
    member_id = enrolled.json()["id"]
    joined = client.post(
        f"/api/v1/public/{shop.slug}/members",
        json={
            "name": "Quintín Self",
            "email": self_email,
            "phone": self_phone,
            "accept_terms": True,
            "consent": {"email": True},
        },
    )
    assert joined.status_code == 202, joined.text
    for amount in (1250, 800):
        bought = client.post(
            "/api/v1/purchases",
            json=purchase_body(member_id=member_id, amount=amount),
            headers={**shop.auth(), "Idempotency-Key": f"buy-{tag}-{amount}"},
        )
        assert bought.status_code in (200, 201), bought.text
    changed = client.patch(
        f"/api/v1/members/{member_id}", json={"name": "Zaida Api Luna"}, headers=shop.auth()
    )
    assert changed.status_code == 200, changed.text
    # A message through comms: the one-time login code, by real SMTP, and the login with it.
    box = inbox[0]
    asked = client.post(f"/w/{shop.slug}/login", data={"email": self_email, "lang": "es"})
    assert asked.status_code == 200, asked.text
    code = re.search(r"\b(\d{6})\b", text_of(to(box, self_email)[-1]))
    assert code is not None
    entered = client.post(
        f"/w/{shop.slug}/login/code",
        data={"email": self_email, "code": code.group(1), "lang": "es"},
        follow_redirects=False,
    )
    assert entered.status_code == 303, entered.text
    client.cookies.clear()
    csrf = wallet_login(client, db, shop, member_id)
    exported = client.post(f"/w/{shop.slug}/me/export", data={"csrf": csrf})
    assert exported.status_code == 200
    assert api_email.lower() in exported.text
    assert "+34611" in exported.text
    found = client.get("/api/v1/members/lookup", params={"email": api_email}, headers=shop.auth())
    assert found.json()["id"] == member_id

    everything = dump(db)
    assert f"buy-{tag}-1250" in everything  # the dump does see this test's rows
    for secret in forms_of(api_email, api_phone) + forms_of(self_email, self_phone):
        assert secret not in everything, secret
    assert "Zaida" not in everything
    assert "Quintín" not in everything


def test_e_mail_phone_and_name_words_find_the_member_and_an_e_mail_is_one_members(
    db, client, shop, clock
) -> None:
    made = client.post(
        "/api/v1/members",
        json={"name": "María José Ruiz", "email": "mj@ruiz.example", "phone": "600 123 456"},
        headers=shop.auth(),
    ).json()
    with db.read() as conn:
        for how in ({"email": " MJ@Ruiz.Example "}, {"phone": "600-123-456"}):
            assert members.find(conn, shop.id, "k", **how).id == made["id"]  # type: ignore[arg-type]
    admin = client.get(f"/api/v1/members/{made['id']}", headers=shop.auth()).json()
    assert (admin["name"], admin["phone"]) == ("María José Ruiz", "600123456")
    again = client.post("/api/v1/members", json={"email": "MJ@ruiz.example"}, headers=shop.auth())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_email"
    # Below the service, the unique index on the blind index still holds.
    with pytest.raises(IntegrityError), db.transaction() as conn:
        store.insert_member(
            conn,
            business_id=shop.id,
            card_number="0000000000",
            card_version=1,
            email="mj@ruiz.example",
            locale="es",
            tags=[],
            consent={},
            enrolment_channel="api",
            enrolled_at=clock.now().replace(tzinfo=None),
            status="active",
        )


def test_the_birthday_job_finds_todays_birthdays_through_the_index(db, client, shop, clock):
    today = clock.now().date()
    ids = []
    for day in (date(1985, today.month, today.day), date(1985, 1, 1 if today.day != 1 else 2)):
        answer = client.post(
            "/api/v1/members",
            json={"name": "Cumple", "birthday": day.isoformat()},
            headers=shop.auth(),
        )
        ids.append(answer.json()["id"])
    with db.transaction() as conn:
        done = run_daily(conn, shop.id, clock.now(), "secret")
        row = conn.execute(
            select(members_table.c.birthday_index).where(members_table.c.id == ids[0])
        ).scalar_one()
    assert done.birthdays == 1
    assert row
    assert "-" not in row


def test_erasure_pseudonymises_the_encrypted_profile_and_the_ledger_still_verifies(
    db, client, shop, clock
) -> None:
    member_id = client.post(
        "/api/v1/members",
        json={"name": "Borrar Me", "email": "borrar@me.example", "phone": "+34 633 000 111"},
        headers=shop.auth(),
    ).json()["id"]
    client.post(
        "/api/v1/purchases",
        json=purchase_body(member_id=member_id, amount=2000),
        headers={**shop.auth(), "Idempotency-Key": "erase-buy"},
    )
    csrf = wallet_login(client, db, shop, member_id)
    gone = client.post(f"/w/{shop.slug}/me/delete", data={"csrf": csrf, "confirm": "yes"})
    assert gone.status_code == 200, gone.text
    with db.read() as conn:
        row = conn.execute(select(members_table).where(members_table.c.id == member_id)).one()
        assert row.status == "erased"
        cleared = ("name", "email", "phone", "birthday", "name_index", "email_index")
        assert all(getattr(row, field) is None for field in (*cleared, "phone_index"))
        assert verify(conn, shop.id) == []
    # The address is free again: a new member may use it.
    again = client.post("/api/v1/members", json={"email": "borrar@me.example"}, headers=shop.auth())
    assert again.status_code == 201, again.text
