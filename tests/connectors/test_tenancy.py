"""Each business reaches only its own connectors: its configuration, its log, its secret."""

from __future__ import annotations

from tests.connectors.conftest import Till, envelope
from tests.connectors.test_standard import SECRET, _sale, post
from tests.support import Shop

OTHER = "whsec_" + "b3RoZXItYnVzaW5lc3Mtc2VjcmV0LTEyMzQ1Njc4"


def test_a_business_sees_and_signs_only_its_own_connector(till: Till, other_shop: Shop) -> None:
    theirs = {"X-API-Key": other_shop.keys["owner"]}
    answer = till.http.put("/api/v1/connectors/standard", json={"secret": OTHER}, headers=theirs)
    assert answer.status_code == 200, answer.text
    assert answer.json()["hook_path"] == f"/hooks/standard/{other_shop.slug}"
    mine = till.http.get("/api/v1/connectors/standard/deliveries", headers=till.owner)
    assert mine.status_code == 404
    assert envelope(mine) == "connector_not_found"
    assert till.http.get("/api/v1/connectors", headers=till.owner).json() == []
    till.connect("standard", secret=SECRET)
    # A request signed with the other business's secret does not pass for this one.
    forged = post(till, _sale("T-x", 100), secret=OTHER)
    assert forged.status_code == 401
    assert [d["outcome"] for d in till.deliveries("standard")] == ["refused"]
    logged = till.http.get("/api/v1/connectors/standard/deliveries", headers=theirs)
    assert logged.json() == []


def test_staff_cannot_configure_and_secrets_are_never_shown(till: Till) -> None:
    staff = {"X-API-Key": till.shop.keys["staff"]}
    answer = till.http.put("/api/v1/connectors/square", json={"secret": "k" * 20}, headers=staff)
    assert answer.status_code == 403
    shown = till.connect("square", secret="signature-key-123456")
    assert "secret" not in shown
    listed = till.http.get("/api/v1/connectors", headers=till.owner).text
    assert "signature-key-123456" not in listed
    unknown = till.http.put(
        "/api/v1/connectors/nosuch", json={"secret": "k" * 20}, headers=till.owner
    )
    assert unknown.status_code == 404
    missing = till.http.put("/api/v1/connectors/shopify", json={}, headers=till.owner)
    assert missing.status_code == 422
    assert envelope(missing) == "secret_required"
    elsewhere = till.http.put(
        "/api/v1/connectors/shopify",
        json={"secret": "k" * 20, "location_id": 999999},
        headers=till.owner,
    )
    assert elsewhere.status_code == 404
