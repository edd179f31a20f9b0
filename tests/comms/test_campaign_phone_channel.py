"""A campaign for one phone channel alone (issue 20, part 4): written for WhatsApp, it goes to the
members who agreed to WhatsApp, on WhatsApp only, through the business's approved template at
the local stand-in for Meta's Cloud API (Graph API v21.0, tests/comms/phone_provider.py); a
campaign for a channel the business has not switched on is refused. On SQLite and PostgreSQL."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.comms import campaigns
from lealtad.comms.tables import messages as messages_table
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.phone_provider import Provider
from tests.comms.test_whatsapp import (  # noqa: F401  (fixtures)
    api,
    configure,
    noon,
    provider,
    wa_settings,
    work,
)
from tests.conftest import SECRET
from tests.support import Shop, admin_login
from tests.web.test_admin_campaigns import form
from tests.web.test_wallet_phone_consent import WHATSAPP

CAMPAIGN = {
    "name": "Weekend",
    "subject": {"es": "Fin de semana", "en": "Weekend"},
    "body": {"es": "Doble de puntos este fin de semana.", "en": "Double points this weekend."},
}


def _enrol(db: Database, shop: Shop, clock: FixedClock, address: str, phone: str, **consent) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(
                name="Lucía", email=address, phone=phone, locale="es", consent=Consent(**consent)
            ),
            channel="api",
            now=clock.now(),
        )


def test_a_whatsapp_campaign_reaches_whatsapp_only_and_an_unset_channel_is_refused(
    api: TestClient,  # noqa: F811
    db: Database,
    shop: Shop,
    noon: FixedClock,  # noqa: F811
    wa_settings: Settings,  # noqa: F811
    provider: Provider,  # noqa: F811
) -> None:
    templates = {"welcome": "bienvenida_socio", "campaign": "novedades_socios"}
    assert configure(api, shop, provider, templates=templates).status_code == 200
    both = _enrol(db, shop, noon, "lucia@example.org", "612 345 680", email=True, whatsapp=True)
    _enrol(db, shop, noon, "ana@example.org", "612 345 681", email=True, sms=True)
    work(db, wa_settings, noon, shop)  # the welcomes
    provider.received.clear()

    refused = api.post(
        "/api/v1/campaigns", json=CAMPAIGN | {"channels": ["sms"]}, headers=shop.auth()
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "channel_not_set_up"
    made = api.post(
        "/api/v1/campaigns", json=CAMPAIGN | {"channels": ["whatsapp"]}, headers=shop.auth()
    )
    assert made.status_code == 201, made.text
    campaign = made.json()["id"]
    with db.transaction() as conn:
        run_daily(conn, shop.id, noon.now(), SECRET)
    counts = work(db, wa_settings, noon, shop)
    assert counts.get("whatsapp_sent") == 1, counts

    with db.read() as conn:
        queued = conn.execute(
            select(messages_table.c.member_id, messages_table.c.channel).where(
                messages_table.c.business_id == shop.id,
                messages_table.c.campaign_id == campaign,
            )
        ).all()
    assert [tuple(row) for row in queued] == [(both, "whatsapp")]
    [request] = provider.received
    assert request.problems == []
    template = (request.json or {})["template"]
    assert template["name"] == "novedades_socios"
    name, text = (p["text"] for p in template["components"][0]["parameters"])
    assert name == "Lucía"
    assert "Doble de puntos" in text
    log = api.get(f"/api/v1/campaigns/{campaign}", headers=shop.auth()).json()
    assert log["channels"] == ["whatsapp"]
    assert log["recipients"] == 1


def test_the_console_offers_a_phone_channel_alone_once_it_is_switched_on(
    client, db, shop, settings
) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/campaigns/new?lang=en").text
    assert 'value="whatsapp"' not in page
    assert "E-mail and web push" in page
    off = client.post("/admin/campaigns/new", data=form(csrf, channel="whatsapp"))
    assert off.status_code == 422
    assert "That channel is not switched on" in off.text

    answer = client.put("/api/v1/channels/whatsapp", json=WHATSAPP, headers=shop.auth("owner"))
    assert answer.status_code == 200, answer.text
    page = client.get("/admin/campaigns/new?lang=es").text
    assert "Solo WhatsApp" in page
    assert "Todos los canales que cada socio aceptó" in page
    assert 'value="sms"' not in page
    made = client.post(
        "/admin/campaigns/new",
        data=form(csrf, channel="whatsapp", when="later", send_at="2026-03-10T10:00"),
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    campaign_id = int(made.headers["location"].split("/")[3].split("?")[0])
    with db.read() as conn:
        assert campaigns.get(conn, shop.id, campaign_id).channels == ["whatsapp"]
    shown = client.get(f"/admin/campaigns/{campaign_id}?lang=es").text
    assert "Solo WhatsApp" in shown
    every = client.post(
        "/admin/campaigns/new",
        data=form(csrf, when="later", send_at="2026-03-10T10:00"),
        follow_redirects=False,
    )
    shown = client.get(every.headers["location"].split("?")[0] + "?lang=en").text
    assert "Every channel each member agreed to" in shown
