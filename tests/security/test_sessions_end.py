"""A staff session ends when it should, everywhere at once: logout, a new password, two-step
turned on, an account disabled by a manager. A copy of an old cookie or token is replayed after
each and must be refused; enabling the account again must not bring it back."""

from __future__ import annotations

import re
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

from lealtad.kit.clock import FixedClock
from lealtad.tenancy.tables import audit_log
from tests.support import PASSWORD, Shop, admin_login

NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture(autouse=True)
def _english(client: TestClient) -> None:
    client.headers["Accept-Language"] = "en"


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]


def _token(client: TestClient, shop: Shop, password: str = PASSWORD, **extra: Any) -> Any:
    body = {"business": shop.slug, "email": shop.staff_emails["manager"], "password": password}
    return client.post("/api/v1/auth/staff-token", json=body | extra)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _signed_in(client: TestClient) -> TestClient:
    """Another browser holding a copy of this one's console cookie."""
    copy = TestClient(client.app)
    copy.cookies.set("lealtad_staff", client.cookies["lealtad_staff"])
    return copy


def _console_opens(client: TestClient) -> bool:
    answer = client.get("/admin/two-step", follow_redirects=False)
    if answer.status_code == 303:
        assert answer.headers["location"].startswith("/admin/login"), answer.headers
        return False
    assert answer.status_code == 200, answer.text
    return True


def _token_works(client: TestClient, token: str) -> bool:
    answer = client.get("/api/v1/business", headers=_bearer(token))
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def _change_password(client: TestClient, **form: str) -> Any:
    csrf = _csrf(client.get("/admin/two-step?lang=en").text)
    fields = {"current": PASSWORD, "new": NEW_PASSWORD, "repeat": NEW_PASSWORD} | form
    return client.post("/admin/account/password", data={"csrf": csrf} | fields)


def test_logout_ends_every_copy_of_the_cookie_and_the_person_s_tokens(
    client: TestClient, shop: Shop
) -> None:
    admin_login(client, shop)
    copy = _signed_in(client)
    token = _token(client, shop).json()["token"]
    assert _console_opens(copy)
    assert _token_works(client, token)
    csrf = _csrf(client.get("/admin/two-step").text)
    client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)
    assert not _console_opens(copy)
    refused = client.get("/api/v1/business", headers=_bearer(token))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "token_revoked"
    # Logging in again works as before.
    admin_login(client, shop)
    assert _console_opens(client)


def test_changing_one_s_password_ends_the_other_sessions_and_tokens_and_keeps_this_one(
    client: TestClient, shop: Shop, db: Any
) -> None:
    admin_login(client, shop)
    elsewhere = TestClient(client.app)
    admin_login(elsewhere, shop)
    token = _token(client, shop).json()["token"]
    answer = _change_password(client)
    assert answer.status_code == 200, answer.text
    assert "Your password is changed" in answer.text
    assert _console_opens(client)
    assert not _console_opens(elsewhere)
    assert not _token_works(client, token)
    assert _token(client, shop).status_code == 401
    assert _token(client, shop, NEW_PASSWORD).status_code == 200
    with db.read() as conn:
        rows = conn.execute(
            audit_log.select().where(
                audit_log.c.business_id == shop.id, audit_log.c.action == "staff.password_change"
            )
        ).all()
    assert len(rows) == 1
    assert NEW_PASSWORD not in str(rows[0].details)


def test_a_password_change_needs_the_right_current_password_and_counts_wrong_ones(
    client: TestClient, shop: Shop
) -> None:
    admin_login(client, shop)
    answer = _change_password(client, current="not my password")
    assert answer.status_code == 401
    assert "Your current password is not right." in answer.text
    short = _change_password(client, new="short", repeat="short")
    assert short.status_code == 422
    for _ in range(4):
        _change_password(client, current="not my password")
    # Five wrong current passwords from this address: held like failed logins.
    assert _change_password(client).status_code == 429
    assert _token(client, shop, PASSWORD).status_code == 429


def test_with_two_step_on_a_password_change_needs_a_code(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    admin_login(client, shop)
    page = client.get("/admin/two-step?lang=en")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    on = client.post(
        "/admin/two-step",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert "Two-step verification is on." in on.text
    without = _change_password(client)
    assert without.status_code == 401
    assert "Type the code of your authenticator app too." in without.text
    with_code = _change_password(client, code=pyotp.TOTP(secret).at(clock.at.replace(second=45)))
    assert with_code.status_code == 200, with_code.text
    assert _console_opens(client)


def test_turning_two_step_on_ends_the_other_sessions(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    admin_login(client, shop)
    elsewhere = TestClient(client.app)
    admin_login(elsewhere, shop)
    page = client.get("/admin/two-step?lang=en")
    secret = re.search(r'data-secret="([A-Z2-7]+)"', page.text).group(1)  # type: ignore[union-attr]
    client.post(
        "/admin/two-step",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert _console_opens(client)
    assert not _console_opens(elsewhere)


def test_a_disabled_account_stays_signed_out_when_it_is_enabled_again(
    client: TestClient, shop: Shop
) -> None:
    clerk = TestClient(client.app)
    admin_login(clerk, shop, role="staff")
    body = {"business": shop.slug, "email": shop.staff_emails["staff"], "password": PASSWORD}
    token = clerk.post("/api/v1/auth/staff-token", json=body).json()["token"]
    assert clerk.get("/counter", follow_redirects=False).status_code == 200
    csrf = admin_login(client, shop)
    staff_id = shop.staff["staff"]
    for active in ("0", "1"):
        answer = client.post(
            f"/admin/settings/staff/{staff_id}/active", data={"csrf": csrf, "active": active}
        )
        assert answer.status_code == 200, answer.text
        assert clerk.get("/counter", follow_redirects=False).status_code == 303
        assert not _token_works(clerk, token)


def test_the_api_changes_one_s_own_password_with_a_staff_token_and_hands_a_new_one(
    client: TestClient, shop: Shop
) -> None:
    token = _token(client, shop).json()["token"]
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    by_key = client.post("/api/v1/auth/password", json=body, headers=shop.auth())
    assert by_key.status_code == 403
    wrong = client.post(
        "/api/v1/auth/password", json=body | {"current_password": "nope"}, headers=_bearer(token)
    )
    assert wrong.status_code == 401
    changed = client.post("/api/v1/auth/password", json=body, headers=_bearer(token))
    assert changed.status_code == 200, changed.text
    assert not _token_works(client, token)
    assert _token_works(client, changed.json()["token"])
