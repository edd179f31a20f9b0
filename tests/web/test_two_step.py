"""Two-step verification for staff logins: setting it up, the code after the password, wrong and
reused codes, a business that requires it, and an owner resetting someone's."""

from __future__ import annotations

import io
import re
from base64 import b64decode
from datetime import UTC, datetime, timedelta

import pyotp
import pytest
import zxingcpp
from PIL import Image

from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.two_step import matching_step
from tests.support import PASSWORD, admin_login


@pytest.fixture(autouse=True)
def _english(client) -> None:
    # The browser asks for English unless a test says otherwise; the shop's language is Spanish.
    client.headers["Accept-Language"] = "en"


def _csrf(text: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]


def _secret(text: str) -> str:
    return re.search(r'data-secret="([A-Z2-7]+)"', text).group(1)  # type: ignore[union-attr]


def _password(client, shop, role: str = "manager"):
    form = {"business": shop.slug, "email": shop.staff_emails[role], "password": PASSWORD}
    return client.post("/admin/login", data=form, follow_redirects=False)


def _logout(client) -> None:
    csrf = _csrf(client.get("/admin/two-step").text)
    client.post("/admin/logout", data={"csrf": csrf}, follow_redirects=False)


def _turn_on(client, shop, clock, role: str = "manager") -> str:
    """Logs in and sets up two-step; returns the secret."""
    admin_login(client, shop, role=role)
    page = client.get("/admin/two-step?lang=en")
    secret = _secret(page.text)
    answer = client.post(
        "/admin/two-step",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert "Two-step verification is on." in answer.text, answer.text
    _logout(client)
    return secret


def _wrong(secret: str, now: datetime) -> str:
    """A six-digit code that is none of the three the server would accept now."""
    totp = pyotp.TOTP(secret)
    good = {totp.at(now + timedelta(seconds=30 * shift)) for shift in (-1, 0, 1)}
    return next(code for code in ("000001", "000002", "000003", "000004") if code not in good)


def _send_code(client, code: str):
    page = client.get("/admin/login/code?lang=en")
    return client.post(
        "/admin/login/code",
        data={"csrf": _csrf(page.text), "code": code},
        follow_redirects=False,
    )


def test_codes_are_accepted_one_step_either_side_of_now_and_not_further() -> None:
    secret = pyotp.random_base32()
    now = datetime(2026, 3, 2, 10, 30, 5, tzinfo=UTC)
    totp = pyotp.TOTP(secret)
    step = int(now.timestamp()) // 30
    assert matching_step(secret, totp.at(now), now) == step
    assert matching_step(secret, totp.at(now - timedelta(seconds=30)), now) == step - 1
    assert matching_step(secret, totp.at(now + timedelta(seconds=30)), now) == step + 1
    assert matching_step(secret, totp.at(now - timedelta(seconds=60)), now) is None
    assert matching_step(secret, "12345", now) is None
    assert matching_step(secret, "１２３４５６", now) is None


def test_a_manager_sets_up_two_step_with_a_readable_qr_and_then_logs_in_with_a_code(
    client, shop, clock
) -> None:
    admin_login(client, shop)
    page = client.get("/admin/two-step?lang=en")
    assert page.status_code == 200
    secret = _secret(page.text)
    qr = re.search(r'src="data:image/png;base64,([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(b64decode(qr))))[0].text
    assert decoded.startswith("otpauth://totp/")
    assert f"secret={secret}" in decoded
    # A reload shows the same secret: the QR does not change under the camera.
    assert _secret(client.get("/admin/two-step").text) == secret
    answer = client.post(
        "/admin/two-step",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert "Two-step verification is on." in answer.text
    _logout(client)

    answer = _password(client, shop)
    assert answer.headers["location"] == "/admin/login/code"
    assert "lealtad_staff" not in answer.cookies
    assert (
        client.get("/admin", follow_redirects=False).headers["location"].startswith("/admin/login")
    )
    clock.at += timedelta(seconds=30)
    answer = _send_code(client, pyotp.TOTP(secret).at(clock.now()))
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    assert client.get("/admin?lang=en").status_code == 200


def test_a_wrong_code_is_refused_with_a_clear_message_and_no_session(client, shop, clock) -> None:
    secret = _turn_on(client, shop, clock)
    _password(client, shop)
    answer = _send_code(client, _wrong(secret, clock.now()))
    assert answer.status_code == 401
    assert "That code is not right" in answer.text
    assert "Tries left: 4" in answer.text
    assert "lealtad_staff" not in answer.cookies
    # A login begun in Spanish goes on in Spanish.
    form = {"business": shop.slug, "email": shop.staff_emails["manager"], "password": PASSWORD}
    client.post("/admin/login", data={**form, "lang": "es"})
    page = client.get("/admin/login/code")
    spanish = client.post("/admin/login/code", data={"csrf": _csrf(page.text), "code": "12"})
    assert "Ese código no es correcto" in spanish.text
    assert "Intentos restantes: 4" in spanish.text


def test_a_code_is_good_only_once(client, shop, clock) -> None:
    secret = _turn_on(client, shop, clock)
    # The code that turned two-step on cannot also open a session.
    _password(client, shop)
    used = _send_code(client, pyotp.TOTP(secret).at(clock.now()))
    assert used.status_code == 401
    assert "That code has already been used" in used.text
    clock.at += timedelta(seconds=30)
    fresh = pyotp.TOTP(secret).at(clock.now())
    assert _send_code(client, fresh).status_code == 303
    _logout(client)
    _password(client, shop)
    again = _send_code(client, fresh)
    assert again.status_code == 401
    assert "That code has already been used" in again.text


def test_five_wrong_codes_send_the_login_back_to_the_password(client, shop, clock) -> None:
    secret = _turn_on(client, shop, clock)
    clock.at += timedelta(seconds=60)
    _password(client, shop)
    spent = client.cookies.get("lealtad_two_step")
    wrong = _wrong(secret, clock.now())
    for _ in range(4):
        assert _send_code(client, wrong).status_code == 401
    page = client.get("/admin/login/code?lang=en")
    last = client.post("/admin/login/code", data={"csrf": _csrf(page.text), "code": wrong})
    assert last.status_code == 401
    assert "Too many wrong codes. Log in again with your password." in last.text
    assert 'name="password"' in last.text
    # The spent attempt stays spent even if its cookie is presented again with the right code.
    assert client.cookies.get("lealtad_two_step") is None
    right = pyotp.TOTP(secret).at(clock.now())
    replay = client.post(
        "/admin/login/code",
        data={"csrf": _csrf(page.text), "code": right},
        headers={"Cookie": f"lealtad_two_step={spent}"},
        follow_redirects=False,
    )
    assert replay.status_code == 401
    assert "lealtad_staff" not in replay.cookies
    # Starting again from the password gives a fresh set of tries.
    _password(client, shop)
    assert _send_code(client, right).status_code == 303


def test_a_business_that_requires_two_step_makes_a_login_without_it_set_it_up_first(
    client, shop, clock, db
) -> None:
    with db.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, two_step_required=True)
    answer = _password(client, shop)
    assert answer.headers["location"] == "/admin/login/setup"
    assert "lealtad_staff" not in answer.cookies
    assert client.get("/admin", follow_redirects=False).status_code == 303
    # The code page sends someone without two-step back to setting it up.
    code_page = client.get("/admin/login/code", follow_redirects=False)
    assert code_page.headers["location"] == "/admin/login/setup"
    page = client.get("/admin/login/setup?lang=en")
    assert "Set up two-step verification" in page.text
    secret = _secret(page.text)
    wrong = client.post(
        "/admin/login/setup", data={"csrf": _csrf(page.text), "code": _wrong(secret, clock.now())}
    )
    assert wrong.status_code == 401
    assert _secret(wrong.text) == secret
    answer = client.post(
        "/admin/login/setup",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/admin"
    assert client.get("/admin").status_code == 200
    with db.read() as conn:
        staff = tenancy_store.staff(conn, shop.id, shop.staff["manager"])
    assert staff.totp_confirmed_at is not None


def test_an_owner_resets_a_staff_members_two_step(client, shop, clock) -> None:
    _turn_on(client, shop, clock)
    manager_id = shop.staff["manager"]
    csrf = admin_login(client, shop, role="owner")
    refused = client.post(
        f"/admin/settings/staff/{manager_id}/two-step/reset", data={"csrf": "forged"}
    )
    assert refused.status_code == 403
    answer = client.post(
        f"/admin/settings/staff/{manager_id}/two-step/reset",
        data={"csrf": csrf},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    audit = client.get("/admin/audit?action=staff.two_step_reset&lang=en")
    assert 'data-action="staff.two_step_reset"' in audit.text
    _logout(client)
    # The manager logs in with the password alone again.
    answer = _password(client, shop)
    assert answer.headers["location"] == "/admin"


def test_a_manager_cannot_reset_two_step(client, shop, clock) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        f"/admin/settings/staff/{shop.staff['staff']}/two-step/reset", data={"csrf": csrf}
    )
    assert answer.status_code == 403


def test_the_two_step_forms_refuse_a_missing_or_forged_csrf_token(client, shop, clock) -> None:
    secret = _turn_on(client, shop, clock)
    clock.at += timedelta(seconds=30)
    _password(client, shop)
    code = pyotp.TOTP(secret).at(clock.now())
    for token in ("", "forged"):
        answer = client.post("/admin/login/code", data={"csrf": token, "code": code})
        assert answer.status_code == 403
    assert _send_code(client, code).status_code == 303
    for path, data in (
        ("/admin/two-step", {"code": "123456"}),
        ("/admin/two-step/language", {"locale": "en"}),
    ):
        assert client.post(path, data=data).status_code == 403
        assert client.post(path, data={**data, "csrf": "forged"}).status_code == 403


def test_the_console_speaks_the_staff_members_own_language_over_the_browsers(client, shop) -> None:
    csrf = admin_login(client, shop)
    spanish_browser = {"Accept-Language": "es-ES,es;q=0.9"}
    assert (
        "Mensajes de los últimos 30 días"
        in client.get("/admin/messages", headers=spanish_browser).text
    )
    answer = client.post("/admin/two-step/language", data={"csrf": csrf, "locale": "en"})
    assert "Your language is saved." in answer.text
    assert (
        "Messages in the last 30 days"
        in client.get("/admin/messages", headers=spanish_browser).text
    )
    # ?lang= switches one page only.
    assert (
        "Mensajes de los últimos"
        in client.get("/admin/messages?lang=es", headers=spanish_browser).text
    )
    assert "Messages in the last" in client.get("/admin/messages", headers=spanish_browser).text
    client.post("/admin/two-step/language", data={"csrf": csrf, "locale": ""})
    assert "Mensajes de los últimos" in client.get("/admin/messages", headers=spanish_browser).text


def test_a_session_opened_with_the_password_alone_ends_when_the_business_requires_two_step(
    client, shop, db
) -> None:
    admin_login(client, shop)
    assert client.get("/admin", follow_redirects=False).status_code == 200
    with db.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, two_step_required=True)
    answer = client.get("/admin", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/admin/login")


def test_turning_two_step_on_keeps_the_session_that_did_it(client, shop, clock) -> None:
    admin_login(client, shop)
    page = client.get("/admin/two-step?lang=en")
    secret = _secret(page.text)
    client.post(
        "/admin/two-step",
        data={"csrf": _csrf(page.text), "code": pyotp.TOTP(secret).at(clock.now())},
    )
    assert client.get("/admin", follow_redirects=False).status_code == 200


def test_the_api_token_needs_the_code_too_when_two_step_is_on(client, shop, clock, db) -> None:
    secret = _turn_on(client, shop, clock)
    body = {"business": shop.slug, "email": shop.staff_emails["manager"], "password": PASSWORD}
    missing = client.post("/api/v1/auth/staff-token", json=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "two_step_code_required"
    wrong = client.post(
        "/api/v1/auth/staff-token", json=body | {"totp_code": _wrong(secret, clock.now())}
    )
    assert wrong.json()["error"]["code"] == "two_step_code_refused"
    clock.at = clock.now() + timedelta(seconds=60)  # past the step the set-up used
    good = client.post(
        "/api/v1/auth/staff-token", json=body | {"totp_code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert good.status_code == 200, good.text
    assert good.json()["token"]
    reused = client.post(
        "/api/v1/auth/staff-token", json=body | {"totp_code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert reused.json()["error"]["code"] == "two_step_code_refused"


def test_the_api_token_is_refused_until_two_step_is_set_up_where_required(client, shop, db) -> None:
    with db.transaction() as conn:
        tenancy_store.update_business(conn, shop.id, two_step_required=True)
    body = {"business": shop.slug, "email": shop.staff_emails["staff"], "password": PASSWORD}
    answer = client.post("/api/v1/auth/staff-token", json=body)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "two_step_setup_required"
