"""Reissuing a lost card: the old QR token stops working, the number and balance stay."""

from __future__ import annotations


def test_a_reissued_card_refuses_the_old_qr_and_keeps_the_number(client, shop) -> None:
    member = shop.members[0]
    before = client.get(f"/api/v1/members/{member}", headers=shop.auth()).json()
    answer = client.post(f"/api/v1/members/{member}/card/reissue", headers=shop.auth())
    assert answer.status_code == 200, answer.text
    after = answer.json()
    assert after["card_number"] == before["card_number"]
    assert after["qr_token"] != before["qr_token"]
    old = client.get(
        "/api/v1/members/lookup", params={"qr_token": before["qr_token"]}, headers=shop.auth()
    )
    assert old.status_code == 404
    new = client.get(
        "/api/v1/members/lookup", params={"qr_token": after["qr_token"]}, headers=shop.auth()
    )
    assert new.json()["id"] == member


def test_reissuing_needs_a_manager_and_is_audited(client, shop) -> None:
    member = shop.members[0]
    refused = client.post(f"/api/v1/members/{member}/card/reissue", headers=shop.auth("staff"))
    assert refused.status_code == 403
    client.post(f"/api/v1/members/{member}/card/reissue", headers=shop.auth())
    audit = client.get("/api/v1/audit-log", headers=shop.auth("owner")).json()
    assert any(entry["action"] == "member.card_reissued" for entry in audit)


def test_the_counter_accepts_a_fresh_wallet_code_and_refuses_a_stale_or_forged_one(
    client, shop, clock
) -> None:
    from datetime import timedelta

    from lealtad.members.model import rotating_token
    from tests.conftest import SECRET

    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    fresh = rotating_token(SECRET, shop.id, member["id"], 1, clock.now().timestamp())
    found = client.get("/api/v1/members/lookup", params={"qr_token": fresh}, headers=shop.auth())
    assert found.json()["id"] == member["id"]
    body = {"receipt_id": "R-rot-1", "amount": 1000, "currency": "EUR", "qr_token": fresh}
    assert client.post("/api/v1/purchases", json=body, headers=shop.auth()).status_code == 201
    stale = rotating_token(
        SECRET, shop.id, member["id"], 1, (clock.now() - timedelta(minutes=3)).timestamp()
    )
    answer = client.get("/api/v1/members/lookup", params={"qr_token": stale}, headers=shop.auth())
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "card_token_expired"
    forged = fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")
    answer = client.get("/api/v1/members/lookup", params={"qr_token": forged}, headers=shop.auth())
    assert answer.status_code == 404
