"""The member page's personal-data section: a manager downloads the member's data as JSON and
erases the member after typing the card number; CSRF, roles and businesses are checked; Spanish
and English. The database side (both dialects) is tested in tests/security/test_member_requests.py;
these pages run on SQLite only."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.ledger.verify import verify
from lealtad.members import pin
from lealtad.security.limits_tables import card_pins
from lealtad.tenancy.tables import audit_log
from tests.support import admin_login, purchase_body, refusal_code


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


def _member(client, shop, member_id) -> dict:
    return client.get(f"/api/v1/members/{member_id}", headers=shop.auth()).json()


def _erase(client, csrf, member_id, confirm, **form):
    data = {"csrf": csrf, "confirm": confirm, "lang": "en"} | form
    return client.post(f"/admin/members/{member_id}/erasure", data=data, follow_redirects=False)


def _entries(db, shop, action):
    with db.read() as conn:
        return conn.execute(
            select(audit_log).where(
                audit_log.c.business_id == shop.id, audit_log.c.action == action
            )
        ).all()


def test_a_manager_downloads_the_members_data_as_the_same_json_the_api_gives(
    client, db, shop
) -> None:
    member = shop.members[0]
    buy = purchase_body(member_id=member, amount=1500)
    assert client.post("/api/v1/purchases", json=buy, headers=shop.auth()).status_code == 201
    csrf = admin_login(client, shop)
    page = client.get(f"/admin/members/{member}?lang=en")
    assert f'action="/admin/members/{member}/data-export"' in page.text
    assert "Download data (JSON)" in page.text
    answer = client.post(f"/admin/members/{member}/data-export", data={"csrf": csrf})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-disposition"].startswith("attachment;")
    data = json.loads(answer.content)
    assert data["profile"]["name"] == "Member 0"
    assert [p["receipt_id"] for p in data["purchases"]] == [buy["receipt_id"]]
    api = client.get(f"/api/v1/members/{member}/data-export", headers=shop.auth()).json()
    assert data | {"exported_at": ""} == api | {"exported_at": ""}
    by_page = [e for e in _entries(db, shop, "member.export") if e.channel == "admin"]
    assert [(e.actor, e.target) for e in by_page] == [
        (f"staff:{shop.staff['manager']}", f"member:{member}")
    ]


def test_erasure_needs_the_card_number_typed_and_then_the_page_shows_the_pseudonymised_member(
    client, db, shop, clock
) -> None:
    member = shop.members[0]
    buy = purchase_body(member_id=member, amount=2000)
    assert client.post("/api/v1/purchases", json=buy, headers=shop.auth()).status_code == 201
    with db.transaction() as conn:
        pin.set_pin(conn, shop.id, member, "1357", clock.now())
    card = _member(client, shop, member)["card_number"]
    csrf = admin_login(client, shop)
    page = client.get(f"/admin/members/{member}?lang=en")
    assert "Erase member" in page.text
    assert f"type the card number {card}" in page.text

    for typed in ("", "0000000000", card[:-1]):
        refused = _erase(client, csrf, member, typed, reason="phone call")
        assert refused.status_code == 422, typed
        assert "Type the member&#39;s card number exactly" in refused.text
        assert 'value="phone call"' in refused.text
    assert _member(client, shop, member)["status"] == "active"

    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4)).lower()
    done = _erase(client, csrf, member, spaced, reason="phone call")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/admin/members/{member}?done=erased&lang=en"
    shown = client.get(done.headers["location"])
    assert shown.status_code == 200
    assert "The member is erased" in shown.text
    assert "(no name)" in shown.text
    assert "Member 0" not in shown.text
    assert "m0@" not in shown.text
    assert "<dd>Erased</dd>" in shown.text
    assert "data-erased" in shown.text
    assert "/erasure" not in shown.text
    assert "data-purchase=" in shown.text  # the books stay
    after = _member(client, shop, member)
    assert (after["status"], after["name"], after["email"]) == ("erased", None, None)
    assert after["balances"]["points"] == 20
    with db.read() as conn:
        assert verify(conn, shop.id) == []
        assert not conn.execute(select(card_pins).where(card_pins.c.member_id == member)).all()
    [entry] = _entries(db, shop, "member.erase")
    assert (entry.actor, entry.channel) == (f"staff:{shop.staff['manager']}", "admin")
    assert entry.details["reason"] == "phone call"


def test_the_owner_may_erase_staff_get_a_403_and_the_forms_need_the_csrf_token(
    client, shop, other_shop
) -> None:
    ours, theirs = shop.members[0], other_shop.members[0]
    admin_login(client, shop, role="staff")
    for path in ("data-export", "erasure"):
        answer = client.post(f"/admin/members/{ours}/{path}", data={"csrf": "x", "confirm": "x"})
        assert answer.status_code == 403, path
        assert refusal_code(answer) == "role_required"
    client.cookies.clear()
    csrf = admin_login(client, shop, role="owner")
    card = _member(client, shop, ours)["card_number"]
    for token in ("", "not-the-token"):
        for path in ("data-export", "erasure"):
            form = {"csrf": token, "confirm": card}
            answer = client.post(f"/admin/members/{ours}/{path}", data=form)
            assert answer.status_code == 403, path
            assert refusal_code(answer) == "csrf_token_invalid"
    assert _member(client, shop, ours)["status"] == "active"
    their_card = _member(client, other_shop, theirs)["card_number"]
    assert _erase(client, csrf, theirs, their_card).status_code == 404
    exported = client.post(f"/admin/members/{theirs}/data-export", data={"csrf": csrf})
    assert exported.status_code == 404
    assert "There is no such member." in exported.text
    assert _member(client, other_shop, theirs)["status"] == "active"
    assert _erase(client, csrf, ours, card).status_code == 303
    assert _member(client, shop, ours)["status"] == "erased"


def test_the_personal_data_section_speaks_spanish(client, shop) -> None:
    member = shop.members[0]
    csrf = admin_login(client, shop)
    page = client.get(f"/admin/members/{member}?lang=es")
    for text in ("Datos personales", "Descargar los datos (JSON)", "Borrar al socio"):
        assert text in page.text
    refused = _erase(client, csrf, member, "nope", lang="es")
    assert refused.status_code == 422
    assert "Escribe exactamente el número de tarjeta del socio" in refused.text
    card = _member(client, shop, member)["card_number"]
    done = _erase(client, csrf, member, card, lang="es")
    assert "El socio está borrado" in client.get(done.headers["location"]).text
