"""Business settings and locations in the admin console, and who may open which screen."""

from __future__ import annotations

import re

import pyotp
import pytest

from lealtad.tenancy import store as tenancy_store
from tests.support import admin_login, refusal_code


@pytest.fixture(autouse=True)
def _english(client) -> None:
    client.headers["Accept-Language"] = "en"


def _settings_form(shop, **overrides: str) -> dict[str, str]:
    form = {"name": "Café Luna", "locale": "es", "timezone": "Europe/Madrid"}
    return form | overrides


def _own_two_step(client, clock) -> str:
    """Turns on two-step for the logged-in person; returns the session's new CSRF token."""
    page = client.get("/admin/two-step?lang=en")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(
        "/admin/two-step", data={"csrf": csrf, "code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert "Two-step verification is on." in done.text
    # The session was renewed with the code: its form token is on the next page.
    again = client.get("/admin/two-step?lang=en").text
    return re.search(r'name="csrf" value="([^"]+)"', again).group(1)  # type: ignore[union-attr]


def test_requiring_two_step_needs_it_on_for_the_owner_first(client, shop, db) -> None:
    csrf = admin_login(client, shop, role="owner")
    answer = client.post(
        "/admin/settings",
        data={**_settings_form(shop), "two_step_required": "true", "csrf": csrf},
    )
    assert answer.status_code == 409
    assert "Turn on two-step verification for your own account first" in answer.text
    with db.read() as conn:
        assert tenancy_store.business(conn, shop.id).two_step_required is False


def test_an_owner_changes_the_settings_and_the_change_is_audited_before_and_after(
    client, shop, db, clock
) -> None:
    admin_login(client, shop, role="owner")
    csrf = _own_two_step(client, clock)
    form = _settings_form(shop, timezone="America/Mexico_City", locale="en")
    answer = client.post(
        "/admin/settings", data={**form, "two_step_required": "true", "csrf": csrf}
    )
    assert answer.status_code == 200
    assert "The settings are saved." in answer.text
    with db.read() as conn:
        business = tenancy_store.business(conn, shop.id)
    assert (business.name, business.locale, business.timezone) == (
        "Café Luna",
        "en",
        "America/Mexico_City",
    )
    assert business.two_step_required is True
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    change = next(e for e in entries if e["action"] == "business.update")
    assert change["actor"] == f"staff:{shop.staff['owner']}"
    assert change["details"]["timezone"] == {
        "before": "Europe/Madrid",
        "after": "America/Mexico_City",
    }
    assert change["details"]["two_step_required"] == {"before": False, "after": True}
    assert "currency" not in change["details"]
    # The same form again changes nothing and records nothing.
    again = client.post("/admin/settings", data={**form, "two_step_required": "true", "csrf": csrf})
    assert "Nothing was changed." in again.text
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    assert [e["action"] for e in entries].count("business.update") == 1


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "Europe", "../etc/passwd", ""])
def test_a_bad_time_zone_is_refused_on_the_page_with_a_clear_message(
    client, shop, db, zone
) -> None:
    csrf = admin_login(client, shop, role="owner")
    answer = client.post(
        "/admin/settings", data={**_settings_form(shop, timezone=zone), "csrf": csrf}
    )
    assert answer.status_code == 422
    assert "That time zone is not known. Use a name like Europe/Madrid." in answer.text
    # The form keeps what was typed.
    assert "Café Luna" in answer.text
    with db.read() as conn:
        assert tenancy_store.business(conn, shop.id).timezone == "Europe/Madrid"
    spanish = client.post(
        "/admin/settings",
        data={**_settings_form(shop, timezone="Mars/Base"), "csrf": csrf},
        headers={"Accept-Language": "es"},
    )
    assert "Esa zona horaria no existe" in spanish.text


def test_a_business_without_a_name_is_refused(client, shop) -> None:
    csrf = admin_login(client, shop, role="owner")
    answer = client.post("/admin/settings", data={**_settings_form(shop, name="  "), "csrf": csrf})
    assert answer.status_code == 422
    assert "Please give a name." in answer.text


def test_a_manager_sees_the_settings_but_cannot_change_them(client, shop) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/settings")
    assert page.status_code == 200
    assert "Only an owner can change these settings." in page.text
    assert "<fieldset disabled>" in page.text
    assert "EUR" in page.text
    answer = client.post("/admin/settings", data={**_settings_form(shop), "csrf": csrf})
    assert answer.status_code == 403


def test_the_settings_link_the_sign_up_page_and_each_locations_poster(client, shop) -> None:
    admin_login(client, shop)
    page = client.get("/admin/settings").text
    assert f"/join/{shop.slug}" in page
    for location_id in shop.locations:
        assert f"/admin/locations/{location_id}/poster.pdf" in page
        assert f"/admin/locations/{location_id}/poster.png" in page


