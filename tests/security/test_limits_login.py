"""Staff logins, JSON token and console page, are limited per account and per address, with
growing lockouts on the injected clock (no sleeping)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lealtad.config import Settings
from lealtad.kit.clock import FixedClock
from tests.support import PASSWORD, Shop

LOGIN = "/api/v1/auth/staff-token"


def token(client: TestClient, shop: Shop, password: str, role: str = "manager", **kw: Any) -> Any:
    body = {"business": shop.slug, "email": shop.staff_emails[role], "password": password}
    return client.post(LOGIN, json=body, **kw)


def from_address(address: str) -> dict[str, Any]:
    return {"headers": {"X-Forwarded-For": address}}


PROXY = "192.0.2.80"


def through_a_trusted_proxy(client: TestClient, settings: Settings) -> TestClient:
    """A client of the same app whose requests arrive from a proxy the settings trust."""
    settings.trusted_proxies = PROXY
    return TestClient(client.app, client=(PROXY, 50000))


def test_a_sixth_try_after_five_wrong_passwords_is_refused_even_with_the_right_password(
    client: TestClient, shop: Shop
) -> None:
    for _ in range(5):
        assert token(client, shop, "wrong password").status_code == 401
    answer = token(client, shop, PASSWORD)
    assert answer.status_code == 429
    assert answer.json()["error"]["code"] == "too_many_attempts"
    assert answer.headers["Retry-After"] == "60"


def test_the_lock_expires_and_the_next_one_lasts_longer(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    for _ in range(5):
        token(client, shop, "wrong password")
    clock.at += timedelta(seconds=61)
    assert token(client, shop, "wrong password").status_code == 401
    for _ in range(4):
        token(client, shop, "wrong password")
    answer = token(client, shop, PASSWORD)
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == str(5 * 60)
    clock.at += timedelta(minutes=5, seconds=1)
    assert token(client, shop, PASSWORD).status_code == 200


def test_a_success_resets_the_account_counter(client: TestClient, shop: Shop) -> None:
    for _ in range(4):
        token(client, shop, "wrong password")
    assert token(client, shop, PASSWORD).status_code == 200
    for _ in range(4):
        assert token(client, shop, "wrong password").status_code == 401
    assert token(client, shop, PASSWORD).status_code == 200


def test_five_wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere(
    client: TestClient, shop: Shop, settings: Settings
) -> None:
    client = through_a_trusted_proxy(client, settings)
    for _ in range(5):
        token(client, shop, "wrong password", **from_address("203.0.113.5"))
    assert token(client, shop, PASSWORD, **from_address("203.0.113.5")).status_code == 429
    answer = token(client, shop, PASSWORD, **from_address("198.51.100.7"))
    assert answer.status_code == 200


def test_an_address_that_fails_on_many_accounts_is_locked_for_all_of_them(
    client: TestClient, shop: Shop, settings: Settings
) -> None:
    client = through_a_trusted_proxy(client, settings)
    here = from_address("203.0.113.5")
    for role in ("manager", "staff", "owner"):
        for _ in range(3):
            token(client, shop, "wrong password", role=role, **here)
    token(client, shop, "wrong password", role="manager", **here)
    # Ten failures from one address, no account past four: the address is locked...
    assert token(client, shop, PASSWORD, role="staff", **here).status_code == 429
    # ...and the same account from elsewhere is not.
    assert (
        token(client, shop, PASSWORD, role="staff", **from_address("198.51.100.7")).status_code
        == 200
    )


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    client: TestClient, shop: Shop
) -> None:
    for n in range(10):
        token(
            client,
            shop,
            "wrong password",
            role=("staff", "owner")[n % 2],
            **from_address(f"203.0.113.{n}"),
        )
    # All ten came from the test client itself, whatever the header said.
    assert token(client, shop, PASSWORD, role="manager").status_code == 429


def test_the_console_login_page_answers_429_in_its_language_with_retry_after(
    client: TestClient, shop: Shop
) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["manager"], "lang": "es"}
    for _ in range(5):
        answer = client.post("/admin/login", data=form | {"password": "wrong password"})
        assert answer.status_code == 401
    answer = client.post("/admin/login", data=form | {"password": PASSWORD})
    assert answer.status_code == 429
    assert "Demasiados intentos" in answer.text
    assert int(answer.headers["Retry-After"]) == 60
    english = client.post("/admin/login", data=form | {"password": PASSWORD, "lang": "en"})
    assert "Too many failed attempts" in english.text


def test_the_token_and_the_console_share_one_count(client: TestClient, shop: Shop) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["manager"]}
    for _ in range(3):
        client.post("/admin/login", data=form | {"password": "wrong password"})
    for _ in range(2):
        token(client, shop, "wrong password")
    assert token(client, shop, PASSWORD).status_code == 429
