"""Campaigns in the console, without the API: the owner composes one for an audience, previews it
with a member's own figures in both languages, schedules or sends it, cancels a scheduled one and
reads its delivery results. The service and its sending rules are tested in tests/comms; these
pages run on SQLite."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from lealtad.comms import campaigns, messages
from lealtad.comms.tables import messages as messages_table
from lealtad.db.engine import Database
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.tenancy.tables import audit_log
from tests.comms.conftest import inbox, mail_settings  # noqa: F401  (fixtures)
from tests.support import admin_login

NOON_MADRID = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


def enrol(db, shop, clock, email, *, tags=(), locale="es", consent=True) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(
                name=email.split("@")[0].title(),
                email=email,
                locale=locale,
                tags=list(tags),
                consent=Consent(email=consent),
            ),  # type: ignore[arg-type]
            channel="api",
            now=clock.now(),
        )


def form(csrf: str, **more: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "lang": "en",
        "name": "Spring",
        "subject_es": "Llega la primavera, {{ name }}",
        "subject_en": "Spring is here, {{ name }}",
        "body_es": "Tienes {{ points }} puntos.",
        "body_en": "You have {{ points }} points.",
        "channel": "all",
        "when": "now",
    } | more


def audited(db, shop, action: str) -> list:
    with db.read() as conn:
        return list(
            conn.execute(
                select(audit_log).where(
                    audit_log.c.business_id == shop.id, audit_log.c.action == action
                )
            )
        )


def test_a_manager_schedules_a_campaign_for_a_tag_and_e_mail_only_and_it_is_audited(
    client, db, shop
) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/campaigns/new?lang=en")
    assert page.status_code == 200
    assert 'name="subject_es"' in page.text
    assert 'name="tier"' not in page.text
    made = client.post(
        "/admin/campaigns/new",
        data=form(
            csrf, tags="VIP, regulars", channel="email", when="later", send_at="2026-03-03T10:00"
        ),
        follow_redirects=False,
    )
    assert made.status_code == 303, made.text
    campaign_id = int(made.headers["location"].split("/")[3].split("?")[0])
    with db.read() as conn:
        saved = campaigns.get(conn, shop.id, campaign_id)
    assert (saved.status, saved.tags, saved.channels) == (
        "scheduled",
        ["vip", "regulars"],
        ["email"],
    )
    # 10:00 in Madrid in March is 09:00 UTC.
    assert saved.send_at == datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    (entry,) = audited(db, shop, "campaign.create")
    assert (entry.target, entry.actor, entry.channel) == (
        f"campaign:{campaign_id}",
        f"staff:{shop.staff['manager']}",
        "admin",
    )
    shown = client.get(made.headers["location"])
    assert "The campaign is saved." in shown.text
    assert 'data-status="scheduled"' in shown.text
    assert "tag vip, tag regulars" in shown.text
    assert "E-mail only" in shown.text
    listed = client.get("/admin/campaigns?lang=es")
    assert "Programada" in listed.text
    assert "Spring" in listed.text


def test_the_preview_shows_the_message_with_a_members_own_name_in_both_languages(
    client, db, shop
) -> None:
    csrf = admin_login(client, shop)
    with db.read() as conn:
        card = members.get(conn, shop.id, shop.members[0]).card_number
    data = form(csrf, pv_card=card)
    fragment = client.post("/admin/campaigns/preview", data=data, headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "Llega la primavera, Member 0" in fragment.text
    assert "Spring is here, Member 0" in fragment.text
    assert "You have 0 points." in fragment.text
    assert "As a web push notification" in fragment.text
    email_only = client.post(
        "/admin/campaigns/preview", data=data | {"channel": "email"}, headers={"HX-Request": "true"}
    )
    assert "As a web push notification" not in email_only.text
    # Without JavaScript the whole composer comes back, with the audience counted.
    whole = client.post("/admin/campaigns/preview", data=data)
    assert "<html" in whole.text
    assert 'value="Spring"' in whole.text
    assert 'data-audience="2"' in whole.text
    with db.read() as conn:
        assert campaigns.listing(conn, shop.id) == []


def test_the_audience_count_follows_the_tags_and_segments_chosen(client, db, shop, clock) -> None:
    csrf = admin_login(client, shop)
    enrol(db, shop, clock, "vip@example.org", tags=["vip"])
    enrol(db, shop, clock, "other@example.org", tags=["other"])

    def count(**fields: str) -> str:
        return client.post("/admin/campaigns/audience", data=form(csrf, **fields)).text

    assert 'data-audience="4"' in count()
    assert 'data-audience="1"' in count(tags="VIP")
    assert 'data-audience="2"' in count(tags="vip, other")
    # Segments come from the nightly refresh: before it nobody is in one.
    assert 'data-audience="0"' in count(segment="champions")
    assert "Choose from the options offered" in count(segment="no-such-segment")


def test_a_scheduled_campaign_is_cancelled_from_its_page_once(client, db, shop) -> None:
    csrf = admin_login(client, shop)
    made = client.post(
        "/admin/campaigns/new",
        data=form(csrf, when="later", send_at="2026-03-10T10:00"),
        follow_redirects=False,
    )
    path = made.headers["location"].split("?")[0]
    cancelled = client.post(f"{path}/cancel", data={"csrf": csrf, "lang": "en"})
    assert cancelled.status_code == 200
    assert "The campaign is cancelled." in cancelled.text
    assert 'data-status="cancelled"' in cancelled.text
    assert "Cancel this campaign" not in cancelled.text
    assert len(audited(db, shop, "campaign.cancel")) == 1
    again = client.post(f"{path}/cancel", data={"csrf": csrf, "lang": "en"})
    assert again.status_code == 409
    assert "already gone out or was cancelled" in again.text
    assert client.post(f"{path}/cancel", data={"lang": "en"}).status_code == 403


def test_a_campaign_sent_now_reaches_only_its_audience_and_shows_its_delivery_results(
    client,
    db,
    shop,
    clock,
    mail_settings,  # noqa: F811
    inbox,  # noqa: F811
) -> None:
    box, _port = inbox
    clock.at = NOON_MADRID
    client.app.state.settings = mail_settings
    vip = enrol(db, shop, clock, "vip@example.org", tags=["vip"])
    enrol(db, shop, clock, "vip2@example.org", tags=["vip"], locale="en")
    enrol(db, shop, clock, "quiet@example.org", tags=["vip"], consent=False)
    enrol(db, shop, clock, "plain@example.org")
    csrf = admin_login(client, shop)
    made = client.post("/admin/campaigns/new", data=form(csrf, tags="vip"), follow_redirects=False)
    campaign_id = int(made.headers["location"].split("/")[3].split("?")[0])
    with db.transaction() as conn:
        assert campaigns.release_due(conn, shop.id, clock.now()) == 3
    messages.send_due(db, mail_settings, clock.now(), business_id=shop.id)
    subjects = {
        m["To"]: m["Subject"]
        for m in box.mails
        if "primavera" in m["Subject"] or "Spring" in m["Subject"]
    }
    assert subjects == {
        "vip@example.org": "Llega la primavera, Vip",
        "vip2@example.org": "Spring is here, Vip2",
    }
    with db.read() as conn:
        channels = conn.execute(
            select(messages_table.c.channel).where(
                messages_table.c.campaign_id == campaign_id, messages_table.c.member_id == vip
            )
        ).scalars()
        assert list(channels) == ["email"]
    mail = next(m for m in box.mails if m["To"] == "vip@example.org")
    unsubscribe = "".join(mail["List-Unsubscribe"].split()).strip("<>")
    assert client.post(unsubscribe.removeprefix("http://lealtad.test")).status_code == 200
    page = client.get(f"/admin/campaigns/{campaign_id}?lang=en")
    results = {
        key: page.text.split(f'data-result="{key}"><strong>')[1].split("<")[0]
        for key in ("recipients", "sent", "failed", "suppressed", "unsubscribed")
    }
    assert results == {
        "recipients": "3",
        "sent": "2",
        "failed": "0",
        "suppressed": "1",
        "unsubscribed": "1",
    }
    assert "Opens are not tracked" in page.text


def test_a_form_with_a_missing_text_and_a_past_time_names_its_fields_and_saves_nothing(
    client, db, shop
) -> None:
    csrf = admin_login(client, shop)
    answer = client.post(
        "/admin/campaigns/new",
        data=form(csrf, subject_es="", when="later", send_at="2026-03-01T10:00", lang="es"),
    )
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "Asunto en español" in answer.text
    assert "Elige una hora futura" in answer.text
    assert 'value="Spring"' in answer.text
    with db.read() as conn:
        assert campaigns.listing(conn, shop.id) == []


def test_staff_cannot_open_the_campaigns(client, shop) -> None:
    admin_login(client, shop, role="staff")
    assert client.get("/admin/campaigns").status_code == 403
    assert client.get("/admin/campaigns/new").status_code == 403
