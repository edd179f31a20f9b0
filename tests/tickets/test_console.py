"""The console's approval queue: a manager sees the invoices waiting, approves one (the member
earns, dated as the ticket) and refuses another, with the session's CSRF token, in Spanish and
English; staff below manager are kept out."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.tenancy.tables import audit_log
from tests.support import Shop, admin_login
from tests.tickets.conftest import TAX_ID, invoice, set_rules
from tests.tickets.test_signed_api import claim


def waiting(client: TestClient, shop: Shop, clock: FixedClock, numserie: str) -> int:
    made = claim(client, shop, invoice(TAX_ID, numserie, clock.now(), "99.00"))
    assert made.json()["status"] == "pending", made.text
    return int(made.json()["id"])


def test_a_manager_approves_and_refuses_waiting_claims_in_the_console(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    set_rules(client, shop, approval_above=1000)
    first, second = waiting(client, shop, clock, "Q-1"), waiting(client, shop, clock, "Q-2")
    csrf = admin_login(client, shop)
    page = client.get("/admin/tickets?lang=es")
    assert page.status_code == 200
    assert "Reclamaciones de tickets" in page.text
    assert f'data-claim="{first}"' in page.text
    assert "99,00" in page.text
    forged = client.post(f"/admin/tickets/{first}/approve", data={"csrf": "nope"})
    assert forged.status_code == 403
    assert "text/html" in forged.headers["content-type"]
    approved = client.post(
        f"/admin/tickets/{first}/approve", data={"csrf": csrf}, follow_redirects=False
    )
    assert approved.status_code == 303
    shown = client.get(approved.headers["location"] + "&lang=en")
    assert "Claim approved: the purchase is recorded." in shown.text
    refused = client.post(f"/admin/tickets/{second}/refuse", data={"csrf": csrf})
    assert refused.status_code == 200
    assert "Reclamación rechazada" in client.get("/admin/tickets?done=refused&lang=es").text
    again = client.post(f"/admin/tickets/{second}/approve", data={"csrf": csrf})
    assert again.status_code == 409
    assert "Esa reclamación ya estaba decidida." in again.text
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"]["points"] == 99
    with db.read() as conn:
        actions = [
            r.action
            for r in conn.execute(
                # In the order they were written: PostgreSQL returns rows in no set order.
                select(audit_log).where(audit_log.c.business_id == shop.id).order_by(audit_log.c.id)
            )
            if r.action.startswith("ticket_claim.")
        ]
    assert actions == ["ticket_claim.approve", "ticket_claim.refuse"]


def test_staff_below_manager_cannot_open_the_queue(client: TestClient, shop: Shop) -> None:
    admin_login(client, shop, role="staff")
    assert client.get("/admin/tickets", follow_redirects=False).status_code in (303, 403)
