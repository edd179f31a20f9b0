"""Walking through card numbers, phones or e-mails at the counter to see who is a member:
searches that find nobody count per staff person and per address (security/limits.py,
MEMBER_LOOKUP); a locked person gets a 429 with Retry-After and a message in the page's
language, while colleagues at the same till and other businesses carry on."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.support import Shop, counter_login


def search(client: TestClient, csrf: str, q: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    return client.post("/counter/find", data={"q": q, "csrf": csrf, "lang": lang})


def card_of(client: TestClient, shop: Shop, member: int) -> str:
    answer = client.get(f"/api/v1/members/{member}", headers=shop.auth())
    assert answer.status_code == 200, answer.text
    return str(answer.json()["card_number"])


def test_twenty_searches_that_find_nobody_lock_the_staff_person_even_for_a_real_card(
    client: TestClient, db: Database, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    real = card_of(client, shop, shop.members[0])
    csrf = counter_login(client, shop)
    # Honest searches that find the member do not count.
    for _ in range(25):
        assert search(client, csrf, real).status_code == 200
    for n in range(20):
        missed = search(client, csrf, f"+34 600 000 {n:03d}")
        assert missed.status_code == 404, missed.text
    locked = search(client, csrf, real, lang="es")
    assert locked.status_code == 429
    assert locked.headers["Retry-After"] == "60"
    assert "Demasiadas búsquedas no encontraron a nadie. Espera 1 minutos" in locked.text
    english = search(client, csrf, real)
    assert english.status_code == 429
    assert "Too many searches found nobody." in english.text

    # A colleague at the same till, and another business, are not locked out.
    colleague = counter_login(client, shop, "manager")
    assert search(client, colleague, real).status_code == 200
    elsewhere = counter_login(client, other_shop)
    theirs = card_of(client, other_shop, other_shop.members[0])
    assert search(client, elsewhere, theirs).status_code == 200

    # The lock ends after its minute.
    clock.at += timedelta(seconds=61)
    csrf = counter_login(client, shop)
    assert search(client, csrf, real).status_code == 200
