"""The pass web service as Apple's "Wallet Passes" reference documents it (protocol v1): device
registration (201 new, 200 known, 401 without the pass's token), the list of updated serials
(200 with serialNumbers and lastUpdated, 204 when none), the latest pass (If-Modified-Since gives
304), unregistering and the log endpoint; a flood of registrations and of wrong tokens is held
back. Through the application's HTTP interface, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from lealtad.members import cards
from lealtad.passes import push
from tests.passes.chain import PASS_TYPE_ID, make_chain
from tests.passes.helpers import (
    SERVICE,
    auth,
    downloaded_pass,
    grant,
    owner_uploads,
    registration_path,
)

CHAIN = make_chain()
DEVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"


def _ready(client, db, shop) -> dict:
    owner_uploads(client, shop, CHAIN)
    return downloaded_pass(client, db, shop, shop.members[0])


def test_a_device_registers_lists_fetches_and_unregisters_as_apple_documents(
    client, db, shop, clock, settings
):
    card = _ready(client, db, shop)
    path = registration_path(card, DEVICE)
    body = {"pushToken": "ab" * 32}

    missing = client.post(path, json=body)
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "pass_unauthorized"
    wrong = client.post(path, json=body, headers={"Authorization": "ApplePass " + "x" * 32})
    assert wrong.status_code == 401
    assert client.post(path, json=body, headers=auth(card)).status_code == 201
    assert client.post(path, json=body, headers=auth(card)).status_code == 200

    listing = client.get(f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}")
    assert listing.status_code == 200
    assert listing.json()["serialNumbers"] == [card["serialNumber"]]
    tag = listing.json()["lastUpdated"]
    since = client.get(
        f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}",
        params={"passesUpdatedSince": tag},
    )
    assert since.status_code == 204
    other_type = client.get(f"{SERVICE}/devices/{DEVICE}/registrations/pass.other.kind")
    assert other_type.status_code == 204

    latest = f"{SERVICE}/passes/{PASS_TYPE_ID}/{card['serialNumber']}"
    assert client.get(latest).status_code == 401
    served = client.get(latest, headers=auth(card))
    assert served.status_code == 200
    assert served.headers["content-type"] == "application/vnd.apple.pkpass"
    stamp = served.headers["Last-Modified"]
    unchanged = client.get(latest, headers=auth(card) | {"If-Modified-Since": stamp})
    assert unchanged.status_code == 304
    assert unchanged.content == b""

    # The balance moves a little later: the pass is newer than the device's copy and its tag.
    clock.at += timedelta(minutes=5)
    grant(db, shop, shop.members[0], 40, clock.now())
    counts = push.push_changes(
        db, settings.effective_secret_key, clock.now(), apns_url="http://127.0.0.1:9"
    )
    assert counts["passes_changed"] == 1
    changed = client.get(
        f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}",
        params={"passesUpdatedSince": tag},
    )
    assert changed.status_code == 200
    assert changed.json()["serialNumbers"] == [card["serialNumber"]]
    assert changed.json()["lastUpdated"] != tag
    fresh = client.get(latest, headers=auth(card) | {"If-Modified-Since": stamp})
    assert fresh.status_code == 200
    assert fresh.headers["Last-Modified"] != stamp

    assert client.delete(path).status_code == 401
    assert client.delete(path, headers=auth(card)).status_code == 200
    gone = client.get(f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}")
    assert gone.status_code == 204

    logged = client.post(f"{SERVICE}/log", json={"logs": ["Could not verify the pass"]})
    assert logged.status_code == 200


def test_unknown_serials_and_malformed_requests_get_4xx_envelopes(client, db, shop):
    card = _ready(client, db, shop)
    unknown = client.post(
        f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}/{'0' * 32}",
        json={"pushToken": "t"},
        headers=auth(card),
    )
    assert unknown.status_code == 401
    no_body = client.post(registration_path(card, DEVICE), headers=auth(card))
    assert no_body.status_code == 422
    assert "error" in no_body.json()
    wrong_type = client.post(
        f"{SERVICE}/devices/{DEVICE}/registrations/pass.other.kind/{card['serialNumber']}",
        json={"pushToken": "t"},
        headers=auth(card),
    )
    assert wrong_type.status_code == 401
    bad_tag = client.get(
        f"{SERVICE}/devices/{DEVICE}/registrations/{PASS_TYPE_ID}",
        params={"passesUpdatedSince": "yesterday"},
    )
    assert bad_tag.status_code == 204
    long_device = client.get(f"{SERVICE}/devices/{'d' * 300}/registrations/{PASS_TYPE_ID}")
    assert long_device.status_code == 422


def test_a_flood_of_registrations_is_refused_after_the_devices_a_pass_may_have(client, db, shop):
    card = _ready(client, db, shop)
    answers = [
        client.post(
            registration_path(card, f"device{n:03d}"),
            json={"pushToken": f"t{n}"},
            headers=auth(card),
        ).status_code
        for n in range(14)
    ]
    assert answers[:10] == [201] * 10
    assert answers[10:] == [429] * 4
    refused = client.post(
        registration_path(card, "device999"), json={"pushToken": "t"}, headers=auth(card)
    )
    assert refused.json()["error"]["code"] == "too_many_devices"
    # A device already registered still renews its push token.
    again = client.post(
        registration_path(card, "device000"), json={"pushToken": "renewed"}, headers=auth(card)
    )
    assert again.status_code == 200


def test_guessing_a_pass_token_is_locked_out(client, db, shop):
    card = _ready(client, db, shop)
    path = registration_path(card, DEVICE)
    guesses = [
        client.post(
            path, json={"pushToken": "t"}, headers={"Authorization": f"ApplePass guess{n:027d}"}
        ).status_code
        for n in range(7)
    ]
    assert guesses[:5] == [401] * 5
    assert guesses[5:] == [429, 429]
    locked = client.post(path, json={"pushToken": "t"}, headers=auth(card))
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


def test_a_reissued_card_retires_the_old_pass_token(client, db, shop, clock):
    card = _ready(client, db, shop)
    with db.transaction() as conn:
        cards.reissue(conn, shop.principal(), shop.members[0], clock.now())
    answer = client.post(
        registration_path(card, DEVICE), json={"pushToken": "t"}, headers=auth(card)
    )
    assert answer.status_code == 401
