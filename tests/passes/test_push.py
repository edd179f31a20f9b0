"""Update pushes: when a member's balance changes, every device holding the pass gets a push
through APNs (a local stand-in that demands the pass certificate as the TLS client
certificate); a device APNs says is gone (410) is forgotten; nothing unchanged is pushed twice.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from lealtad.passes import push
from tests.passes.apns_server import ApnsStandIn
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
PHONE, WATCH = "f" * 64, "e" * 64


def test_a_balance_change_is_pushed_to_every_device_holding_the_pass(
    client, db, shop, clock, settings
):
    owner_uploads(client, shop, CHAIN)
    card = downloaded_pass(client, db, shop, shop.members[0])
    for device, token in (("phone", PHONE), ("watch", WATCH)):
        answer = client.post(
            registration_path(card, device), json={"pushToken": token}, headers=auth(card)
        )
        assert answer.status_code == 201
    # Another member's pass, on no device, is never looked at.
    downloaded_pass(client, db, shop, shop.members[1])
    secret = settings.effective_secret_key

    with ApnsStandIn(CHAIN, gone={WATCH}) as apns:
        assert (
            push.push_changes(db, secret, clock.now(), apns_url=apns.url, server_ca=apns.ca_pem)[
                "passes_pushed"
            ]
            == 0
        )
        assert apns.pushes == []

        clock.at += timedelta(minutes=1)
        grant(db, shop, shop.members[0], 25, clock.now())
        grant(db, shop, shop.members[1], 25, clock.now())
        counts = push.push_changes(
            db, secret, clock.now(), apns_url=apns.url, server_ca=apns.ca_pem
        )
        assert counts == {"passes_changed": 1, "passes_pushed": 1, "passes_push_failed": 0}
        assert sorted(p.path for p in apns.pushes) == sorted(
            [f"/3/device/{PHONE}", f"/3/device/{WATCH}"]
        )
        for each in apns.pushes:
            assert each.topic == PASS_TYPE_ID
            assert each.body == b"{}"
            assert each.client_subject == f"Pass Type ID: {PASS_TYPE_ID}"

        # Nothing changed since: no second push.
        clock.at += timedelta(minutes=1)
        again = push.push_changes(db, secret, clock.now(), apns_url=apns.url, server_ca=apns.ca_pem)
        assert again["passes_pushed"] == 0
        assert len(apns.pushes) == 2

    # The watch APNs called gone no longer lists the pass; the phone does.
    phone = client.get(f"{SERVICE}/devices/phone/registrations/{PASS_TYPE_ID}")
    watch = client.get(f"{SERVICE}/devices/watch/registrations/{PASS_TYPE_ID}")
    assert phone.status_code == 200
    assert watch.status_code == 204
