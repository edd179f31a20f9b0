"""Web push end to end: a real push service on 127.0.0.1 checks each request as Mozilla's or
Google's would (the VAPID signature with the key in the header, the audience, expiry and
subject) and decrypts the body with the independent `http_ece` package, using the keys the test
made as a browser would."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select

from lealtad.comms import messages, push
from lealtad.comms.dispatch import dispatch
from lealtad.comms.outbox import emit
from lealtad.comms.tables import messages as messages_table
from lealtad.comms.tables import push_subscriptions
from lealtad.comms.webpush import encrypt
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.errors import Invalid
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.worker import deliver
from tests.comms.push_service import Browser, PushService, b64, unb64
from tests.support import Shop, make_shop


@pytest.fixture
def push_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"base_url": "http://lealtad.test", "vapid_subject": "mailto:ops@lealtad.test"}
    )


@pytest.fixture
def service(clock: FixedClock, push_settings: Settings) -> Iterator[PushService]:
    found = PushService(clock, push_settings.vapid_subject)
    yield found
    found.server.shutdown()
    found.server.server_close()


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
    return clock


def work(db: Database, settings: Settings, clock: FixedClock, shop: Shop) -> dict[str, int]:
    dispatch(db, clock.now(), business_id=shop.id)
    return messages.send_due(db, settings, clock.now(), business_id=shop.id)


def enrol(
    db: Database, shop: Shop, clock: FixedClock, locale: str, *, push_consent: bool = True
) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(
                name="Ana",
                email=f"{os.urandom(4).hex()}@example.org",
                locale=locale,  # type: ignore[arg-type]
                consent=Consent(email=True, push=push_consent),
            ),
            channel="api",
            now=clock.now(),
        )


def subscribe(db: Database, shop: Shop, member: int, endpoint: str, browser: Browser) -> None:
    with db.transaction() as conn:
        push.subscribe(
            conn,
            shop.id,
            member,
            endpoint,
            browser.p256dh,
            b64(browser.auth),
            "Mozilla/5.0 Firefox/140",
            datetime(2026, 3, 2, tzinfo=UTC),
        )


def rows(db: Database, member: int) -> list[tuple[str, str, str, str | None]]:
    with db.read() as conn:
        return [
            (r.channel, r.template, r.status, r.reason)
            for r in conn.execute(
                select(messages_table)
                .where(messages_table.c.member_id == member)
                .order_by(messages_table.c.id)
            )
        ]


def test_our_encryption_gives_the_bytes_of_the_rfc_8291_example() -> None:
    server = ec.derive_private_key(
        int.from_bytes(unb64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"), "big"), ec.SECP256R1()
    )
    body = encrypt(
        b"When I grow up, I want to be a watermelon",
        unb64(
            "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
        ),
        unb64("BTBZMqHH6r4Tts7J_aSIgg"),
        salt=unb64("DGv6ra1nlYgDCS1FRnbzlw"),
        server_key=server,
    )
    assert b64(body) == (
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmY"
        "WAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSx"
        "sj_Qulcy4a-fN"
    )


def test_a_push_reaches_each_browser_signed_encrypted_and_in_the_members_language(
    db, shop, noon, push_settings, service
) -> None:
    spanish, english = enrol(db, shop, noon, "es"), enrol(db, shop, noon, "en")
    es_browser, en_browser = Browser(), Browser()
    subscribe(db, shop, spanish, service.endpoint("es", es_browser), es_browser)
    subscribe(db, shop, english, service.endpoint("en", en_browser), en_browser)
    counts = work(db, push_settings, noon, shop)
    assert counts == {"push_sent": 2}, "e-mail waits without an SMTP host; push goes"
    (es,) = service.at("/push/es")
    (en,) = service.at("/push/en")
    assert es.problems == []
    assert en.problems == []
    assert es.message is not None
    assert en.message is not None
    assert es.message["title"].startswith("Bienvenido/a a Test café")
    assert es.message["body"].startswith("Ya formas parte del programa de Test café")
    assert "Tu número de tarjeta es" in es.message["body"]
    assert en.message["title"].startswith("Welcome to Test café")
    assert "Your card number is" in en.message["body"]
    assert es.message["url"] == f"http://lealtad.test/w/{shop.slug}"
    assert es.message["tag"] == "welcome"
    assert es.ttl == str(24 * 3600)
    assert rows(db, spanish) == [
        ("email", "welcome", "queued", None),
        ("push", "welcome", "sent", None),
    ]


def test_a_410_retires_the_subscription_and_nothing_more_is_sent_to_it(
    db, shop, noon, push_settings, service
) -> None:
    member = enrol(db, shop, noon, "en")
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("gone", browser), browser)
    service.answers["/push/gone"] = [410]
    assert work(db, push_settings, noon, shop) == {"push_suppressed": 1}
    with db.read() as conn:
        assert push.active_subscriptions(conn, shop.id, member) == []
    with db.transaction() as conn:
        emit(conn, shop.id, "tier.changed", {"member_id": member, "to": "gold"}, noon.now())
    work(db, push_settings, noon, shop)
    assert len(service.at("/push/gone")) == 1
    assert [r for r in rows(db, member) if r[0] == "push"] == [
        ("push", "welcome", "suppressed", "no push subscription")
    ], "no push row is planned without an active subscription"


def test_a_push_service_error_is_retried_with_backoff_and_counted_on_the_subscription(
    db, shop, noon, push_settings, service
) -> None:
    member = enrol(db, shop, noon, "es")
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("flaky", browser), browser)
    service.answers["/push/flaky"] = [503, 201]
    assert work(db, push_settings, noon, shop) == {"push_retry": 1}
    with db.read() as conn:
        (sub,) = push.active_subscriptions(conn, shop.id, member)
    assert sub.failures == 1
    assert work(db, push_settings, noon, shop) == {}, "not before the backoff"
    noon.at += timedelta(minutes=3)
    assert work(db, push_settings, noon, shop) == {"push_sent": 1}
    with db.read() as conn:
        (sub,) = push.active_subscriptions(conn, shop.id, member)
    assert sub.failures == 0
    assert sub.last_sent_at is not None


def test_without_push_consent_no_push_message_is_queued(
    db, shop, noon, push_settings, service
) -> None:
    member = enrol(db, shop, noon, "es", push_consent=False)
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("no-consent", browser), browser)
    work(db, push_settings, noon, shop)
    assert [r[0] for r in rows(db, member)] == ["email"]
    assert service.received == []


def test_quiet_hours_hold_a_marketing_push_but_a_voucher_goes_at_once(
    db, shop, clock, push_settings, service
) -> None:
    clock.at = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Madrid
    member = enrol(db, shop, clock, "en")
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("night", browser), browser)
    with db.transaction() as conn:
        emit(
            conn,
            shop.id,
            "reward.redeemed",
            {"member_id": member, "reward": "coffee", "code": "ABCDE-FGHJK"},
            clock.now(),
        )
    assert work(db, push_settings, clock, shop) == {"push_deferred": 1, "push_sent": 1}
    (voucher,) = service.at("/push/night")
    assert voucher.message is not None
    assert "ABCDE-FGHJK" in voucher.message["body"]
    assert voucher.ttl == str(7 * 24 * 3600)
    clock.at = datetime(2026, 3, 3, 8, 5, tzinfo=UTC)  # 09:05 in Madrid
    assert work(db, push_settings, clock, shop) == {"push_sent": 1}
    assert [p.message["tag"] for p in service.at("/push/night") if p.message] == [
        "voucher",
        "welcome",
    ]


def test_both_channels_go_out_when_both_are_open(
    db, shop, noon, mail_settings, push_settings, inbox, service
) -> None:
    both = mail_settings.model_copy(update={"vapid_subject": push_settings.vapid_subject})
    member = enrol(db, shop, noon, "es")
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("both", browser), browser)
    counts = work(db, both, noon, shop)
    # The shop's own two members have no e-mail address and no browser.
    assert counts == {"sent": 1, "push_sent": 1, "suppressed": 2}
    assert len(inbox[0].mails) == 1
    assert service.at("/push/both")[0].problems == []


def test_subscribing_checks_the_endpoint_and_the_browser_keys(db, shop, noon) -> None:
    member = shop.members[0]
    good = Browser()
    cases = {
        "invalid_push_endpoint": ("http://push.example.com/x", good.p256dh, b64(good.auth)),
        "invalid_push_key": (
            "https://push.example.com/x",
            b64(b"\x04" + b"1" * 64),
            b64(good.auth),
        ),
        "invalid_push_auth": ("https://push.example.com/x", good.p256dh, b64(b"short")),
    }
    with db.transaction() as conn:
        for code, (endpoint, p256dh, auth) in cases.items():
            with pytest.raises(Invalid) as refused:
                push.subscribe(conn, shop.id, member, endpoint, p256dh, auth, None, noon.now())
            assert refused.value.code == code
        with pytest.raises(Invalid):
            push.subscribe(conn, shop.id, member, "ftp://x/y", "!!", "??", None, noon.now())
        endpoint = "https://push.example.com/abc"
        first = push.subscribe(
            conn, shop.id, member, endpoint, good.p256dh, b64(good.auth), None, noon.now()
        )
        assert push.unsubscribe(conn, shop.id, member, endpoint)
        assert push.active_subscriptions(conn, shop.id, member) == []
        renewed = Browser()
        again = push.subscribe(
            conn, shop.id, member, endpoint, renewed.p256dh, b64(renewed.auth), None, noon.now()
        )
        (active,) = push.active_subscriptions(conn, shop.id, member)
        count = len(
            conn.execute(
                select(push_subscriptions).where(push_subscriptions.c.business_id == shop.id)
            ).all()
        )
    assert again == first
    assert count == 1, "the same endpoint is one subscription"
    assert active.p256dh == renewed.p256dh


def test_the_vapid_key_is_made_once_kept_private_and_can_be_configured(
    settings: Settings,
) -> None:
    public = push.public_key_b64(settings)
    path = settings.data_dir / "vapid.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert push.public_key_b64(settings.model_copy()) == public
    assert len(unb64(public)) == 65
    assert unb64(public)[0] == 4
    key = push.vapid_key(settings)
    scalar = b64(key.private_numbers().private_value.to_bytes(32, "big"))
    pem = path.read_text()
    elsewhere = settings.data_dir.parent / "elsewhere"
    for configured in (scalar, pem):
        other = settings.model_copy(update={"vapid_private_key": configured, "data_dir": elsewhere})
        assert push.public_key_b64(other) == public
    assert not elsewhere.exists(), "a configured key writes nothing"
    production = settings.model_copy(update={"env": "prod"})
    assert not push.enabled(production), "production sends push only with a configured key"


def test_the_worker_counts_push_apart_from_e_mail(
    sqlite_db, clock, mail_settings, push_settings, inbox, service
) -> None:
    # SQLite only: the worker serves every business, and PostgreSQL is shared by the whole run.
    both = mail_settings.model_copy(update={"vapid_subject": push_settings.vapid_subject})
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    shop = make_shop(sqlite_db, clock.now(), members_count=0, with_staff=False)
    member = enrol(sqlite_db, shop, clock, "en")
    browser = Browser()
    subscribe(sqlite_db, shop, member, service.endpoint("worker", browser), browser)
    counts = deliver(sqlite_db, both, clock)
    assert counts["email_sent"] == 1
    assert counts["push_sent"] == 1
    assert service.at("/push/worker")[0].problems == []


def test_a_campaign_reaches_subscribed_phones_as_a_push_too(
    db, shop, noon, push_settings, service
) -> None:
    from lealtad.comms.campaigns import CampaignIn, create, release_due

    member = enrol(db, shop, noon, "es")
    browser = Browser()
    subscribe(db, shop, member, service.endpoint("campaign", browser), browser)
    work(db, push_settings, noon, shop)  # the welcome goes first
    campaign = CampaignIn.model_validate(
        {
            "name": "Weekend",
            "subject": {"es": "Doble de puntos", "en": "Double points"},
            "body": {"es": "Este finde, doble de puntos.", "en": "This weekend, double points."},
        }
    )
    with db.transaction() as conn:
        create(conn, shop.id, campaign, "test", noon.now())
        release_due(conn, shop.id, noon.now())
    noon.at = noon.at + timedelta(days=3)  # past the weekly cap's window of the welcome
    work(db, push_settings, noon, shop)
    pushed = [r.message for r in service.at("/push/campaign") if r.message]
    assert pushed[-1]["title"] == "Doble de puntos"
    assert pushed[-1]["body"] == "Este finde, doble de puntos."
    assert ("push", "campaign", "sent", None) in rows(db, member)
