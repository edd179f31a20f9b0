"""Counter staff taking over a member's wallet (issue 16, point 2): the takeover starts by
putting the clerk's own e-mail on the member, so that the wallet's sign-in code comes to the
clerk. Staff are refused at that first step, by key, by token and on every page they can
reach; they search members only with a term, a few at a time and without contact details,
and misses are limited like the counter's. A manager's change is audited with the old and new
values (readable to managers, not in a raw copy of the database) and the member is told at
the old address."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.comms import messages
from lealtad.config import Settings
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from tests.comms.conftest import Inbox, _free_port
from tests.comms.test_email import text_of, to
from tests.security.routes import api_operations
from tests.security.test_personal_data import dump
from tests.support import PASSWORD, Shop, admin_login, counter_login

API = "/api/v1/members"
THIEF = "clerk.own@thief.example"
THIEF_PHONE = "+34 699 000 111"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    box, port = Inbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield box, port
    controller.stop()


@pytest.fixture
def mailing(settings: Settings, inbox: tuple[Inbox, int]) -> Settings:
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": inbox[1], "smtp_security": "none"}
    )


@pytest.fixture
def mail_client(db, mailing: Settings, clock) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(create_app(mailing, db=db, clock=clock)) as client:
        yield client


def staff_token(client: TestClient, shop: Shop) -> dict[str, str]:
    body = {"business": shop.slug, "email": shop.staff_emails["staff"], "password": PASSWORD}
    resp = client.post("/api/v1/auth/staff-token", json=body)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['token']}"}


def contact_of(client: TestClient, shop: Shop, member_id: int) -> tuple[Any, Any]:
    body = client.get(f"{API}/{member_id}", headers=shop.auth("manager")).json()
    return body["email"], body["phone"]


def test_staff_cannot_put_their_own_e_mail_or_phone_on_a_member_by_key_token_or_page(
    client: TestClient, shop: Shop
) -> None:
    victim = shop.members[0]
    before = contact_of(client, shop, victim)
    assert before[1] is None, "the victim has no phone: adding one is a change too"
    for headers in (shop.auth("staff"), staff_token(client, shop)):
        for patch in ({"email": THIEF}, {"phone": THIEF_PHONE}, {"email": None}):
            resp = client.patch(f"{API}/{victim}", json=patch, headers=headers)
            assert resp.status_code == 403, resp.text
            assert resp.json()["error"]["code"] == "role_required"
            assert "manager" in resp.json()["error"]["message"]
        # What the counter may still change: a misspelt name, the member's language.
        fixed = client.patch(f"{API}/{victim}", json={"name": "Ana Ruiz"}, headers=headers)
        assert fixed.status_code == 200, fixed.text
    # Every form a signed-in clerk can post, sent with the clerk's address in every field a
    # form could read it from: none puts it on the member.
    csrf = counter_login(client, shop)
    forms = [
        op.path
        for op in api_operations(client.app)  # type: ignore[arg-type]
        if op.method == "POST" and op.path.startswith(("/counter", "/admin/members"))
    ]
    assert "/admin/members/{member_id}/contact" in forms
    assert "/counter/members" in forms
    fields = {"csrf": csrf, "email": THIEF, "phone": THIEF_PHONE, "contact": THIEF, "q": THIEF}
    for path in forms:
        url = path.replace("{member_id}", str(victim))
        resp = client.post(url, data=fields | {"key": "takeover-probe-0001"})
        if path.startswith("/admin/members"):
            assert resp.status_code == 403, f"{path}: {resp.status_code}"
    assert contact_of(client, shop, victim) == before


def test_staff_find_members_only_by_a_term_a_few_at_a_time_and_as_the_counter_shows_them(
    client: TestClient, db, shop: Shop, clock
) -> None:
    with db.transaction() as conn:
        for n in range(12):
            data = MemberIn(name=f"Lucía Garrido {n}", email=f"lucia{n}@list.example")
            members.enrol(conn, shop.id, data, channel="api", now=clock.now())
    for headers in (shop.auth("staff"), staff_token(client, shop)):
        everyone = client.get(API, headers=headers)
        assert everyone.status_code == 422, everyone.text
        assert everyone.json()["error"]["code"] == "search_required"
        found = client.get(API, params={"q": "garrido"}, headers=headers)
        assert found.status_code == 200, found.text
        assert len(found.json()) == 10
        first = found.json()[0]
        assert set(first) == {"id", "card_number", "name", "status", "tier", "balances"}
        assert "@" not in found.text, "no e-mail reaches staff through the list"
        by_mail = client.get(API, params={"q": "Lucia3@List.example"}, headers=headers).json()
        assert [m["name"] for m in by_mail] == ["Lucía Garrido 3"]
    # Managers and owners keep the whole list, with the contact details.
    whole = client.get(API, params={"limit": 200}, headers=shop.auth("manager")).json()
    assert len(whole) == 14
    assert {m["email"] for m in whole} >= {f"lucia{n}@list.example" for n in range(12)}


def test_lookups_and_staff_searches_that_find_nobody_are_refused_after_twenty(
    client: TestClient, shop: Shop
) -> None:
    key = shop.auth("staff")
    for n in range(19):
        miss = client.get(f"{API}/lookup", params={"phone": f"61100{n:04d}"}, headers=key)
        assert miss.status_code == 404, miss.text
    # A search of the list that finds nobody is a miss of the same count.
    empty = client.get(API, params={"q": "nadie@nowhere.example"}, headers=key)
    assert (empty.status_code, empty.json()) == (200, [])
    locked = client.get(f"{API}/lookup", params={"email": "m0@x.example"}, headers=key)
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert int(locked.headers["Retry-After"]) > 0
    listing = client.get(API, params={"q": "Member"}, headers=key)
    assert listing.status_code == 429
    # Counted per caller: another key of the shop still finds members.
    other = client.get(f"{API}/lookup", params={"card_number": "0"}, headers=shop.auth("owner"))
    assert other.status_code == 404


def test_a_managers_contact_change_is_audited_readable_and_told_at_the_old_address(
    mail_client: TestClient, db, shop: Shop, clock, mailing: Settings, inbox
) -> None:
    client, box = mail_client, inbox[0]
    victim = shop.members[0]
    old_email, _ = contact_of(client, shop, victim)
    new_email, new_phone = f"moved.{shop.id}@new.example", "+34 688 123 457"
    resp = client.patch(
        f"{API}/{victim}", json={"email": new_email, "phone": new_phone}, headers=shop.auth()
    )
    assert resp.status_code == 200, resp.text
    # The manager reads the change, old and new, in the audit log (API and page).
    log = client.get("/api/v1/audit-log", params={"action": "member.update"}, headers=shop.auth())
    (entry,) = [e for e in log.json() if e["target"] == f"member:{victim}"]
    assert entry["details"]["email"] == {"before": old_email, "after": new_email}
    assert entry["details"]["phone"] == {"before": None, "after": "+34688123457"}
    admin_login(client, shop)
    page = client.get("/admin/audit?lang=en")
    assert old_email in page.text
    assert new_email in page.text
    # A copy of the database shows neither address, nor the new phone.
    everything = dump(db)
    for value in (old_email, new_email, "688123457"):
        assert value not in everything, value
    # The member hears of it at the address they had, in their language, with no link.
    messages.send_due(db, mailing, clock.now(), business_id=shop.id)
    (notice,) = to(box, old_email)
    assert notice["Subject"].startswith("Han cambiado tus datos de contacto")
    body = text_of(notice)
    assert "m•••@new.example" in body
    assert "•••• 457" in body
    assert "http" not in body
    assert "href" not in notice.as_string()
    assert to(box, new_email) == []


def test_a_manager_changes_contact_details_on_the_members_page_and_erasure_scrubs_them(
    client: TestClient, db, shop: Shop
) -> None:
    victim = shop.members[1]
    old_email, _ = contact_of(client, shop, victim)
    csrf = admin_login(client, shop)
    form = {"csrf": csrf, "email": "page.moved@new.example", "phone": "600 555 111"}
    saved = client.post(f"/admin/members/{victim}/contact", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    assert contact_of(client, shop, victim) == ("page.moved@new.example", "600555111")
    taken = client.post(
        f"/admin/members/{victim}/contact",
        data=form | {"email": f"m0@{old_email.split('@')[1]}"},
    )
    assert taken.status_code == 409
    assert "Otro socio ya tiene este correo" in taken.text
    log = client.get("/api/v1/audit-log", params={"action": "member.update"}, headers=shop.auth())
    (entry,) = [e for e in log.json() if e["target"] == f"member:{victim}"]
    assert entry["channel"] == "admin"
    assert entry["details"]["email"] == {"before": old_email, "after": "page.moved@new.example"}
    erased = client.post(f"{API}/{victim}/erasure", headers=shop.auth())
    assert erased.status_code == 200, erased.text
    log = client.get("/api/v1/audit-log", params={"action": "member.update"}, headers=shop.auth())
    (entry,) = [e for e in log.json() if e["target"] == f"member:{victim}"]
    assert entry["details"]["email"] == {"before": "(erased)", "after": "(erased)"}
    assert entry["details"]["phone"] == {"before": "(erased)", "after": "(erased)"}
