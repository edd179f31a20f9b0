"""Bounces: a mail server that refuses an address for good (550 to RCPT) marks the member, and
no more e-mail goes to that address until it changes; a temporary refusal is only a retry.
Bounces the mail provider reports later come in through the API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from lealtad.comms import messages
from lealtad.comms.outbox import emit
from lealtad.comms.tables import messages as messages_table
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import FixedClock, naive_utc
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.members.schemas import Consent, MemberIn, MemberPatch
from tests.api.test_bad_input import assert_error
from tests.comms.conftest import Inbox, _free_port
from tests.comms.test_email import to, work
from tests.conftest import SECRET
from tests.support import Shop

GONE = "gone@example.org"
BUSY = "busy@example.org"


class RefusingInbox(Inbox):
    """A mail server that knows no GONE and has BUSY's mailbox locked for now."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == GONE:
            return "550 5.1.1 no such user"
        if address == BUSY:
            return "450 4.2.1 mailbox busy, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing(settings: Settings) -> Iterator[tuple[RefusingInbox, Settings]]:
    box, port = RefusingInbox(), _free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    yield (
        box,
        settings.model_copy(
            update={"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_security": "none"}
        ),
    )
    controller.stop()


@pytest.fixture
def noon(clock: FixedClock) -> FixedClock:
    clock.at = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)  # 12:00 in Madrid
    return clock


def enrol(db: Database, shop: Shop, clock: FixedClock, address: str) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(name="Ana", email=address, locale="en", consent=Consent(email=True)),
            channel="api",
            now=clock.now(),
        )


def log(db: Database, member: int) -> list[tuple[str, str, str | None]]:
    with db.read() as conn:
        return [
            (r.template, r.status, r.reason)
            for r in conn.execute(
                select(messages_table)
                .where(messages_table.c.member_id == member, messages_table.c.channel == "email")
                .order_by(messages_table.c.id)
            )
        ]


def tier_mail(db: Database, shop: Shop, clock: FixedClock, member: int, tier: str) -> None:
    with db.transaction() as conn:
        emit(conn, shop.id, "tier.changed", {"member_id": member, "to": tier}, clock.now())


def bounced_at(db: Database, shop: Shop, member: int) -> datetime | None:
    with db.read() as conn:
        value: datetime | None = members.get(conn, shop.id, member).email_bounced_at
        return value


def test_a_refused_address_bounces_and_gets_no_more_mail_until_it_changes(
    db, shop, noon, refusing, client
) -> None:
    box, smtp = refusing
    member = enrol(db, shop, noon, GONE)
    assert work(db, smtp, noon, shop)["bounced"] == 1
    assert log(db, member) == [("welcome", "bounced", "550 5.1.1 no such user")]
    assert bounced_at(db, shop, member) == naive_utc(noon.now())
    shown = client.get(f"/api/v1/members/{member}", headers=shop.auth()).json()
    assert shown["email_bounced_at"] is not None
    messages_log = client.get(f"/api/v1/members/{member}/messages", headers=shop.auth()).json()
    assert [m["status"] for m in messages_log] == ["bounced"]

    tier_mail(db, shop, noon, member, "silver")
    work(db, smtp, noon, shop)
    assert log(db, member)[-1] == ("tier_changed", "suppressed", "address bounced")

    with db.transaction() as conn:
        patch = MemberPatch(email="ana@example.org")
        members.update(conn, shop.id, member, patch, noon.now(), may_change_contact=True)
    assert bounced_at(db, shop, member) is None
    tier_mail(db, shop, noon, member, "gold")
    work(db, smtp, noon, shop)
    assert log(db, member)[-1] == ("tier_changed", "sent", None)
    # The notice of the change went to the old address, which refused it: that marks the
    # message, not the member's new address.
    notice = [row for row in log(db, member) if row[0] == "contact_changed"]
    assert [row[1] for row in notice] == ["bounced"]
    assert bounced_at(db, shop, member) is None
    assert len(to(box, "ana@example.org")) == 1


def test_a_temporary_refusal_is_retried_and_marks_nothing(db, shop, noon, refusing) -> None:
    _, smtp = refusing
    member = enrol(db, shop, noon, BUSY)
    assert work(db, smtp, noon, shop)["retry"] == 1
    ((_, status, reason),) = log(db, member)
    assert status == "queued"
    assert reason is not None
    assert "450" in reason
    assert bounced_at(db, shop, member) is None


def test_a_login_code_still_goes_to_a_bounced_address(db, shop, noon, refusing) -> None:
    box, smtp = refusing
    member = enrol(db, shop, noon, "ana@example.org")
    with db.transaction() as conn:
        conn.execute(
            insert(messages_table).values(
                business_id=shop.id,
                member_id=member,
                channel="email",
                category="transactional",
                template="login_code",
                locale="en",
                context={"code": "123456"},
                status="queued",
                attempts=0,
                send_after=naive_utc(noon.now()),
                created_at=naive_utc(noon.now()),
            )
        )
        member_store.update_member(conn, shop.id, member, email_bounced_at=naive_utc(noon.now()))
        code_id = conn.execute(
            select(messages_table.c.id).where(
                messages_table.c.business_id == shop.id,
                messages_table.c.template == "login_code",
            )
        ).scalar_one()
    assert messages.send_one(db, smtp, shop.id, code_id, noon.now()) == "sent"
    assert messages.send_one(db, smtp, shop.id, code_id, noon.now()) is None, "sent once"
    assert len(to(box, "ana@example.org")) == 1


