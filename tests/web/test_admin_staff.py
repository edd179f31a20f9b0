"""Staff accounts and API keys in the admin console, with the limits of each role."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from lealtad.errors import Conflict
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from tests.support import PASSWORD, admin_login

NEW_PASSWORD = "a long enough password"


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.headers["Accept-Language"] = "en"


def _add(client, csrf: str, **fields: str):
    form = {"name": "Lucía", "email": "lucia@example.org", "role": "staff", "location": ""}
    form |= {"password": NEW_PASSWORD, "csrf": csrf} | fields
    return client.post("/admin/settings/staff", data=form, follow_redirects=False)


def _new_id(answer) -> int:
    return int(re.search(r"staff-(\d+)", answer.headers["location"]).group(1))  # type: ignore[union-attr]


def _login(client, shop, email: str, password: str):
    form = {"business": shop.slug, "email": email, "password": password}
    return client.post("/admin/login", data=form, follow_redirects=False)


def test_a_manager_adds_a_staff_member_who_can_then_log_in(client, shop, db) -> None:
    csrf = admin_login(client, shop)
    answer = _add(client, csrf, location=str(shop.locations[1]))
    assert answer.status_code == 303
    staff_id = _new_id(answer)
    with db.read() as conn:
        row = tenancy_store.staff(conn, shop.id, staff_id)
    assert (row.role, row.location_id, row.active) == ("staff", shop.locations[1], True)
    assert row.password_hash.startswith("$argon2")
    page = client.get("/admin/settings/staff")
    assert "lucia@example.org" in page.text
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    assert entries[0]["action"] == "staff.create"
    assert entries[0]["target"] == f"staff:{staff_id}"
    client.cookies.clear()
    assert _login(client, shop, "lucia@example.org", NEW_PASSWORD).headers["location"] == "/counter"


def test_a_manager_cannot_create_an_owner_but_an_owner_can(client, shop) -> None:
    csrf = admin_login(client, shop)
    refused = _add(client, csrf, role="owner")
    assert refused.status_code == 403
    assert "Your role does not allow this." in refused.text
    assert 'value="owner"' not in client.get("/admin/settings/staff").text
    client.cookies.clear()
    csrf = admin_login(client, shop, role="owner")
    assert _add(client, csrf, role="owner", email="second@example.org").status_code == 303


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"password": "short"}, 422, "The password needs at least 10 characters."),
        ({"email": "not-an-address"}, 422, "That e-mail address does not look right."),
        ({"name": " "}, 422, "Please give a name."),
        ({"role": "emperor"}, 422, "Choose a role."),
        ({"location": "999999999"}, 404, "There is no such location."),
        ({"location": "abc"}, 422, "There is no such location."),
    ],
)
def test_a_bad_staff_form_is_refused_on_the_page(client, shop, fields, status, message) -> None:
    csrf = admin_login(client, shop)
    answer = _add(client, csrf, **fields)
    assert answer.status_code == status
    assert message in answer.text


def test_an_e_mail_that_already_has_an_account_is_refused(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = _add(client, csrf, email=shop.staff_emails["staff"].upper())
    assert answer.status_code == 409
    assert "That e-mail already has a staff account here." in answer.text


def test_a_manager_changes_a_role_but_not_to_or_from_owner(client, shop, db) -> None:
    csrf = admin_login(client, shop)
    staff_id = shop.staff["staff"]
    answer = client.post(
        f"/admin/settings/staff/{staff_id}/role",
        data={"role": "manager", "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    with db.read() as conn:
        assert tenancy_store.staff(conn, shop.id, staff_id).role == "manager"
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    assert entries[0]["details"] == {"role": {"before": "staff", "after": "manager"}}
    for target, role in ((staff_id, "owner"), (shop.staff["owner"], "manager")):
        answer = client.post(
            f"/admin/settings/staff/{target}/role", data={"role": role, "csrf": csrf}
        )
        assert answer.status_code == 403
        assert "Your role does not allow this." in answer.text


def test_nobody_changes_or_deactivates_their_own_account(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    me = shop.staff["owner"]
    for path, data in (
        (f"/admin/settings/staff/{me}/active", {"active": "false"}),
        (f"/admin/settings/staff/{me}/role", {"role": "manager"}),
    ):
        answer = client.post(path, data={**data, "csrf": csrf})
        assert answer.status_code == 403
        assert "You cannot change your own role or deactivate yourself." in answer.text


def test_a_deactivated_staff_member_cannot_log_in_until_reactivated(client, shop) -> None:
    csrf = admin_login(client, shop)
    staff_id = shop.staff["staff"]
    url = f"/admin/settings/staff/{staff_id}/active"
    assert client.post(url, data={"active": "false", "csrf": csrf}).status_code == 200
    assert "deactivated" in client.get("/admin/settings/staff").text
    email = shop.staff_emails["staff"]
    assert _login(TestClient(client.app), shop, email, PASSWORD).status_code == 401
    client.post(url, data={"active": "true", "csrf": csrf})
    assert _login(TestClient(client.app), shop, email, PASSWORD).status_code == 303
    actions = [e["action"] for e in client.get("/api/v1/audit-log", headers=shop.auth()).json()]
    assert actions[:2] == ["staff.reactivate", "staff.deactivate"]


def test_only_an_owner_deactivates_an_owner(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        f"/admin/settings/staff/{shop.staff['owner']}/active",
        data={"active": "false", "csrf": csrf},
    )
    assert answer.status_code == 403


def test_the_last_active_owner_is_never_removed(client, shop, db, clock) -> None:
    csrf = admin_login(client, shop, role="owner")
    second = _new_id(_add(client, csrf, role="owner", email="second@example.org"))
    # With two owners, one may deactivate the other.
    url = f"/admin/settings/staff/{second}/active"
    assert client.post(url, data={"active": "false", "csrf": csrf}).status_code == 200
    # Now only one is left: nobody, not even the system, takes it away.
    system = Principal(shop.id, Role.owner)
    with db.transaction() as conn, pytest.raises(Conflict) as refused:
        tenancy.set_staff_active(conn, system, shop.staff["owner"], False, clock.now())
    assert refused.value.code == "last_owner"
    with db.transaction() as conn, pytest.raises(Conflict):
        tenancy.change_staff_role(conn, system, shop.staff["owner"], Role.manager, clock.now())


def test_an_owner_creates_an_api_key_shown_once_and_revokes_it(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    answer = client.post(
        "/admin/settings/api-keys",
        data={"name": "Till 1", "role": "staff", "location": str(shop.locations[0]), "csrf": csrf},
    )
    assert answer.status_code == 201
    assert answer.headers["cache-control"] == "no-store"
    key = re.search(r'<code id="new-key">(lk_[^<]+)</code>', answer.text).group(1)  # type: ignore[union-attr]
    assert (
        client.get("/api/v1/business", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )
    page = client.get("/admin/settings/api-keys")
    assert key not in page.text
    assert key.split("_")[1] in page.text
    key_id = max(k["id"] for k in client.get("/api/v1/api-keys", headers=shop.auth("owner")).json())
    answer = client.post(
        f"/admin/settings/api-keys/{key_id}/revoke", data={"csrf": csrf}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert (
        client.get("/api/v1/business", headers={"Authorization": f"Bearer {key}"}).status_code
        == 401
    )
    actions = [e["action"] for e in client.get("/api/v1/audit-log", headers=shop.auth()).json()]
    assert actions[:2] == ["api_key.revoke", "api_key.create"]


def test_api_keys_are_for_owners_only(client, shop) -> None:
    csrf = admin_login(client, shop)
    assert client.get("/admin/settings/api-keys").status_code == 403
    answer = client.post("/admin/settings/api-keys", data={"name": "x", "csrf": csrf})
    assert answer.status_code == 403
    assert "/admin/settings/api-keys" not in client.get("/admin/settings").text


def test_another_business_key_cannot_be_revoked(client, shop, other_shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    theirs = client.get("/api/v1/api-keys", headers=other_shop.auth("owner")).json()[0]["id"]
    answer = client.post(f"/admin/settings/api-keys/{theirs}/revoke", data={"csrf": csrf})
    assert answer.status_code == 404
    assert "There is no such API key." in answer.text
    assert client.get("/api/v1/business", headers=other_shop.auth()).status_code == 200
