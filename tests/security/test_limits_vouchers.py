"""Guessing voucher codes: unknown codes count per caller (staff person or API key) and per
address, through the API and the counter page."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.api.test_rewards import create, grant, redeem
from tests.support import Shop, counter_login


def issued_voucher(client: TestClient, db: Database, shop: Shop, clock: FixedClock) -> str:
    grant(db, shop, shop.members[0], 500, clock)
    made = create(client, shop, voucher_days=14)
    answer = redeem(client, shop, shop.members[0], made["id"])
    assert answer.status_code == 201, answer.text
    return str(answer.json()["code"])


def unknown_like(code: str, n: int) -> str:
    """A well-formed code that is not this one."""
    letters = sorted({c for c in code if c.isalnum()})
    tail = letters[n % len(letters)]
    if tail == code[-1]:
        tail = letters[(n + 1) % len(letters)]
    return code[:-1] + tail


def validate(client: TestClient, shop: Shop, code: str, role: str = "staff"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/vouchers/{code}/validate", json={}, headers=shop.auth(role))


def test_five_unknown_codes_lock_the_api_key_even_for_a_real_voucher(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    real = issued_voucher(client, db, shop, clock)
    for n in range(5):
        answer = validate(client, shop, unknown_like(real, n))
        assert answer.status_code == 404, answer.text
    locked = validate(client, shop, real)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert locked.headers["Retry-After"] == "60"
    # Looking a code up is the same oracle and shares the count.
    assert client.get(f"/api/v1/vouchers/{real}", headers=shop.auth("staff")).status_code == 429
    clock.at += timedelta(seconds=61)
    assert validate(client, shop, real).status_code == 200


def test_a_real_voucher_between_guesses_does_not_clear_the_count_of_the_key(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    # Looking up a voucher one knows proves nothing about the ones one guesses.
    real = issued_voucher(client, db, shop, clock)
    for n in range(4):
        validate(client, shop, unknown_like(real, n))
    assert client.get(f"/api/v1/vouchers/{real}", headers=shop.auth("staff")).status_code == 200
    assert validate(client, shop, unknown_like(real, 4)).status_code == 404
    assert validate(client, shop, unknown_like(real, 5)).status_code == 429


def test_the_counter_page_locks_a_guessing_staff_member_in_their_language(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    real = issued_voucher(client, db, shop, clock)
    csrf = counter_login(client, shop)
    for n in range(5):
        answer = client.post(
            "/counter/vouchers/validate",
            data={"code": unknown_like(real, n), "csrf": csrf, "lang": "en"},
        )
        assert answer.status_code == 404, answer.text
    locked = client.post(
        "/counter/vouchers/validate", data={"code": real, "csrf": csrf, "lang": "es"}
    )
    assert locked.status_code == 429
    assert "Demasiados intentos" in locked.text
    assert locked.headers["Retry-After"] == "60"
