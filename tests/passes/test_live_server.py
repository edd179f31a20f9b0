"""A phone's whole round through a real server (uvicorn on a free port): the owner uploads the
certificates, the member downloads the pass, and the device does what Wallet does with it:
registers at the pass's own webServiceURL, lists and fetches it, is told of a balance change by
an APNs push (the local stand-in), lists again with its tag and fetches the new pass. On SQLite
and PostgreSQL."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.responses import Response

from lealtad.config import Settings
from lealtad.passes import push
from lealtad.web import sessions
from tests.conftest import SECRET
from tests.passes.apns_server import ApnsStandIn
from tests.passes.chain import make_chain, upload_apple
from tests.passes.helpers import grant
from tests.passes.live import free_base_url, serving
from tests.support import admin_login

CHAIN = make_chain()
PUSH_TOKEN = "c0ffee" * 10


@pytest.fixture
def live(db, clock, tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    settings = Settings(
        env="test",
        secret_key=SECRET,
        data_dir=tmp_path / "data",
        log_level="warning",
        base_url=free_base_url(),
    )
    with serving(settings, db, clock) as base:
        yield base, settings


def _pass(client: httpx.Client, settings: Settings, shop, member: int, card_version: int = 1):
    cookie = Response()
    sessions.start_member(cookie, settings, shop.id, member, card_version)
    name, value = cookie.headers["set-cookie"].split(";")[0].split("=", 1)
    client.cookies.set(name, value)
    answer = client.get(f"/w/{shop.slug}/card.pkpass")
    assert answer.status_code == 200
    with zipfile.ZipFile(io.BytesIO(answer.content)) as archive:
        return json.loads(archive.read("pass.json"))


def test_a_device_keeps_its_pass_current_through_the_real_server(live, db, shop, clock):
    base, settings = live
    with httpx.Client(base_url=base, timeout=60) as console:
        csrf = admin_login(console, shop, "owner")
        assert upload_apple(console, csrf, CHAIN).status_code == 303
    with httpx.Client(base_url=base, timeout=60) as site:
        card = _pass(site, settings, shop, shop.members[0])
    assert card["webServiceURL"] == f"{base}/passes/apple"
    assert card["storeCard"]["primaryFields"][0]["value"].startswith("0")

    # From here on only what the pass itself says: its web service address, type, serial, token.
    device = httpx.Client(
        base_url=card["webServiceURL"],
        headers={"Authorization": f"ApplePass {card['authenticationToken']}"},
        timeout=60,
    )
    kind, serial = card["passTypeIdentifier"], card["serialNumber"]
    registration = f"/v1/devices/phone-1/registrations/{kind}/{serial}"
    assert device.post(registration, json={"pushToken": PUSH_TOKEN}).status_code == 201
    listed = device.get(f"/v1/devices/phone-1/registrations/{kind}")
    assert listed.status_code == 200
    tag = listed.json()["lastUpdated"]
    first = device.get(f"/v1/passes/{kind}/{serial}")
    assert first.status_code == 200
    stamp = first.headers["last-modified"]
    assert (
        device.get(f"/v1/passes/{kind}/{serial}", headers={"If-Modified-Since": stamp}).status_code
        == 304
    )

    clock.at += timedelta(minutes=3)
    grant(db, shop, shop.members[0], 30, clock.now())
    with ApnsStandIn(CHAIN) as apns:
        push.push_changes(db, SECRET, clock.now(), apns_url=apns.url, server_ca=apns.ca_pem)
    assert [p.path for p in apns.pushes] == [f"/3/device/{PUSH_TOKEN}"]

    changed = device.get(
        f"/v1/devices/phone-1/registrations/{kind}", params={"passesUpdatedSince": tag}
    )
    assert changed.json()["serialNumbers"] == [serial]
    fresh = device.get(f"/v1/passes/{kind}/{serial}", headers={"If-Modified-Since": stamp})
    assert fresh.status_code == 200
    with zipfile.ZipFile(io.BytesIO(fresh.content)) as archive:
        now_shows = json.loads(archive.read("pass.json"))
    assert now_shows["storeCard"]["primaryFields"][0]["value"].startswith("30")
    assert now_shows["serialNumber"] == serial
    assert device.delete(registration).status_code == 200
    device.close()
