"""Webhooks go to public addresses only in production: no loopback, private network, link-local
(cloud metadata) or IPv4-mapped tricks, checked when saved and again when sent."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from lealtad.api import create_app
from lealtad.comms.addresses import refusal
from lealtad.config import Settings
from tests.support import PROD_FIELD_KEYS


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://api.localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.1.10/hook",
        "http://172.16.0.5/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fd00::1]/hook",
        "http://0.0.0.0/hook",
        "http://printer.local/hook",
        "http://db.internal/hook",
    ],
)
def test_a_private_or_loopback_address_is_refused(url: str) -> None:
    assert refusal(url, resolve=False) is not None
    assert refusal(url, resolve=True) is not None


@pytest.mark.parametrize("url", ["https://8.8.8.8/hook", "https://[2001:4860:4860::8888]/hook"])
def test_a_public_address_literal_is_allowed(url: str) -> None:
    assert refusal(url, resolve=True) is None


def test_a_name_is_judged_by_what_it_resolves_to_when_sending() -> None:
    # Saved without a lookup; at sending, "localhost" style names resolving to 127.0.0.1 fail.
    assert refusal("https://hooks.example.com/x", resolve=False) is None
    problem = refusal("http://ip6-localhost/x", resolve=True)
    assert problem is not None


def test_production_refuses_a_private_endpoint_with_a_clear_422(db, tmp_path, clock, shop) -> None:
    settings = Settings(
        env="prod",
        secret_key="p" * 40,
        **PROD_FIELD_KEYS,
        database_url="sqlite://",
        data_dir=tmp_path,
        log_level="warning",
    )
    with TestClient(create_app(settings, db=db, clock=clock)) as client:
        answer = client.post(
            "/api/v1/webhooks",
            json={"url": "http://169.254.169.254/latest/meta-data"},
            headers=shop.auth("owner"),
        )
        assert answer.status_code == 422
        assert answer.json()["error"]["code"] == "webhook_url_not_public"
        listed = client.get("/api/v1/webhooks", headers=shop.auth("manager")).json()
        assert listed == []


def test_an_operator_may_allow_private_endpoints_in_production(db, tmp_path, clock, shop) -> None:
    settings = Settings(
        env="prod",
        secret_key="p" * 40,
        **PROD_FIELD_KEYS,
        database_url="sqlite://",
        data_dir=tmp_path,
        log_level="warning",
        webhook_allow_private=True,
    )
    with TestClient(create_app(settings, db=db, clock=clock)) as client:
        answer = client.post(
            "/api/v1/webhooks", json={"url": "http://10.0.0.8/hook"}, headers=shop.auth("owner")
        )
        assert answer.status_code == 201, answer.text


def test_a_delivery_to_an_address_that_became_private_is_refused_at_sending(
    db, client, shop, clock
) -> None:
    from lealtad.comms import webhook_delivery
    from tests.api.test_webhooks import Receiver, create, fan_out, log, purchase

    receiver = Receiver()
    try:
        endpoint = create(client, shop, receiver, "/private", topics=["purchase.recorded"])
        purchase(client, shop)
        fan_out(db, shop, clock.now())
        webhook_delivery.deliver_due(db, clock.now(), allow_private=False)
        assert receiver.at("/private") == []
        entry = log(client, shop, endpoint["id"])[0]
        assert "not a public address" in entry["last_error"]
    finally:
        receiver.close()
        client.patch(
            f"/api/v1/webhooks/{endpoint['id']}", json={"active": False}, headers=shop.auth("owner")
        )