@pytest.mark.parametrize(
    "path",
    [
        "/admin/settings",
        "/admin/settings/locations",
        "/admin/settings/staff",
        "/admin/settings/api-keys",
        "/admin/audit",
        "/admin/audit.csv",
    ],
)
def test_a_staff_login_gets_403_on_the_console_screens(client, shop, path) -> None:
    admin_login(client, shop, role="staff")
    assert client.get(path).status_code == 403


def test_a_staff_login_still_reaches_its_own_account_page(client, shop) -> None:
    admin_login(client, shop, role="staff")
    page = client.get("/admin/two-step")
    assert page.status_code == 200
    assert "My account" in page.text
    assert "/admin/settings/staff" not in page.text


def test_a_manager_adds_and_changes_a_location_and_each_change_is_audited(client, shop, db) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        "/admin/settings/locations",
        data={"name": "Harbour kiosk", "timezone": "", "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    location_id = int(re.search(r"location-(\d+)", answer.headers["location"]).group(1))  # type: ignore[union-attr]
    with db.read() as conn:
        row = tenancy_store.location(conn, shop.id, location_id)
    assert (row.name, row.timezone) == ("Harbour kiosk", "Europe/Madrid")
    answer = client.post(
        f"/admin/settings/locations/{location_id}",
        data={"name": "Harbour stand", "timezone": "Atlantic/Canary", "csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    page = client.get("/admin/settings/locations")
    assert "Harbour stand" in page.text
    assert "Atlantic/Canary" in page.text
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    update = next(e for e in entries if e["action"] == "location.update")
    assert update["target"] == f"location:{location_id}"
    assert update["details"]["name"] == {"before": "Harbour kiosk", "after": "Harbour stand"}
    assert any(e["action"] == "location.create" for e in entries)


def test_a_location_with_a_bad_time_zone_or_no_name_is_refused_on_the_page(client, shop) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        "/admin/settings/locations", data={"name": "Moon", "timezone": "Moon/Base", "csrf": csrf}
    )
    assert answer.status_code == 422
    assert "That time zone is not known" in answer.text
    assert 'value="Moon"' in answer.text
    answer = client.post(
        "/admin/settings/locations", data={"name": " ", "timezone": "", "csrf": csrf}
    )
    assert answer.status_code == 422
    assert "Please give a name." in answer.text
    answer = client.post(
        f"/admin/settings/locations/{shop.locations[0]}",
        data={"name": "Store 1", "timezone": "Nowhere", "csrf": csrf},
    )
    assert answer.status_code == 422


def test_another_business_location_cannot_be_changed(client, shop, other_shop, db) -> None:
    csrf = admin_login(client, shop)
    theirs = other_shop.locations[0]
    answer = client.post(
        f"/admin/settings/locations/{theirs}",
        data={"name": "Mine now", "timezone": "Europe/Madrid", "csrf": csrf},
    )
    assert answer.status_code == 404
    assert "There is no such location." in answer.text
    with db.read() as conn:
        assert tenancy_store.location(conn, other_shop.id, theirs).name == "Store 1"


def _forms(shop) -> list[tuple[str, dict[str, str]]]:
    staff_id, key_id = shop.staff["staff"], 1
    return [
        ("/admin/settings", {"name": "X", "locale": "es", "timezone": "Europe/Madrid"}),
        ("/admin/settings/locations", {"name": "New", "timezone": ""}),
        (f"/admin/settings/locations/{shop.locations[0]}", {"name": "X", "timezone": "UTC"}),
        ("/admin/settings/staff", {"name": "A", "email": "a@b.example", "password": "x" * 12}),
        (f"/admin/settings/staff/{staff_id}/role", {"role": "manager"}),
        (f"/admin/settings/staff/{staff_id}/active", {"active": "false"}),
        (f"/admin/settings/staff/{staff_id}/two-step/reset", {}),
        ("/admin/settings/api-keys", {"name": "till", "role": "staff"}),
        (f"/admin/settings/api-keys/{key_id}/revoke", {}),
        ("/admin/two-step", {"code": "123456"}),
        ("/admin/two-step/language", {"locale": "en"}),
    ]


def test_every_settings_form_refuses_a_missing_or_forged_csrf_token(client, shop, db) -> None:
    admin_login(client, shop, role="owner")
    for path, data in _forms(shop):
        for token in (None, "", "forged-token"):
            sent = data if token is None else {**data, "csrf": token}
            answer = client.post(path, data=sent)
            assert answer.status_code == 403, (path, token, answer.text)
            assert refusal_code(answer) == "csrf_token_invalid"
    entries = client.get("/api/v1/audit-log", headers=shop.auth()).json()
    assert entries == []