def test_a_campaign_shows_its_bounces_in_its_delivery_log(db, shop, noon, refusing, client) -> None:
    _, smtp = refusing
    with db.transaction() as conn:
        member = members.enrol(
            conn,
            shop.id,
            MemberIn(name="Ana", email=GONE, locale="en", consent=Consent(email=False)),
            channel="api",
            now=noon.now(),
        )
    work(db, smtp, noon, shop)  # no consent yet: the welcome never reaches the server
    with db.transaction() as conn:
        patch = MemberPatch(consent=Consent(email=True))
        members.update(conn, shop.id, member, patch, noon.now())
    body = {
        "name": "Spring",
        "subject": {"es": "Primavera", "en": "Spring"},
        "body": {"es": "Doble de puntos.", "en": "Double points."},
    }
    created = client.post("/api/v1/campaigns", json=body, headers=shop.auth()).json()
    with db.transaction() as conn:
        run_daily(conn, shop.id, noon.now(), SECRET)
    work(db, smtp, noon, shop)
    shown = client.get(f"/api/v1/campaigns/{created['id']}", headers=shop.auth()).json()
    # The shop's own two members have no address: suppressed.
    assert shown["delivery"] == {"bounced": 1, "suppressed": 2}


def test_a_bounce_reported_later_marks_the_member_and_their_latest_mail(
    db, shop, noon, mail_settings, inbox, client
) -> None:
    member = enrol(db, shop, noon, "ana@example.org")
    work(db, mail_settings, noon, shop)
    report = {"email": "Ana@Example.org", "reason": "550 mailbox unknown", "permanent": True}
    assert (
        client.post("/api/v1/messages/bounces", json=report, headers=shop.auth("staff")).status_code
        == 403
    )
    soft = client.post(
        "/api/v1/messages/bounces", json=report | {"permanent": False}, headers=shop.auth()
    )
    assert soft.status_code == 200
    assert soft.json()["bounced"] is False
    assert bounced_at(db, shop, member) is None
    done = client.post("/api/v1/messages/bounces", json=report, headers=shop.auth())
    assert done.status_code == 200, done.text
    (welcome,) = client.get(f"/api/v1/members/{member}/messages", headers=shop.auth()).json()
    assert done.json() == {"member_id": member, "message_id": welcome["id"], "bounced": True}
    assert (welcome["status"], welcome["reason"]) == ("bounced", "550 mailbox unknown")
    assert bounced_at(db, shop, member) is not None
    tier_mail(db, shop, noon, member, "gold")
    work(db, mail_settings, noon, shop)
    assert log(db, member)[-1] == ("tier_changed", "suppressed", "address bounced")
    by_id = client.post(
        "/api/v1/messages/bounces", json={"message_id": welcome["id"]}, headers=shop.auth()
    )
    assert by_id.json() == {"member_id": member, "message_id": welcome["id"], "bounced": True}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        pytest.param({}, 422, id="neither"),
        pytest.param({"email": "a@example.org", "message_id": 1}, 422, id="both"),
        pytest.param({"email": "not an address"}, 422, id="not-an-address"),
        pytest.param({"email": "x" * 400 + "@example.org"}, 422, id="too-long"),
        pytest.param({"email": "nobody@example.org"}, 404, id="unknown-address"),
        pytest.param({"message_id": 2**70}, 422, id="id-beyond-64-bits"),
        pytest.param({"message_id": 0}, 422, id="id-zero"),
        pytest.param({"message_id": 2**62}, 404, id="unknown-message"),
        pytest.param({"email": "a@example.org", "permanent": "maybe"}, 422, id="permanent-text"),
        pytest.param({"email": "a@example.org", "extra": 1}, 422, id="extra-field"),
        pytest.param({"email": "a\x00@example.org"}, 422, id="nul-byte"),
        pytest.param({"email": "a@example.org", "reason": "\x00"}, 422, id="nul-in-reason"),
        pytest.param([], 422, id="a-list"),
    ],
)
def test_a_bad_bounce_report_is_a_4xx_with_the_error_envelope(
    client, shop, body: Any, status: int
) -> None:
    resp = client.post("/api/v1/messages/bounces", json=body, headers=shop.auth())
    assert_error(resp, status)


def test_a_bounce_report_cannot_reach_another_business(
    db, shop, other_shop, noon, mail_settings, inbox, client
) -> None:
    member = enrol(db, other_shop, noon, "theirs@example.org")
    work(db, mail_settings, noon, other_shop)
    (theirs,) = client.get(f"/api/v1/members/{member}/messages", headers=other_shop.auth()).json()
    for body in ({"email": "theirs@example.org"}, {"message_id": theirs["id"]}):
        assert_error(client.post("/api/v1/messages/bounces", json=body, headers=shop.auth()), 404)
    assert bounced_at(db, other_shop, member) is None
