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
