"""Card PINs: a member sets one in the wallet (hashed, with session and CSRF); spending points
for a member named by a typed card number then needs it, through the API and at the counter,
while the wallet's rotating code proves the phone is there; wrong PINs lock the card."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import model
from lealtad.security.limits_tables import card_pins
from tests.api.test_rewards import create, grant
from tests.conftest import SECRET
from tests.support import Shop, counter_login, wallet_login
from tests.web.test_counter_vouchers import _open, _reward_id

PIN = "482916"


def set_pin(client: TestClient, db: Database, shop: Shop, value: str = PIN, **extra: str) -> Any:
    csrf = wallet_login(client, db, shop, shop.members[0])
    data = {"pin": value, "pin_again": value, "csrf": csrf, "lang": "en"} | extra
    return client.post(f"/w/{shop.slug}/me/pin", data=data, follow_redirects=False)


def redeem(client: TestClient, shop: Shop, reward_id: int, **body: Any) -> Any:
    return client.post(
        f"/api/v1/members/{shop.members[0]}/redemptions",
        json={"reward_id": reward_id} | body,
        headers=shop.auth("staff"),
    )


def ready(client: TestClient, db: Database, shop: Shop, clock: FixedClock) -> int:
    grant(db, shop, shop.members[0], 5000, clock)
    reward_id = int(create(client, shop, cost=100)["id"])
    assert set_pin(client, db, shop).status_code == 303
    client.cookies.clear()
    return reward_id


def test_a_member_sets_a_pin_that_is_stored_only_as_an_argon2_hash(
    client: TestClient, db: Database, shop: Shop
) -> None:
    assert set_pin(client, db, shop).status_code == 303
    page = client.get(f"/w/{shop.slug}/me?lang=en")
    assert 'data-card-pin="on"' in page.text
    with db.read() as conn:
        query = select(card_pins.c.pin_hash).where(card_pins.c.business_id == shop.id)
        stored = conn.execute(query).scalars().all()
        dump = " ".join(str(row) for row in conn.execute(text("SELECT * FROM card_pins")))
    assert stored
    assert all(value.startswith("$argon2") for value in stored)
    assert PIN not in dump


def test_setting_a_pin_needs_the_csrf_token_and_two_equal_pins_of_four_to_six_digits(
    client: TestClient, db: Database, shop: Shop
) -> None:
    assert set_pin(client, db, shop, csrf="forged").status_code == 403
    assert set_pin(client, db, shop, value="123").status_code == 422
    assert set_pin(client, db, shop, value="1234567").status_code == 422
    mismatch = set_pin(client, db, shop, pin_again="111111", lang="es")
    assert mismatch.status_code == 422
    assert "Los dos PIN no coinciden." in mismatch.text
    client.cookies.clear()
    anonymous = client.post(
        f"/w/{shop.slug}/me/pin", data={"pin": PIN, "pin_again": PIN}, follow_redirects=False
    )
    assert anonymous.headers["location"].endswith(f"/w/{shop.slug}/login")
    with db.read() as conn:
        mine = select(card_pins.c.id).where(card_pins.c.business_id == shop.id)
        assert conn.execute(mine).first() is None


def test_the_api_asks_for_the_pin_refuses_a_wrong_one_and_accepts_the_right_one(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    reward_id = ready(client, db, shop, clock)
    missing = redeem(client, shop, reward_id)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "card_pin_required"
    wrong = redeem(client, shop, reward_id, card_pin="000000")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "card_pin_wrong"
    assert redeem(client, shop, reward_id, card_pin=PIN).status_code == 201


def test_the_rotating_wallet_code_stands_in_for_the_pin_but_a_static_one_does_not(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    reward_id = ready(client, db, shop, clock)
    rotating = model.rotating_token(SECRET, shop.id, shop.members[0], 1, clock.now().timestamp())
    assert redeem(client, shop, reward_id, card_code=rotating).status_code == 201
    other = model.rotating_token(SECRET, shop.id, shop.members[1], 1, clock.now().timestamp())
    assert redeem(client, shop, reward_id, card_code=other).status_code == 403


def test_five_wrong_pins_lock_the_card_even_for_the_right_pin(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    reward_id = ready(client, db, shop, clock)
    for _ in range(5):
        assert redeem(client, shop, reward_id, card_pin="111111").status_code == 403
    locked = redeem(client, shop, reward_id, card_pin=PIN)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert locked.headers["Retry-After"] == "60"


def test_paying_a_sale_with_points_by_card_number_needs_the_pin(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    ready(client, db, shop, clock)
    card = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    sale = {"amount": 1000, "currency": "EUR", "card_number": card["card_number"]}
    paying = sale | {"receipt_id": "PIN-1", "points_redeem": 100}
    refused = client.post("/api/v1/purchases", json=paying, headers=shop.auth("staff"))
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "card_pin_required"
    earning = sale | {"receipt_id": "PIN-2"}
    assert (
        client.post("/api/v1/purchases", json=earning, headers=shop.auth("staff")).status_code
        == 201
    )
    paid = client.post(
        "/api/v1/purchases", json=paying | {"card_pin": PIN}, headers=shop.auth("staff")
    )
    # Past the PIN: the test program's points do not pay at the till, which it now says.
    assert paid.json()["error"]["code"] == "points_not_payment", paid.text


def counter_redeem(client: TestClient, csrf: str, page: str, shop: Shop, **extra: str) -> Any:
    from tests.support import form_field

    data = {
        "reward_id": _reward_id(page),
        "key": form_field(page, "key"),
        "csrf": csrf,
        "lang": "en",
        "confirmed": "yes",  # the answer to the question the first tap asks
    } | extra
    presence = [p for p in page.split('name="presence" value="')[1:2]]
    if presence:
        data.setdefault("presence", presence[0].split('"')[0])
    return client.post(f"/counter/members/{shop.members[0]}/redemptions", data=data)


def test_at_the_counter_a_typed_card_number_needs_the_pin_and_a_scanned_wallet_code_does_not(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    ready(client, db, shop, clock)
    card = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    csrf = counter_login(client, shop)
    typed = _open(client, csrf, card["card_number"])
    # The first tap on Redeem asks, and the PIN is asked with the question.
    asked = counter_redeem(client, csrf, typed.text, shop, confirmed="")
    assert asked.status_code == 200
    assert 'name="card_pin"' in asked.text
    refused = counter_redeem(client, csrf, asked.text, shop)
    assert refused.status_code == 403
    assert "This member has a card PIN" in refused.text
    wrong = counter_redeem(client, csrf, refused.text, shop, card_pin="000000")
    assert "The card PIN is wrong." in wrong.text
    assert counter_redeem(client, csrf, wrong.text, shop, card_pin=PIN).status_code == 201
    rotating = model.rotating_token(SECRET, shop.id, shop.members[0], 1, clock.now().timestamp())
    scanned = _open(client, csrf, rotating)
    asked = counter_redeem(client, csrf, scanned.text, shop, confirmed="")
    assert 'name="card_pin"' not in asked.text
    assert 'name="presence"' in asked.text
    assert counter_redeem(client, csrf, scanned.text, shop).status_code == 201
    forged = counter_redeem(client, csrf, typed.text, shop, presence="29000000.deadbeef")
    assert forged.status_code == 403


def donate(client: TestClient, shop: Shop, cause_id: int, key: str = "", **body: Any) -> Any:
    headers = shop.auth("staff") | ({"Idempotency-Key": key} if key else {})
    return client.post(
        f"/api/v1/members/{shop.members[0]}/donations",
        json={"cause_id": cause_id, "points": 30} | body,
        headers=headers,
    )


def test_donating_points_needs_the_pin_as_paying_with_them_does(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    ready(client, db, shop, clock)
    cause = {"name": {"es": "Banco", "en": "Bank"}, "description": {"es": "C", "en": "M"}}
    made = client.post("/api/v1/causes", json=cause, headers=shop.auth())
    cause_id = made.json()["id"]
    missing = donate(client, shop, cause_id)
    assert missing.status_code == 403
    assert missing.json()["error"]["code"] == "card_pin_required"
    wrong = donate(client, shop, cause_id, card_pin="000000")
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "card_pin_wrong"
    given = donate(client, shop, cause_id, key="gift-1", card_pin=PIN)
    assert given.status_code == 201, given.text
    assert given.json()["balances"]["points"] == 5000 - 30
    # The PIN is not kept with the replay record.
    with db.read() as conn:
        dump = " ".join(str(row) for row in conn.execute(text("SELECT * FROM idempotency_keys")))
    assert PIN not in dump
    rotating = model.rotating_token(SECRET, shop.id, shop.members[0], 1, clock.now().timestamp())
    assert donate(client, shop, cause_id, card_code=rotating).status_code == 201
    for _ in range(5):
        assert donate(client, shop, cause_id, card_pin="111111").status_code == 403
    locked = donate(client, shop, cause_id, card_pin=PIN)
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
