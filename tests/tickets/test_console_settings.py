"""The owner's ticket screen in the console: a key made for a location is shown once and signs
receipts the API accepts, a retired key signs no more; the ticket rules are saved, refused when
wrong (in the page's language), and shown in the approval queue; managers are kept out."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lealtad.kit.clock import FixedClock
from tests.api.test_bad_input import assert_error
from tests.support import Shop, admin_login
from tests.tickets.conftest import receipt
from tests.tickets.test_signed_api import claim

PAGE = "/admin/settings/tickets"


def _shown(html: str, name: str) -> str:
    found = re.search(rf"data-{name}>([^<]+)<", html)
    assert found, name
    return found.group(1)


def test_an_owner_makes_and_retires_a_key_in_the_console(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    csrf = admin_login(client, shop, role="owner")
    made = client.post(f"{PAGE}/keys", data={"csrf": csrf, "location": str(shop.locations[1])})
    assert made.status_code == 201
    assert made.headers["cache-control"] == "no-store"
    key = {
        "key_id": _shown(made.text, "key-id"),
        "secret": _shown(made.text, "key-secret"),
        "location_id": shop.locations[1],
    }
    assert key["secret"] not in client.get(PAGE).text  # shown once
    assert claim(client, shop, receipt(key, "K-1", 700, clock.now())).status_code == 201
    retired = client.post(
        f"{PAGE}/keys/{key['key_id']}/retire", data={"csrf": csrf}, follow_redirects=False
    )
    assert retired.status_code == 303
    refused = claim(client, shop, receipt(key, "K-2", 700, clock.now()))
    assert_error(refused, 422, "ticket_not_this_business")
    missing = client.post(f"{PAGE}/keys", data={"csrf": csrf, "location": "999999"})
    assert missing.status_code == 404
    assert client.post(f"{PAGE}/keys", data={"csrf": "x", "location": "1"}).status_code == 403


def test_an_owner_saves_the_ticket_rules_and_wrong_ones_are_refused(
    client: TestClient, shop: Shop
) -> None:
    csrf = admin_login(client, shop, role="owner")
    rules = {
        "csrf": csrf,
        "tax_id": "b-12345674",
        "max_age_days": "10",
        "member_daily_claims": "4",
        "device_daily_claims": "6",
        "approval_above": "50,00",
    }
    saved = client.post(f"{PAGE}/rules", data=rules)
    assert saved.status_code == 200
    assert "Reglas de los tickets guardadas." in saved.text
    stored = client.get("/api/v1/ticket-settings", headers=shop.auth()).json()
    assert stored == {
        "tax_id": "B12345674",
        "max_age_days": 10,
        "member_daily_claims": 4,
        "device_daily_claims": 6,
        "approval_above": 5000,
    }
    assert "50,00" in client.get("/admin/tickets").text
    bad_tax = client.post(f"{PAGE}/rules", data=rules | {"tax_id": "12"})
    assert bad_tax.status_code == 422
    assert "Un NIF tiene 9 letras y cifras" in bad_tax.text
    assert client.post(f"{PAGE}/rules", data=rules | {"max_age_days": "-1"}).status_code == 422
    bad_amount = client.post(f"{PAGE}/rules", data=rules | {"approval_above": "diez"})
    assert bad_amount.status_code == 422
    cleared = client.post(f"{PAGE}/rules", data=rules | {"approval_above": "", "tax_id": ""})
    assert cleared.status_code == 200
    after = client.get("/api/v1/ticket-settings", headers=shop.auth()).json()
    assert (after["approval_above"], after["tax_id"]) == (None, None)


def test_a_manager_cannot_open_the_owners_ticket_screen(client: TestClient, shop: Shop) -> None:
    admin_login(client, shop, role="manager")
    assert client.get(PAGE).status_code == 403
