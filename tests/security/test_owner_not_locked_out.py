"""Nobody can lock the owner out of the console by failing on their account. Failures count
against the account from each address (five), the address (ten) and the account from anywhere
(thirty, a spread-out attack); a browser the owner signed in from before counts on its own
(security/devices.py), so even the account-wide lock does not keep the owner out of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from lealtad.config import Settings
from lealtad.kit.clock import FixedClock
from tests.support import PASSWORD, Shop

PROXY = "192.0.2.80"


def _browser(client: TestClient, settings: Settings) -> TestClient:
    """A browser of its own (its own cookies) behind the trusted proxy."""
    settings.trusted_proxies = PROXY
    return TestClient(client.app, client=(PROXY, 50000))


def _sign_in(browser: TestClient, shop: Shop, password: str, address: str) -> Any:
    form = {"business": shop.slug, "email": shop.staff_emails["owner"], "password": password}
    headers = {"X-Forwarded-For": address}
    return browser.post("/admin/login", data=form, headers=headers, follow_redirects=False)


def test_an_attacker_failing_all_day_from_one_address_never_keeps_the_owner_out(
    client: TestClient, settings: Settings, shop: Shop, clock: FixedClock
) -> None:
    attacker, owner = _browser(client, settings), _browser(client, settings)
    for _hour in range(4):
        checked = 0
        for _ in range(10):
            checked += _sign_in(attacker, shop, "guess", "203.0.113.66").status_code == 401
        # Five guesses an hour at most from that address (then a lock, longer each time)...
        assert checked <= 5
        # ...and the owner, elsewhere, signs in every time.
        assert _sign_in(owner, shop, PASSWORD, "198.51.100.7").status_code == 303
        clock.at += timedelta(hours=1)


def test_a_spread_out_attack_locks_new_browsers_but_not_the_owner_s_own(
    client: TestClient, settings: Settings, shop: Shop
) -> None:
    owner = _browser(client, settings)
    assert _sign_in(owner, shop, PASSWORD, "198.51.100.7").status_code == 303
    owner.cookies.delete("lealtad_staff")
    attacker = _browser(client, settings)
    for n in range(30):
        _sign_in(attacker, shop, "guess", f"203.0.113.{n}")
    # Thirty failures from thirty addresses: the account is held for browsers it never used...
    stranger = _browser(client, settings)
    assert _sign_in(stranger, shop, PASSWORD, "198.51.100.200").status_code == 429
    # ...but the owner's own browser, from wherever it is now, still gets in.
    assert _sign_in(owner, shop, PASSWORD, "203.0.113.250").status_code == 303


def test_a_known_browser_still_gets_only_five_tries(
    client: TestClient, settings: Settings, shop: Shop
) -> None:
    owner = _browser(client, settings)
    assert _sign_in(owner, shop, PASSWORD, "198.51.100.7").status_code == 303
    owner.cookies.delete("lealtad_staff")
    for n in range(5):
        assert _sign_in(owner, shop, "guess", f"198.51.100.{n}").status_code == 401
    assert _sign_in(owner, shop, PASSWORD, "198.51.100.9").status_code == 429
