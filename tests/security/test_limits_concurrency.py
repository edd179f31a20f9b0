"""Attempt limits hold whatever the concurrency: 60 guesses sent at once to a real server are
evaluated at most as often as the limit allows (the rest answered 429), the right secret sent
after them is refused, and the limiter itself never answers a conflict or a server error. An
attempt is claimed before its secret is checked (security/limits.py); checked first and counted
after, 16 to 43 of 60 concurrent guesses got through a limit of 5."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.security import live
from tests.security.test_card_pin import PIN, ready
from tests.security.test_limits_codes import fresh_code, shop_member_email, wrong
from tests.security.test_limits_counter_search import card_of
from tests.security.test_limits_vouchers import issued_voucher, unknown_like
from tests.support import PASSWORD, Shop


@pytest.fixture
def server(db: Database, settings: Settings, clock: FixedClock) -> Any:
    with live.serving(create_app(settings, db=db, clock=clock)) as url, live.client(url) as http:
        yield http


def test_sixty_wrong_console_passwords_at_once_are_checked_five_times(
    server: Any, shop: Shop
) -> None:
    form = {"business": shop.slug, "email": shop.staff_emails["manager"], "lang": "en"}
    statuses = live.burst(
        lambda n: server.post("/admin/login", data=form | {"password": f"wrong {n}"})
    )
    assert statuses == {401: 5, 429: 55}
    assert server.post("/admin/login", data=form | {"password": PASSWORD}).status_code == 429


def test_sixty_wrong_token_passwords_at_once_are_checked_five_times(
    server: Any, shop: Shop
) -> None:
    body = {"business": shop.slug, "email": shop.staff_emails["owner"]}
    url = "/api/v1/auth/staff-token"
    statuses = live.burst(lambda n: server.post(url, json=body | {"password": f"wrong {n}"}))
    assert statuses == {401: 5, 429: 55}
    assert server.post(url, json=body | {"password": PASSWORD}).status_code == 429


def test_sixty_wrong_wallet_codes_at_once_are_checked_ten_times(
    server: Any, db: Database, settings: Settings, shop: Shop, clock: FixedClock
) -> None:
    email = shop_member_email(shop)
    code = fresh_code(db, settings, shop, email, clock.now())
    url = f"/w/{shop.slug}/login/code"
    statuses = live.burst(
        lambda _: server.post(url, data={"email": email, "code": wrong(code), "lang": "en"})
    )
    assert statuses == {401: 10, 429: 50}
    right = fresh_code(db, settings, shop, email, clock.now())
    assert server.post(url, data={"email": email, "code": right}).status_code == 429


def test_sixty_wrong_card_pins_at_once_are_checked_five_times(
    server: Any, client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    reward_id = ready(client, db, shop, clock)
    url = f"/api/v1/members/{shop.members[0]}/redemptions"

    def redeem(pin: str) -> Any:
        body = {"reward_id": reward_id, "card_pin": pin}
        return server.post(url, json=body, headers=shop.auth("staff"))

    statuses = live.burst(lambda n: redeem(f"{100000 + n}"))
    assert statuses == {403: 5, 429: 55}
    assert redeem(PIN).status_code == 429


def test_sixty_unknown_vouchers_at_once_are_checked_five_times(
    server: Any, client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    real = issued_voucher(client, db, shop, clock)

    def validate(code: str) -> Any:
        return server.post(f"/api/v1/vouchers/{code}/validate", json={}, headers=shop.auth())

    statuses = live.burst(lambda n: validate(unknown_like(real, n)))
    assert statuses == {404: 5, 429: 55}
    assert validate(real).status_code == 429


def test_sixty_counter_searches_that_find_nobody_at_once_are_run_twenty_times(
    server: Any, client: TestClient, shop: Shop
) -> None:
    real = card_of(client, shop, shop.members[0])
    form = {"business": shop.slug, "email": shop.staff_emails["staff"], "password": PASSWORD}
    assert server.post("/admin/login", data=form).status_code == 303
    page = server.get("/counter?lang=en")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]

    def search(q: str) -> Any:
        return server.post("/counter/find", data={"q": q, "csrf": csrf, "lang": "en"})

    statuses = live.burst(lambda n: search(f"+34 600 000 {n:03d}"))
    assert statuses == {404: 20, 429: 40}
    assert search(real).status_code == 429


def test_sixty_member_look_ups_that_find_nobody_at_once_are_run_twenty_times(
    server: Any, client: TestClient, shop: Shop
) -> None:
    real = card_of(client, shop, shop.members[0])

    def lookup(card: str) -> Any:
        return server.get(
            "/api/v1/members/lookup", params={"card_number": card}, headers=shop.auth("staff")
        )

    statuses = live.burst(lambda n: lookup(f"9{n:011d}"))
    assert statuses == {404: 20, 429: 40}
    assert lookup(real).status_code == 429
