"""WhatsApp end to end against a local stand-in for Meta's WhatsApp Business Cloud API
(tests/comms/phone_provider.py, Graph API v21.0): approved templates sent with the Bearer token
in the documented JSON, consent per channel, the webhook's GET handshake, status updates and
members' messages signed with X-Hub-Signature-256, and an opt-out by replying "STOP"."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.api import create_app
from lealtad.comms import messages
from lealtad.comms.channel_tables import channel_sends
from lealtad.comms.dispatch import dispatch
from lealtad.comms.outbox import emit
from lealtad.comms.tables import messages as messages_table
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.phone_provider import Provider
from tests.support import Shop

APP_SECRET = "meta-app-secret-for-tests"
VERIFY = "verify-token-of-the-business"


@pytest.fixture
def provider() -> Iterator[Provider]:
    found = Provider()
    yield found
    found.stop()


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
    return clock


@pytest.fixture
def wa_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": "http://lealtad.test"})


@pytest.fixture
def api(db: Database, wa_settings: Settings, noon: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(wa_settings, db=db, clock=noon)) as client:
        yield client


def configure(api: TestClient, shop: Shop, provider: Provider, **extra: Any) -> Any:
    body = {
        "base_url": provider.url,
        "api_version": "v21.0",
        "phone_number_id": provider.phone_number_id,
        "access_token": provider.access_token,
        "app_secret": APP_SECRET,
        "verify_token": VERIFY,
        "country_code": "34",
        "templates": {"welcome": "bienvenida_socio", "winback": "te_echamos_de_menos"},
        "languages": {"es": "es_ES", "en": "en_US"},
        **extra,
    }
    return api.put("/api/v1/channels/whatsapp", json=body, headers=shop.auth("owner"))


def enrol(db: Database, shop: Shop, clock: FixedClock, phone: str, ok: bool = True) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(name="Lucía", phone=phone, locale="es", consent=Consent(whatsapp=ok)),
            channel="api",
            now=clock.now(),
        )


def work(db: Database, settings: Settings, clock: FixedClock, shop: Shop) -> dict[str, int]:
    dispatch(db, clock.now(), business_id=shop.id)
    return messages.send_due(db, settings, clock.now(), business_id=shop.id)


def wa_rows(db: Database, shop: Shop, member: int) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(messages_table)
                .where(
                    messages_table.c.business_id == shop.id,
                    messages_table.c.member_id == member,
                    messages_table.c.channel == "whatsapp",
                )
                .order_by(messages_table.c.id)
            )
        )


def notification(value: dict[str, Any], phone_number_id: str) -> bytes:
    """A webhook post as Meta documents it for the `messages` field."""
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [
                {
                    "id": "102290129340398",
                    "changes": [
                        {
                            "field": "messages",
                            "value": {
                                "messaging_product": "whatsapp",
                                "metadata": {
                                    "display_phone_number": "34911000222",
                                    "phone_number_id": phone_number_id,
                                },
                                **value,
                            },
                        }
                    ],
                }
            ],
        }
    ).encode()


def post(api: TestClient, shop: Shop, body: bytes, secret: str | None = APP_SECRET) -> Any:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={digest}"
    return api.post(f"/api/v1/public/{shop.slug}/whatsapp", content=body, headers=headers)


def test_the_webhook_handshake_echoes_the_challenge_for_the_right_token(
    api: TestClient, shop: Shop, provider: Provider
) -> None:
    path = f"/api/v1/public/{shop.slug}/whatsapp"
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"}
    assert api.get(path, params=query).status_code == 404, "not set up yet"
    assert configure(api, shop, provider).status_code == 200
    answer = api.get(path, params=query)
    assert (answer.status_code, answer.text) == (200, "1158201444")
    wrong = api.get(path, params={**query, "hub.verify_token": "guess"})
    assert wrong.status_code == 403
    assert wrong.json()["error"]["code"] == "invalid_verify_token"


def test_settings_check_template_names_and_keep_secrets(
    api: TestClient, shop: Shop, provider: Provider
) -> None:
    bad = configure(api, shop, provider, templates={"welcome": "Bienvenida!"})
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_whatsapp_templates"
    unknown = configure(api, shop, provider, templates={"newsletter": "news"})
    assert unknown.json()["error"]["details"]["unknown_kinds"] == ["newsletter"]
    answer = configure(api, shop, provider)
    assert answer.status_code == 200, answer.text
    [out] = answer.json()
    assert out["secrets_set"] == ["app_secret", "token", "verify_token"]
    assert APP_SECRET not in answer.text
    assert provider.access_token not in answer.text
    assert out["templates"]["welcome"] == "bienvenida_socio"


def test_an_approved_template_goes_out_and_its_statuses_come_back_signed(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    wa_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    member = enrol(db, shop, noon, "612 345 670")
    nobody = enrol(db, shop, noon, "612 345 671", ok=False)
    counts = work(db, wa_settings, noon, shop)
    assert counts.get("whatsapp_sent") == 1, counts
    assert wa_rows(db, shop, nobody) == []
    [request] = provider.received
    assert request.problems == []
    sent = request.json or {}
    assert sent["to"] == "34612345670"
    assert sent["type"] == "template"
    template = sent["template"]
    assert template["name"] == "bienvenida_socio"
    assert template["language"] == {"code": "es_ES"}
    [body] = template["components"]
    assert body["type"] == "body"
    name, text = (p["text"] for p in body["parameters"])
    assert name == "Lucía"
    assert "programa" in text
    assert "\n" not in text
    with db.read() as conn:
        wamid = conn.execute(
            select(channel_sends.c.provider_id).where(channel_sends.c.business_id == shop.id)
        ).scalar_one()
    statuses = {
        "statuses": [
            {
                "id": wamid,
                "status": "delivered",
                "timestamp": "1772449200",
                "recipient_id": "34612345670",
            },
            {
                "id": wamid,
                "status": "read",
                "timestamp": "1772449260",
                "recipient_id": "34612345670",
            },
        ]
    }
    payload = notification(statuses, provider.phone_number_id)
    for secret in (None, "another-app-secret"):
        refused = post(api, shop, payload, secret)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_signature"
    assert wa_rows(db, shop, member)[0].status == "sent"
    # The body as signed, not as re-serialised: a byte changed breaks the signature.
    digest = hmac.new(APP_SECRET.encode(), payload, hashlib.sha256).hexdigest()
    tampered = api.post(
        f"/api/v1/public/{shop.slug}/whatsapp",
        content=payload.replace(b"read", b"sent"),
        headers={"X-Hub-Signature-256": f"sha256={digest}"},
    )
    assert tampered.status_code == 401
    answer = post(api, shop, payload)
    assert answer.status_code == 200
    assert answer.json() == {"statuses": 2, "opted_out": 0}
    assert wa_rows(db, shop, member)[0].status == "read"
    # Another number of the same app: not this business's, ignored.
    foreign = notification(statuses, "999999")
    assert post(api, shop, foreign).json() == {"statuses": 0, "opted_out": 0}
    failed = notification(
        {
            "statuses": [
                {
                    "id": wamid,
                    "status": "failed",
                    "errors": [{"code": 131026, "title": "Message undeliverable"}],
                }
            ]
        },
        provider.phone_number_id,
    )
    assert post(api, shop, failed).status_code == 200
    row = wa_rows(db, shop, member)[0]
    assert (row.status, row.reason) == ("failed", "WhatsApp 131026 Message undeliverable")


def test_a_kind_without_an_approved_template_is_held_back(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    wa_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider, templates={}).status_code == 200
    member = enrol(db, shop, noon, "612 345 672")
    work(db, wa_settings, noon, shop)
    [row] = wa_rows(db, shop, member)
    assert (row.status, row.reason) == (
        "suppressed",
        "no approved WhatsApp template for this message",
    )
    assert provider.received == []


def test_replying_stop_withdraws_whatsapp_consent_and_confirms_in_the_conversation(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    wa_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    member = enrol(db, shop, noon, "+34 612 345 673")
    work(db, wa_settings, noon, shop)
    assert len(provider.received) == 1
    stop = {
        "contacts": [{"profile": {"name": "Lucía"}, "wa_id": "34612345673"}],
        "messages": [
            {
                "from": "34612345673",
                "id": "wamid.HBgLMzQ2MTIzNDU2NzMVAgASGBQzQTdFRjc",
                "timestamp": "1772449300",
                "type": "text",
                "text": {"body": "stop"},
            }
        ],
    }
    answer = post(api, shop, notification(stop, provider.phone_number_id))
    assert answer.json() == {"statuses": 0, "opted_out": 1}
    with db.read() as conn:
        found = member_store.member(conn, shop.id, member)
    assert found.consent["whatsapp"] == {
        "granted": False,
        "at": noon.now().isoformat(),
        "source": "reply",
    }
    # Delivered twice (Meta retries): one opt-out, one confirmation.
    assert post(api, shop, notification(stop, provider.phone_number_id)).json()["opted_out"] == 0
    work(db, wa_settings, noon, shop)
    confirmation = provider.received[1].json or {}
    assert confirmation["type"] == "text"
    assert confirmation["to"] == "34612345673"
    assert confirmation["text"]["body"].startswith("No recibirás más mensajes de Test café")
    # Nothing more goes on WhatsApp.
    with db.transaction() as conn:
        emit(conn, shop.id, "member.lapsed", {"member_id": member, "days": 60}, noon.now())
    work(db, wa_settings, noon, shop)
    assert len(provider.received) == 2
    assert [r.template for r in wa_rows(db, shop, member)] == ["welcome", "opted_out"]
