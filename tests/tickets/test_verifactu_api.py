"""VERI*FACTU invoice QRs (the AEAT's ValidarQR address, "Características del QR" v0.5.0: nif,
numserie, fecha dd-mm-yyyy, importe), printed with segno and read with zxing-cpp: accepted when
the issuer is the business's own tax id, within the age limit, once per invoice and within the
member's daily limit; above the approval amount the claim waits for staff."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.kit.clock import FixedClock
from tests.api.test_bad_input import assert_error
from tests.support import Shop
from tests.tickets.conftest import TAX_ID, invoice, scanned, set_rules
from tests.tickets.test_signed_api import claim


def test_an_invoice_of_the_business_earns_once_as_a_purchase_dated_that_day(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    set_rules(client, shop, tax_id="b-1234567-4")  # kept as the AEAT writes it: B12345674
    saved = client.get("/api/v1/ticket-settings", headers=shop.auth()).json()
    assert saved["tax_id"] == TAX_ID
    day = clock.now() - timedelta(days=2)
    url = scanned(invoice(TAX_ID, "2026A&0042", day, "24.35"))
    assert "numserie=2026A%260042" in url
    done = claim(client, shop, url)
    assert done.status_code == 201, done.text
    body = done.json()
    assert (body["status"], body["source"], body["amount"], body["points"]) == (
        "accepted",
        "verifactu",
        2435,
        24,
    )
    assert body["receipt_id"] == "2026A&0042"
    assert body["issued_at"].startswith(day.strftime("%Y-%m-%d"))
    assert_error(claim(client, shop, url), 409, "ticket_already_claimed")
    # The same invoice through the test environment's address is the same invoice.
    test_env = url.replace("www2.agenciatributaria.gob.es", "prewww2.aeat.es")
    assert_error(
        claim(client, shop, test_env, member=shop.members[1]), 409, "ticket_already_claimed"
    )


def test_a_foreign_tax_id_an_old_date_a_future_date_or_no_tax_id_set_is_refused(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    today = clock.now()
    url = invoice(TAX_ID, "F-1", today, "10.00")
    assert_error(claim(client, shop, url), 422, "ticket_not_this_business")  # no tax id yet
    set_rules(client, shop, max_age_days=5)
    foreign = scanned(invoice("A87654321", "F-1", today, "10.00"))
    assert_error(claim(client, shop, foreign), 422, "ticket_not_this_business")
    old = scanned(invoice(TAX_ID, "F-2", today - timedelta(days=6), "10.00"))
    assert_error(claim(client, shop, old), 422, "ticket_too_old")
    ahead = invoice(TAX_ID, "F-3", today + timedelta(days=1), "10.00")
    assert_error(claim(client, shop, ahead), 422, "ticket_in_future")
    edge = invoice(TAX_ID, "F-4", today - timedelta(days=5), "10.00")
    assert claim(client, shop, edge).status_code == 201
    non_verifiable = invoice(TAX_ID, "F-5", today, "3.10").replace(
        "ValidarQR", "ValidarQRNoVerifactu"
    )
    assert claim(client, shop, non_verifiable).json()["amount"] == 310
    for broken in (
        invoice(TAX_ID, "F-6", today, "10.001"),
        invoice(TAX_ID, "F-6", today, "diez"),
        invoice(TAX_ID, "F-6", today, "-1"),
        invoice(TAX_ID, "", today, "1.00"),
        invoice(TAX_ID, "F-6", today, "1.00").replace("fecha=", "fecha=32-"),
        "https://www2.agenciatributaria.gob.es/wlpl/TIKE-CONT/ValidarQR",
    ):
        assert_error(claim(client, shop, broken), 422, "ticket_unreadable")


def test_the_member_daily_limit_holds_for_invoices(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    set_rules(client, shop, member_daily_claims=2)
    for n in range(2):
        assert (
            claim(client, shop, invoice(TAX_ID, f"D-{n}", clock.now(), "5.00")).status_code == 201
        )
    over = invoice(TAX_ID, "D-2", clock.now(), "5.00")
    assert_error(claim(client, shop, over), 429, "ticket_limit_reached")


def test_an_invoice_above_the_approval_amount_waits_and_staff_approve_or_refuse_it(
    client: TestClient, shop: Shop, clock: FixedClock
) -> None:
    set_rules(client, shop, approval_above=5000)
    small = claim(client, shop, invoice(TAX_ID, "A-1", clock.now(), "50.00"))
    assert small.json()["status"] == "accepted"
    big = claim(client, shop, invoice(TAX_ID, "A-2", clock.now(), "120.00")).json()
    assert (big["status"], big["points"], big["purchase_id"]) == ("pending", 0, None)
    other = claim(client, shop, invoice(TAX_ID, "A-3", clock.now(), "80.00")).json()
    queue = client.get("/api/v1/ticket-claims?status=pending", headers=shop.auth()).json()
    assert [c["id"] for c in queue] == [other["id"], big["id"]]
    assert_error(client.get("/api/v1/ticket-claims", headers=shop.auth("staff")), 403)
    approved = client.post(f"/api/v1/ticket-claims/{big['id']}/approve", headers=shop.auth())
    assert approved.status_code == 200, approved.text
    assert (approved.json()["status"], approved.json()["points"]) == ("accepted", 120)
    refused = client.post(f"/api/v1/ticket-claims/{other['id']}/refuse", headers=shop.auth())
    assert refused.json()["status"] == "refused"
    again = client.post(f"/api/v1/ticket-claims/{other['id']}/approve", headers=shop.auth())
    assert_error(again, 409, "ticket_claim_decided")
    assert_error(client.post("/api/v1/ticket-claims/999999/approve", headers=shop.auth()), 404)
    # A refused invoice stays claimed: scanning it again earns nothing.
    assert_error(
        claim(client, shop, invoice(TAX_ID, "A-3", clock.now(), "80.00")),
        409,
        "ticket_already_claimed",
    )
    balance = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert balance["balances"]["points"] == 50 + 120


def test_settings_are_validated(client: TestClient, shop: Shop) -> None:
    bad = client.put("/api/v1/ticket-settings", json={"tax_id": "no"}, headers=shop.auth("owner"))
    assert_error(bad, 422, "tax_id_invalid")
    assert_error(client.put("/api/v1/ticket-settings", json={}, headers=shop.auth()), 403)
    limits = {"max_age_days": -1}
    assert_error(
        client.put("/api/v1/ticket-settings", json=limits, headers=shop.auth("owner")), 422
    )
