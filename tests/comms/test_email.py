"""E-mail to members through a real SMTP server (aiosmtpd): both languages, consent, the weekly
cap, quiet hours, the yearly limit on greetings, and the one-click unsubscribe link end to end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import Message

import pytest
from sqlalchemy import insert, select

from lealtad.comms import messages
from lealtad.comms.dispatch import dispatch
from lealtad.comms.outbox import emit
from lealtad.comms.tables import comms_policies
from lealtad.comms.tables import messages as messages_table
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from tests.comms.conftest import Inbox
from tests.support import Shop


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    # 12:00 in Madrid: outside the default quiet hours (21:00-09:00).
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
    return clock


def work(db: Database, settings: Settings, clock: FixedClock, shop: Shop) -> dict[str, int]:
    # Scoped to the test's business: on PostgreSQL the database is shared by the whole run.
    dispatch(db, clock.now(), business_id=shop.id)
    return messages.send_due(db, settings, clock.now(), business_id=shop.id)


def enrol(
    db: Database,
    shop: Shop,
    clock: FixedClock,
    email_address: str,
    locale: str,
    consent: bool = True,
) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(
                name="Ana", email=email_address, locale=locale, consent=Consent(email=consent)
            ),  # type: ignore[arg-type]
            channel="api",
            now=clock.now(),
        )


def text_of(mail: Message) -> str:
    part = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
    return part.get_payload(decode=True).decode()  # type: ignore[union-attr]


def to(box: Inbox, address: str) -> list[Message]:
    return [m for m in box.mails if m["To"] == address]


def test_the_welcome_mail_arrives_in_the_members_language(
    db, shop, noon, mail_settings, inbox
) -> None:
    box, _ = inbox
    enrol(db, shop, noon, "ana@example.org", "es")
    enrol(db, shop, noon, "bob@example.org", "en")
    enrol(db, shop, noon, "quiet@example.org", "es", consent=False)
    work(db, mail_settings, noon, shop)
    (spanish,) = to(box, "ana@example.org")
    (english,) = to(box, "bob@example.org")
    assert spanish["Subject"].startswith("Bienvenido/a a")
    assert "Tu número de tarjeta es" in text_of(spanish)
    assert english["Subject"].startswith("Welcome to")
    assert "Your card number is" in text_of(english)
    assert any(p.get_content_type() == "text/html" for p in english.walk())
    assert to(box, "quiet@example.org") == [], "no consent, no marketing e-mail"


def test_the_unsubscribe_link_works_end_to_end_and_stops_marketing_mail(
    db, shop, noon, mail_settings, inbox, client
) -> None:
    box, _ = inbox
    client.app.state.settings = mail_settings
    member = enrol(db, shop, noon, "ana@example.org", "es")
    work(db, mail_settings, noon, shop)
    (welcome,) = to(box, "ana@example.org")
    assert welcome["List-Unsubscribe"].startswith("<http"), "the header must stay a plain URL"
    link = "".join(welcome["List-Unsubscribe"].split()).strip("<>")
    assert welcome["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert link in text_of(welcome)
    path = link.removeprefix("http://lealtad.test")
    page = client.get(path)
    assert page.status_code == 200
    assert "Darme de baja" in page.text
    done = client.post(path)
    assert done.status_code == 200
    assert "Te has dado de baja" in done.text
    with db.transaction() as conn:
        emit(
            conn,
            shop.id,
            "tier.changed",
            {"member_id": member, "from": None, "to": "gold"},
            noon.now(),
        )
    work(db, mail_settings, noon, shop)
    assert len(to(box, "ana@example.org")) == 1, "a marketing mail went out after unsubscribing"
    with db.read() as conn:
        statuses = [
            r.status
            for r in conn.execute(
                select(messages_table)
                .where(messages_table.c.member_id == member)
                .order_by(messages_table.c.id)
            )
        ]
    assert statuses == ["sent", "unsubscribed"]
    assert client.get("/u/forged-token").status_code == 404


def test_a_weekly_cap_limits_marketing_but_not_a_voucher(
    db, shop, noon, mail_settings, inbox
) -> None:
    box, _ = inbox
    member = enrol(db, shop, noon, "ana@example.org", "en")
    with db.transaction() as conn:
        for tier in ("silver", "gold"):
            emit(
                conn,
                shop.id,
                "tier.changed",
                {"member_id": member, "from": None, "to": tier},
                noon.now(),
            )
        emit(
            conn,
            shop.id,
            "reward.redeemed",
            {"member_id": member, "reward": "coffee", "code": "ABCDE-FGHJK"},
            noon.now(),
        )
    work(db, mail_settings, noon, shop)
    subjects = [m["Subject"] for m in to(box, "ana@example.org")]
    # Welcome and one tier mail make the two a week; the second tier mail is capped; the voucher goes.
    assert len([s for s in subjects if "tier" in s]) == 1
    assert len([s for s in subjects if "voucher" in s]) == 1
    assert len(subjects) == 3
    voucher = next(m for m in to(box, "ana@example.org") if "voucher" in m["Subject"])
    assert "ABCDE-FGHJK" in text_of(voucher)
    assert voucher["List-Unsubscribe"] is None, "a transactional mail carries no unsubscribe link"


def test_quiet_hours_defer_marketing_until_morning_but_never_drop_it(
    db, shop, clock, mail_settings, inbox
) -> None:
    box, _ = inbox
    clock.at = datetime(2026, 3, 2, 22, 30, tzinfo=UTC)  # 23:30 in Madrid
    enrol(db, shop, clock, "ana@example.org", "es")
    assert work(db, mail_settings, clock, shop)["deferred"] == 1
    assert to(box, "ana@example.org") == []
    clock.at = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)  # 08:30 in Madrid: still quiet
    work(db, mail_settings, clock, shop)
    assert to(box, "ana@example.org") == []
    clock.at = datetime(2026, 3, 3, 8, 5, tzinfo=UTC)  # 09:05 in Madrid
    work(db, mail_settings, clock, shop)
    assert len(to(box, "ana@example.org")) == 1


def test_birthday_and_anniversary_greetings_go_out_twice_a_year_at_most(
    db, shop, noon, mail_settings, inbox
) -> None:
    box, _ = inbox
    with db.transaction() as conn:
        conn.execute(
            insert(comms_policies).values(
                business_id=shop.id,
                marketing_per_week=50,
                quiet_start="23:00",
                quiet_end="06:00",
                points_earned_messages=False,
                updated_at=naive_utc(noon.now()),
            )
        )
    member = enrol(db, shop, noon, "ana@example.org", "en")
    for topic in ("birthday", "anniversary", "birthday"):
        noon.at += timedelta(days=30)
        with db.transaction() as conn:
            emit(conn, shop.id, topic, {"member_id": member}, noon.now())
        work(db, mail_settings, noon, shop)
    greetings = [
        m
        for m in to(box, "ana@example.org")
        if "birthday" in m["Subject"] or "year" in m["Subject"]
    ]
    assert len(greetings) == 2
    noon.at += timedelta(days=365)
    with db.transaction() as conn:
        emit(conn, shop.id, "birthday", {"member_id": member}, noon.now())
    work(db, mail_settings, noon, shop)
    assert len([m for m in to(box, "ana@example.org") if "birthday" in m["Subject"]]) == 2


def test_without_an_smtp_host_mail_waits_in_the_queue(db, shop, noon, settings) -> None:
    enrol(db, shop, noon, "ana@example.org", "es")
    assert work(db, settings, noon, shop) == {}
    with db.read() as conn:
        statuses = {
            r.status
            for r in conn.execute(
                select(messages_table).where(messages_table.c.business_id == shop.id)
            )
        }
    assert statuses == {"queued"}


def test_the_delivery_log_and_the_policy_are_readable_and_settable(
    db, shop, noon, mail_settings, inbox, client
) -> None:
    member = enrol(db, shop, noon, "ana@example.org", "en")
    work(db, mail_settings, noon, shop)
    log = client.get(f"/api/v1/members/{member}/messages", headers=shop.auth()).json()
    assert [(m["template"], m["status"]) for m in log] == [("welcome", "sent")]
    policy = {
        "marketing_per_week": 1,
        "quiet_start": "22:00",
        "quiet_end": "08:00",
        "points_earned_messages": True,
    }
    assert (
        client.put("/api/v1/messaging-policy", json=policy, headers=shop.auth("staff")).status_code
        == 403
    )
    assert client.put("/api/v1/messaging-policy", json=policy, headers=shop.auth()).json() == policy
    assert client.get("/api/v1/messaging-policy", headers=shop.auth()).json() == policy
    bad = client.put(
        "/api/v1/messaging-policy", json=policy | {"quiet_end": "25:00"}, headers=shop.auth()
    )
    assert bad.status_code == 422
