"""Campaigns: written in both languages, sent at their time to the chosen members only, with a
delivery log of their own."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lealtad.events.jobs import run_daily
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.test_email import to, work
from tests.conftest import SECRET


def test_a_scheduled_campaign_reaches_the_chosen_tag_in_each_members_language(
    db, shop, clock, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    with db.transaction() as conn:
        for email, locale, tags in (
            ("vip@example.org", "es", ["vip"]),
            ("vip2@example.org", "en", ["VIP"]),
            ("plain@example.org", "es", []),
        ):
            members.enrol(
                conn,
                shop.id,
                MemberIn(
                    name="M", email=email, locale=locale, tags=tags, consent=Consent(email=True)
                ),  # type: ignore[arg-type]
                channel="api",
                now=clock.now(),
            )
    work(db, mail_settings, clock, shop)  # the welcome mails
    body = {
        "name": "Spring",
        "subject": {"es": "Llega la primavera", "en": "Spring is here"},
        "body": {"es": "Doble de puntos este fin de semana.", "en": "Double points this weekend."},
        "tags": ["vip"],
        "send_at": (clock.now() + timedelta(hours=2)).isoformat(),
    }
    assert (
        client.post("/api/v1/campaigns", json=body, headers=shop.auth("staff")).status_code == 403
    )
    made = client.post("/api/v1/campaigns", json=body, headers=shop.auth())
    assert made.status_code == 201, made.text
    campaign = made.json()
    assert campaign["status"] == "scheduled"
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET)
    work(db, mail_settings, clock, shop)
    assert [m for m in box.mails if "primavera" in m["Subject"] or "Spring" in m["Subject"]] == []
    clock.at += timedelta(hours=3)
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET)
    work(db, mail_settings, clock, shop)
    assert [m["Subject"] for m in to(box, "vip@example.org")][-1] == "Llega la primavera"
    assert [m["Subject"] for m in to(box, "vip2@example.org")][-1] == "Spring is here"
    assert all("primavera" not in m["Subject"] for m in to(box, "plain@example.org"))
    log = client.get(f"/api/v1/campaigns/{campaign['id']}", headers=shop.auth()).json()
    assert (log["status"], log["recipients"], log["delivery"]) == ("sent", 2, {"sent": 2})


def test_a_campaign_can_be_cancelled_before_it_goes_and_bad_ones_are_refused(
    client, shop, clock
) -> None:
    body = {
        "name": "Later",
        "subject": {"es": "Hola", "en": "Hi"},
        "body": {"es": "Hola", "en": "Hi"},
        "send_at": (clock.now() + timedelta(days=1)).isoformat(),
    }
    made = client.post("/api/v1/campaigns", json=body, headers=shop.auth()).json()
    cancelled = client.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=shop.auth())
    assert cancelled.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=shop.auth())
    assert again.status_code == 409
    missing = client.post(
        "/api/v1/campaigns", json=body | {"subject": {"es": "Hola"}}, headers=shop.auth()
    )
    assert missing.status_code == 422
    assert missing.json()["error"]["details"][0]["loc"][-1] == "en"
