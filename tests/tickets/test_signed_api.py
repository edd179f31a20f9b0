"""A receipt code signed by the location's key, printed as a QR, scanned and claimed through
the API: accepted once with the purchase recorded, refused on a second claim, a bad signature,
another business's key, a date too old and over the daily limits; always the error envelope."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from tests.api.test_bad_input import assert_error
from tests.support import Shop, purchase_body
from tests.tickets.conftest import make_key, receipt, scanned, set_rules


def claim(client: TestClient, shop: Shop, code: str, member: int | None = None, **extra: str):  # type: ignore[no-untyped-def]
    who = member or shop.members[0]
    body = {"code": code} | extra
    return client.post(
        f"/api/v1/members/{who}/ticket-claims", json=body, headers=shop.auth("staff")
    )


def test_a_signed_receipt_earns_once_and_records_the_purchase_with_its_receipt_id(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    assert len(key["secret"]) == 43
    assert key["location_id"] == shop.locations[0]
    code = scanned(receipt(key, "T-0042", 1250, clock.now() - timedelta(hours=2)))
    first = claim(client, shop, code)
    assert first.status_code == 201, first.text
    done = first.json()
    assert (done["status"], done["source"], done["points"]) == ("accepted", "signed", 12)
    assert (done["receipt_id"], done["amount"], done["location_id"]) == (
        "T-0042",
        1250,
        shop.locations[0],
    )
    bought = client.get(f"/api/v1/purchases/{done['purchase_id']}", headers=shop.auth())
    assert bought.json()["member_id"] == shop.members[0]
    assert_error(claim(client, shop, code), 409, "ticket_already_claimed")
    assert_error(claim(client, shop, code, member=shop.members[1]), 409, "ticket_already_claimed")
    # The till reporting the same sale afterwards does not earn it a second time.
    again = client.post(
        "/api/v1/purchases", json=purchase_body(receipt_id="T-0042"), headers=shop.auth("staff")
    )
    assert again.status_code == 409


def test_a_sale_the_till_reported_first_is_not_earned_again_by_its_receipt(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    sold = client.post(
        "/api/v1/purchases", json=purchase_body(receipt_id="T-7"), headers=shop.auth("staff")
    )
    assert sold.status_code == 201
    code = receipt(key, "T-7", 1000, clock.now())
    assert_error(claim(client, shop, code), 409, "ticket_already_claimed")


def test_a_receipt_code_opened_as_a_wallet_address_is_read_from_its_t_parameter(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    code = receipt(key, "T-9", 500, clock.now())
    link = scanned(f"https://loyalty.example/w/{shop.slug}/tickets?t={code}")
    assert claim(client, shop, link).json()["points"] == 5


def test_a_tampered_amount_a_wrong_location_or_a_foreign_key_is_refused(
    client: TestClient, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    good = receipt(key, "T-1", 1000, clock.now())
    forged = receipt(key, "T-1", 99999, clock.now())
    tampered = ".".join([*forged.split(".")[:2], good.split(".")[2]])
    assert_error(claim(client, shop, tampered), 422, "ticket_bad_signature")
    elsewhere = receipt(key, "T-2", 1000, clock.now(), location=shop.locations[1])
    assert_error(claim(client, shop, elsewhere), 422, "ticket_bad_signature")
    theirs = make_key(client, other_shop)
    foreign = receipt(theirs, "T-3", 1000, clock.now())
    assert_error(claim(client, shop, foreign), 422, "ticket_not_this_business")
    dollars = receipt(key, "T-4", 1000, clock.now(), currency="USD")
    assert_error(claim(client, shop, dollars), 422, "ticket_not_this_business")
    for junk in ("hello", "LT1.x.y", "LT1..", "LT1.e30.AAAA", "https://example.com/?t=LT1.a.b"):
        assert_error(claim(client, shop, junk), 422, "ticket_unreadable")


def test_a_retired_key_verifies_no_more_receipts_while_a_new_one_does(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    old, new = make_key(client, shop), make_key(client, shop)
    gone = client.delete(f"/api/v1/ticket-keys/{old['key_id']}", headers=shop.auth("owner"))
    assert gone.status_code == 200
    assert gone.json()["retired_at"]
    assert gone.json()["secret"] is None
    stale = receipt(old, "T-5", 1000, clock.now())
    assert_error(claim(client, shop, stale), 422, "ticket_not_this_business")
    assert claim(client, shop, receipt(new, "T-6", 1000, clock.now())).status_code == 201
    listed = client.get("/api/v1/ticket-keys", headers=shop.auth("owner")).json()
    assert [k["secret"] for k in listed] == [None, None]
    assert client.get("/api/v1/ticket-keys", headers=shop.auth("manager")).status_code == 403


def test_a_receipt_older_than_the_limit_or_dated_ahead_is_refused(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    set_rules(client, shop, max_age_days=3)
    old = receipt(key, "T-8", 1000, clock.now() - timedelta(days=3, minutes=1))
    assert_error(claim(client, shop, old), 422, "ticket_too_old")
    ahead = receipt(key, "T-9", 1000, clock.now() + timedelta(hours=1))
    assert_error(claim(client, shop, ahead), 422, "ticket_in_future")
    edge = receipt(key, "T-10", 1000, clock.now() - timedelta(days=2, hours=23))
    assert claim(client, shop, edge).status_code == 201


def test_the_daily_limits_per_member_and_per_device_hold(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    set_rules(client, shop, member_daily_claims=2, device_daily_claims=3)
    for n in range(2):
        code = receipt(key, f"M-{n}", 100, clock.now())
        assert claim(client, shop, code, device_id="phone-a").status_code == 201
    over = receipt(key, "M-2", 100, clock.now())
    assert_error(claim(client, shop, over, device_id="phone-b"), 429, "ticket_limit_reached")
    # Another member on the same phone: the device has one claim left today.
    other = shop.members[1]
    assert claim(client, shop, over, member=other, device_id="phone-a").status_code == 201
    fourth = receipt(key, "M-3", 100, clock.now())
    answer = claim(client, shop, fourth, member=other, device_id="phone-a")
    assert_error(answer, 429, "ticket_limit_reached")
    clock.at += timedelta(days=1, minutes=1)
    assert claim(client, shop, fourth, member=other, device_id="phone-a").status_code == 201


def test_a_location_key_is_kept_encrypted_and_only_its_owner_sees_it_once(
    client: TestClient, db: Database, shop: Shop
) -> None:
    key = make_key(client, shop)
    with db.read() as conn:
        query = text("SELECT secret FROM ticket_keys WHERE business_id = :b")
        stored = conn.execute(query, {"b": shop.id}).scalar_one()
    assert key["secret"] not in stored
    for role in ("staff", "manager"):
        made = client.post(
            f"/api/v1/locations/{shop.locations[0]}/ticket-keys", headers=shop.auth(role)
        )
        assert_error(made, 403, "role_required")
    missing = client.post("/api/v1/locations/999999/ticket-keys", headers=shop.auth("owner"))
    assert_error(missing, 404, "location_not_found")
    gone = client.delete("/api/v1/ticket-keys/zzzz", headers=shop.auth("owner"))
    assert_error(gone, 404, "ticket_key_not_found")


def test_an_erased_member_or_one_of_another_business_cannot_claim(
    client: TestClient, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    key = make_key(client, shop)
    code = receipt(key, "E-1", 1000, clock.now())
    assert_error(claim(client, shop, code, member=other_shop.members[0]), 404, "member_not_found")
    erased = client.post(f"/api/v1/members/{shop.members[1]}/erasure", headers=shop.auth("owner"))
    assert erased.status_code in (200, 202, 204), erased.text
    assert_error(claim(client, shop, code, member=shop.members[1]), 409, "member_erased")
    assert claim(client, shop, code).status_code == 201
