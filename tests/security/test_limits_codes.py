"""Member one-time codes and staff two-step codes are limited like passwords: per account and
per address, with growing lockouts; asking for codes is limited per address."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import login
from tests.support import Shop


def fresh_code(db: Database, settings: Settings, shop: Shop, email: str, now: Any) -> str:
    with db.transaction() as conn:
        message_id = login.request_code(conn, shop.id, email, settings.effective_secret_key, now)
        assert message_id is not None
        return login.pending_code(conn, shop.id, message_id)


def enter(client: TestClient, shop: Shop, email: str, code: str, **kw: Any) -> Any:
    data = {"email": email, "code": code, "lang": "en"}
    return client.post(f"/w/{shop.slug}/login/code", data=data, follow_redirects=False, **kw)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_ten_wrong_member_codes_lock_the_member_even_for_the_right_code(
    client: TestClient, db: Database, settings: Settings, shop: Shop, clock: FixedClock
) -> None:
    email = shop_member_email(shop)
    for _ in range(2):
        code = fresh_code(db, settings, shop, email, clock.now())
        for _ in range(5):
            assert enter(client, shop, email, wrong(code)).status_code == 401
    code = fresh_code(db, settings, shop, email, clock.now())
    answer = enter(client, shop, email, code)
    assert answer.status_code == 429
    assert "Too many failed attempts" in answer.text
    assert int(answer.headers["Retry-After"]) == 60
    clock.at += timedelta(minutes=2)
    assert enter(client, shop, email, code).status_code == 303


def test_a_right_member_code_resets_the_member_count(
    client: TestClient, db: Database, settings: Settings, shop: Shop, clock: FixedClock
) -> None:
    settings.trusted_proxies = "192.0.2.80"
    client = TestClient(client.app, client=("192.0.2.80", 50000))
    email = shop_member_email(shop)
    code = fresh_code(db, settings, shop, email, clock.now())
    for n in range(4):
        enter(client, shop, email, wrong(code), headers={"X-Forwarded-For": f"203.0.113.{n}"})
    assert enter(client, shop, email, code).status_code == 303
    for n in range(9):
        code = fresh_code(db, settings, shop, email, clock.now()) if n % 4 == 0 else code
        far = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert enter(client, shop, email, wrong(code), headers=far).status_code == 401


def test_asking_for_codes_is_limited_per_address(client: TestClient, shop: Shop) -> None:
    for n in range(10):
        answer = client.post(
            f"/w/{shop.slug}/login", data={"email": f"someone{n}@example.org", "lang": "es"}
        )
        assert answer.status_code == 200
    answer = client.post(f"/w/{shop.slug}/login", data={"email": "x@example.org", "lang": "es"})
    assert answer.status_code == 429
    assert "Demasiados intentos" in answer.text
    assert "Retry-After" in answer.headers


def shop_member_email(shop: Shop) -> str:
    n = shop.staff_emails["owner"].split("@shop")[1].split(".")[0]
    return f"m0@shop{n}.example"


def test_ten_wrong_two_step_codes_over_two_logins_lock_the_code_step(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    from tests.web.test_two_step import _password, _send_code, _turn_on, _wrong

    client.headers["Accept-Language"] = "en"
    secret = _turn_on(client, shop, clock)
    clock.at += timedelta(seconds=60)
    wrong_code = _wrong(secret, clock.now())
    for _ in range(2):
        assert _password(client, shop).status_code == 303
        for _ in range(5):
            assert _send_code(client, wrong_code).status_code == 401
    assert _password(client, shop).status_code == 303
    import pyotp

    locked = _send_code(client, pyotp.TOTP(secret).at(clock.now()))
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 60
