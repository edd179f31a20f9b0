"""SMS end to end against a local stand-in for a Twilio-style provider (tests/comms/
phone_provider.py): the owner's settings through the API, messages sent with the provider's
shape and basic auth under consent, caps and quiet hours, signed status callbacks
(X-Twilio-Signature) and an opt-out by replying "BAJA"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from lealtad.api import create_app
from lealtad.comms import messages, phones, sms
from lealtad.comms.channel_tables import channel_sends
from lealtad.comms.dispatch import dispatch
from lealtad.comms.outbox import emit
from lealtad.comms.tables import comms_policies, unsubscribes
from lealtad.comms.tables import messages as messages_table
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.phone_provider import Provider
from tests.support import Shop

BASE = "http://lealtad.test"


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
def sms_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"base_url": BASE})


@pytest.fixture
def api(db: Database, sms_settings: Settings, noon: FixedClock) -> Iterator[TestClient]:
    with TestClient(create_app(sms_settings, db=db, clock=noon)) as client:
        yield client


def configure(api: TestClient, shop: Shop, provider: Provider, **extra: Any) -> Any:
    body = {
        "base_url": provider.url,
        "account_sid": provider.account,
        "auth_token": provider.token,
        "sender": "+34911000111",
        "country_code": "34",
        **extra,
    }
    return api.put("/api/v1/channels/sms", json=body, headers=shop.auth("owner"))


def enrol(
    db: Database, shop: Shop, clock: FixedClock, phone: str | None, sms_ok: bool = True
) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(name="Ana", phone=phone, locale="es", consent=Consent(sms=sms_ok)),
            channel="api",
            now=clock.now(),
        )


def work(db: Database, settings: Settings, clock: FixedClock, shop: Shop) -> dict[str, int]:
    dispatch(db, clock.now(), business_id=shop.id)
    return messages.send_due(db, settings, clock.now(), business_id=shop.id)


def sms_rows(db: Database, shop: Shop, member: int) -> list[Any]:
    with db.read() as conn:
        return list(
            conn.execute(
                select(messages_table)
                .where(
                    messages_table.c.business_id == shop.id,
                    messages_table.c.member_id == member,
                    messages_table.c.channel == "sms",
                )
                .order_by(messages_table.c.id)
            )
        )


def signed(path: str, form: dict[str, str], token: str) -> dict[str, Any]:
    return {
        "content": urlencode(form),
        "headers": {
            "Content-Type": "application/x-www-form-urlencoded",
            sms.SIGNATURE_HEADER: sms.signature(token, BASE + path, form.items()),
        },
    }


def test_the_signature_follows_the_documented_example() -> None:
    # The worked example of Twilio's security documentation: URL, parameters, auth token 12345.
    params = {
        "CallSid": "CA1234567890ABCDE",
        "Caller": "+12349013030",
        "Digits": "1234",
        "From": "+12349013030",
        "To": "+18005551212",
    }
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert sms.signature("12345", url, params.items()) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


def test_numbers_in_e164_and_stop_words_in_any_case_and_accent() -> None:
    assert phones.e164("612 345 678", "34") == "+34612345678"
    assert phones.e164("0034 612345678", "34") == "+34612345678"
    assert phones.e164("07700 900123", "44") == "+447700900123"
    assert phones.e164("12", "34") is None
    assert phones.stored_forms("+34612345678", "34") == ["+34612345678", "612345678", "0612345678"]
    for text in ("BAJA", "baja", " Bajá. ", "Stop", "cancelar!", "CANCELÁR", "Unsubscribe"):
        assert phones.asks_to_stop(text), text
    for text in ("Hola", "no quiero la baja", "stopped", ""):
        assert not phones.asks_to_stop(text), text


def test_settings_keep_the_token_secret_and_need_the_owner(
    api: TestClient, shop: Shop, provider: Provider
) -> None:
    assert configure(api, shop, provider, auth_token=None).json()["error"]["code"] == (
        "channel_secret_missing"
    )
    refused = api.put(
        "/api/v1/channels/sms",
        json={"account_sid": "AC1", "auth_token": "x", "sender": "+34911000111"},
        headers=shop.auth("manager"),
    )
    assert refused.status_code == 403
    answer = configure(api, shop, provider)
    assert answer.status_code == 200, answer.text
    [out] = answer.json()
    assert out["secrets_set"] == ["token"]
    assert provider.token not in answer.text
    assert out["callback_paths"] == [
        f"/api/v1/public/{shop.slug}/sms/status",
        f"/api/v1/public/{shop.slug}/sms/inbound",
    ]
    # The token left out keeps the stored one.
    again = configure(api, shop, provider, auth_token=None, sender="Cafeteria")
    assert again.status_code == 200
    assert again.json()[0]["sender"] == "Cafeteria"
    bad = configure(api, shop, provider, sender="not a sender id at all")
    assert bad.status_code == 422
    assert "error" in bad.json()
    listed = api.get("/api/v1/channels", headers=shop.auth("manager")).json()
    assert [c["channel"] for c in listed] == ["sms"]
    off = configure(api, shop, provider, auth_token=None, enabled=False)
    assert off.json()[0]["enabled"] is False


def test_a_welcome_goes_by_sms_in_the_providers_shape_and_its_status_comes_back_signed(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    sms_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    member = enrol(db, shop, noon, "612 345 678")
    counts = work(db, sms_settings, noon, shop)
    assert counts.get("sms_sent") == 1, counts
    [request] = provider.received
    assert request.problems == []
    assert request.form["To"] == "+34612345678"
    assert request.form["From"] == "+34911000111"
    assert "Bienvenido" in request.form["Body"] or "socio" in request.form["Body"]
    assert "BAJA" in request.form["Body"], "a marketing text says how to stop it"
    path = f"/api/v1/public/{shop.slug}/sms/status"
    assert request.form["StatusCallback"] == BASE + path
    [row] = sms_rows(db, shop, member)
    assert row.status == "sent"
    with db.read() as conn:
        sid = conn.execute(
            select(channel_sends.c.provider_id).where(channel_sends.c.business_id == shop.id)
        ).scalar_one()
    delivered = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": provider.account}
    # Unsigned, wrongly signed, or signed for another URL: refused in the error envelope.
    unsigned = api.post(
        path,
        content=urlencode(delivered),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "invalid_signature"
    forged = signed(path, delivered, "not-the-token")
    assert api.post(path, **forged).status_code == 401
    elsewhere = signed("/api/v1/public/other/sms/status", delivered, provider.token)
    assert api.post(path, **elsewhere).status_code == 401
    assert sms_rows(db, shop, member)[0].status == "sent"
    assert api.post(path, **signed(path, delivered, provider.token)).status_code == 204
    assert sms_rows(db, shop, member)[0].status == "delivered"
    # A late "sent" report never takes a delivered message back.
    late = {**delivered, "MessageStatus": "sent"}
    assert api.post(path, **signed(path, late, provider.token)).status_code == 204
    assert sms_rows(db, shop, member)[0].status == "delivered"
    failed = {**delivered, "MessageStatus": "undelivered", "ErrorCode": "30003"}
    assert api.post(path, **signed(path, failed, provider.token)).status_code == 204
    row = sms_rows(db, shop, member)[0]
    assert (row.status, row.reason) == ("failed", "error 30003")
    # An unknown business or a business without SMS: 404, in the envelope.
    missing = api.post("/api/v1/public/nobody/sms/status", **signed(path, delivered, "x"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "channel_not_found"


def test_no_consent_no_number_caps_and_quiet_hours(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    sms_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    with db.transaction() as conn:
        conn.execute(
            insert(comms_policies).values(
                business_id=shop.id,
                marketing_per_week=1,
                quiet_start="21:00",
                quiet_end="09:00",
                points_earned_messages=False,
                updated_at=naive_utc(noon.now()),
            )
        )
    silent = enrol(db, shop, noon, "600 000 001", sms_ok=False)
    no_phone = enrol(db, shop, noon, None)
    ana = enrol(db, shop, noon, "600 000 002")
    work(db, sms_settings, noon, shop)
    assert sms_rows(db, shop, silent) == [], "no SMS is even planned without SMS consent"
    [row] = sms_rows(db, shop, no_phone)
    assert (row.status, row.reason) == ("suppressed", "no phone number")
    assert [r.status for r in sms_rows(db, shop, ana)] == ["sent"]
    # A second marketing message in the week: over the cap of one.
    with db.transaction() as conn:
        emit(conn, shop.id, "member.lapsed", {"member_id": ana, "days": 60}, noon.now())
    work(db, sms_settings, noon, shop)
    second = sms_rows(db, shop, ana)[1]
    assert (second.status, second.reason) == ("suppressed", "weekly marketing cap")
    # A week later, at 23:30 in Madrid: held until 09:00, then sent.
    noon.at += timedelta(days=8, hours=11, minutes=30)
    with db.transaction() as conn:
        emit(conn, shop.id, "member.lapsed", {"member_id": ana, "days": 68}, noon.now())
    work(db, sms_settings, noon, shop)
    third = sms_rows(db, shop, ana)[2]
    assert (third.status, third.reason) == ("queued", "quiet hours")
    noon.at += timedelta(hours=10)
    work(db, sms_settings, noon, shop)
    assert sms_rows(db, shop, ana)[2].status == "sent"
    assert len(provider.received) == 2


def test_a_refused_number_fails_and_a_provider_down_is_retried(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    sms_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    provider.answer = 400
    member = enrol(db, shop, noon, "600 000 003")
    assert work(db, sms_settings, noon, shop).get("sms_failed") == 1
    row = sms_rows(db, shop, member)[0]
    assert row.status == "failed"
    assert "21211" in (row.reason or "")
    provider.answer = 503
    other = enrol(db, shop, noon, "600 000 004")
    assert work(db, sms_settings, noon, shop).get("sms_retry") == 1
    assert sms_rows(db, shop, other)[0].status == "queued"


def test_replying_baja_withdraws_sms_consent_and_nothing_more_is_sent(
    api: TestClient,
    db: Database,
    shop: Shop,
    noon: FixedClock,
    sms_settings: Settings,
    provider: Provider,
) -> None:
    assert configure(api, shop, provider).status_code == 200
    member = enrol(db, shop, noon, "612 345 679")
    dispatch(db, noon.now(), business_id=shop.id)  # the welcome is queued, not yet sent
    path = f"/api/v1/public/{shop.slug}/sms/inbound"
    reply = {"From": "+34612345679", "To": "+34911000111", "Body": "Bajá", "MessageSid": "SM1"}
    assert api.post(path, **signed(path, reply, "wrong")).status_code == 401
    answer = api.post(path, **signed(path, reply, provider.token))
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/xml")
    said = re.search(
        r"<Message>No recibirás más mensajes de Test café[ 0-9]* en este número.<", answer.text
    )
    assert said, answer.text
    with db.read() as conn:
        found = member_store.member(conn, shop.id, member)
        note = conn.execute(
            select(unsubscribes.c.note, unsubscribes.c.channel).where(
                unsubscribes.c.business_id == shop.id
            )
        ).one()
    assert found.consent["sms"] == {
        "granted": False,
        "at": noon.now().isoformat(),
        "source": "reply",
    }
    assert tuple(note) == ("reply Bajá", "sms")
    # The welcome queued before the reply is not sent, and nothing new is planned.
    work(db, sms_settings, noon, shop)
    assert [r.status for r in sms_rows(db, shop, member)] == ["unsubscribed"]
    with db.transaction() as conn:
        emit(conn, shop.id, "member.lapsed", {"member_id": member, "days": 60}, noon.now())
    work(db, sms_settings, noon, shop)
    assert len(sms_rows(db, shop, member)) == 1
    assert provider.received == []
    # Another text is only a text: an empty answer, nothing changes.
    chat = {**reply, "Body": "¿Abrís el domingo?"}
    other = api.post(path, **signed(path, chat, provider.token))
    assert other.status_code == 200
    assert "<Message>" not in other.text
