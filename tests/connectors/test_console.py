"""The console's connectors page: each connector's address, its policy for unknown buyers and
its last deliveries, in Spanish and English; managers only."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from lealtad.connectors import standard
from tests.support import Shop, admin_login

SECRET = "whsec_" + "Y29uc29sZS1wYWdlLXNlY3JldC0xMjM0NTY3ODkw"


def test_the_page_lists_connectors_and_their_last_deliveries(
    client: TestClient, shop: Shop
) -> None:
    owner = {"X-API-Key": shop.keys["owner"]}
    config = {"secret": SECRET, "unknown_customer": "enrol"}
    assert client.put("/api/v1/connectors/standard", json=config, headers=owner).status_code == 200
    body = json.dumps(
        {
            "type": "sale.completed",
            "data": {
                "id": "T-77",
                "amount": 900,
                "currency": "EUR",
                "occurred_at": "2026-03-02T10:00:00Z",
            },
        }
    ).encode()
    stamp = int(client.app.state.clock.now().timestamp())  # type: ignore[attr-defined]
    signed = {
        "webhook-id": "msg_77",
        "webhook-timestamp": str(stamp),
        "webhook-signature": standard.sign(SECRET, "msg_77", stamp, body),
    }
    assert (
        client.post(f"/hooks/standard/{shop.slug}", content=body, headers=signed).status_code == 200
    )
    assert client.post(f"/hooks/standard/{shop.slug}", content=body).status_code == 401
    admin_login(client, shop, "manager")
    english = client.get("/admin/settings/connectors?lang=en")
    assert english.status_code == 200
    assert f"/hooks/standard/{shop.slug}" in english.text
    assert "Generic signed webhook" in english.text
    assert "is enrolled as a member" in english.text
    assert "T-77" in english.text
    assert english.text.count('data-outcome="recorded"') == 1
    assert english.text.count('data-outcome="refused"') == 1
    assert "missing_signature" in english.text
    spanish = client.get("/admin/settings/connectors?lang=es")
    assert "Webhook firmado genérico" in spanish.text
    assert "Rechazado" in spanish.text
    assert "Últimos envíos" in spanish.text


def test_staff_cannot_open_the_page(client: TestClient, shop: Shop) -> None:
    admin_login(client, shop, "staff")
    answer = client.get("/admin/settings/connectors", follow_redirects=False)
    assert answer.status_code in (303, 403)


def test_a_manager_sets_a_connector_up_from_the_console(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop, "manager")
    form = {"vendor": "square", "secret": "", "unknown_customer": "enrol", "csrf": csrf}
    refused = client.post("/admin/settings/connectors", data=form)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("text/html")
    assert (
        "Indica el secreto con el que firma el proveedor." in refused.text
    )  # the shop speaks Spanish
    form |= {"secret": "square-signature-key", "location": str(shop.locations[1])}
    saved = client.post("/admin/settings/connectors", data=form, follow_redirects=False)
    assert saved.status_code == 303
    owner = {"X-API-Key": shop.keys["owner"]}
    [square] = client.get("/api/v1/connectors", headers=owner).json()
    assert (square["vendor"], square["unknown_customer"]) == ("square", "enrol")
    assert square["location_id"] == shop.locations[1]
    # The mapping of Square's locations, set through the API, survives a save in the console.
    mapped = {"secret": "square-signature-key", "locations": {"L88917AVBK2S5": shop.locations[0]}}
    assert client.put("/api/v1/connectors/square", json=mapped, headers=owner).status_code == 200
    form |= {"secret": "", "unknown_customer": "anonymous"}
    assert (
        client.post("/admin/settings/connectors", data=form, follow_redirects=False).status_code
        == 303
    )
    [square] = client.get("/api/v1/connectors", headers=owner).json()
    assert square["locations"] == {"L88917AVBK2S5": shop.locations[0]}
    assert square["unknown_customer"] == "anonymous"
    spanish = client.get("/admin/settings/connectors?lang=es").text
    assert "Conectar una caja o tienda" in spanish
    wrong = client.post("/admin/settings/connectors", data=form | {"csrf": "nope"})
    assert wrong.status_code == 403


def test_every_connectable_vendor_is_offered_in_both_languages(
    client: TestClient, shop: Shop
) -> None:
    from lealtad.connectors.vendors import VENDORS

    admin_login(client, shop, "manager")
    english = client.get("/admin/settings/connectors?lang=en").text
    spanish = client.get("/admin/settings/connectors?lang=es").text
    for name in VENDORS:
        assert f'<option value="{name}"' in english
    assert ">WooCommerce</option>" in english
    assert ">Loyverse</option>" in english
    assert "Loyverse: a secret of at least 24 characters" in english
    assert "Loyverse: un secreto de al menos 24 caracteres" in spanish


def test_a_loyverse_connector_shows_where_its_token_goes(client: TestClient, shop: Shop) -> None:
    csrf = admin_login(client, shop, "manager")
    form = {"vendor": "loyverse", "secret": "too-short-a-token", "csrf": csrf}
    short = client.post("/admin/settings/connectors", data=form)
    assert short.status_code == 422
    assert "el secreto debe tener al menos 24 caracteres" in short.text
    form["secret"] = "lv-" + "a1b2c3d4" * 4
    assert (
        client.post("/admin/settings/connectors", data=form, follow_redirects=False).status_code
        == 303
    )
    spanish = client.get("/admin/settings/connectors?lang=es").text
    assert f"/hooks/loyverse/{shop.slug}?token=…" in spanish
    assert "Loyverse no firma sus webhooks" in spanish
    assert "lv-a1b2c3d4" not in spanish  # the secret is never shown again
