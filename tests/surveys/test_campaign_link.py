"""A campaign can carry a survey: each member's e-mail has their own signed link, which opens
the survey in their language and earns the bonus once."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from lealtad.comms.tables import messages
from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.events.jobs import run_daily
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import Consent, MemberIn
from lealtad.surveys import links
from tests.comms.conftest import Inbox
from tests.comms.test_email import text_of, to, work
from tests.conftest import SECRET
from tests.support import Shop
from tests.surveys.conftest import BONUS, survey_body

CAMPAIGN = {
    "name": "Tell us",
    "subject": {"es": "Queremos saber", "en": "Your opinion counts"},
    "body": {"es": "Tres preguntas, un minuto.", "en": "Three questions, one minute."},
}


def enrol(db: Database, shop: Shop, clock: FixedClock, email: str, locale: str) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn,
            shop.id,
            MemberIn(name="M", email=email, locale=locale, consent=Consent(email=True)),  # type: ignore[arg-type]
            channel="api",
            now=clock.now(),
        )


def test_a_campaign_with_a_survey_mails_each_member_a_link_that_opens_and_answers_it(
    client: TestClient,
    db: Database,
    shop: Shop,
    clock: FixedClock,
    mail_settings: Settings,
    inbox: tuple[Inbox, int],
) -> None:
    box, _ = inbox
    ana = enrol(db, shop, clock, "ana@example.org", "es")
    bob = enrol(db, shop, clock, "bob@example.org", "en")
    work(db, mail_settings, clock, shop)  # the welcome mails
    survey = client.post("/api/v1/surveys", json=survey_body(), headers=shop.auth()).json()
    made = client.post(
        "/api/v1/campaigns", json=CAMPAIGN | {"survey_id": survey["id"]}, headers=shop.auth()
    )
    assert made.status_code == 201, made.text
    assert (made.json()["survey_id"], made.json()["body"]) == (survey["id"], CAMPAIGN["body"])
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET, base_url=mail_settings.public_base_url)
    work(db, mail_settings, clock, shop)

    (spanish,) = [m for m in to(box, "ana@example.org") if m["Subject"] == "Queremos saber"]
    (english,) = [m for m in to(box, "bob@example.org") if m["Subject"] == "Your opinion counts"]
    assert "Responde a nuestra encuesta" in text_of(spanish)
    assert "Answer our survey" in text_of(english)
    pattern = r"http://lealtad\.test(/s/[A-Za-z0-9_.\-]+)"
    ana_path = re.findall(pattern, text_of(spanish))[0]
    bob_path = re.findall(pattern, text_of(english))[0]
    assert ana_path in str(spanish.get_payload()[1].get_payload(decode=True).decode())
    assert links.read_token(SECRET, ana_path[3:]) == (shop.id, ana, survey["id"])
    assert links.read_token(SECRET, bob_path[3:]) == (shop.id, bob, survey["id"])

    form = client.get(ana_path)
    assert form.status_code == 200
    assert "¿Qué tal tu visita?" in form.text
    assert "How was your visit?" in client.get(bob_path).text
    answers = {"recommend": "9", "coffee": "5", "when": "0", "lang": "es"}
    done = client.post(ana_path, data=answers)
    assert done.status_code == 201, done.text
    assert f"Has ganado {BONUS} puntos." in done.text
    assert client.post(ana_path, data=answers).status_code == 409
    balance = client.get(f"/api/v1/members/{ana}", headers=shop.auth()).json()["balances"]
    assert balance["points"] == BONUS


def test_a_campaign_without_a_survey_has_no_survey_link(
    client: TestClient,
    db: Database,
    shop: Shop,
    clock: FixedClock,
    mail_settings: Settings,
    inbox: tuple[Inbox, int],
) -> None:
    box, _ = inbox
    enrol(db, shop, clock, "ana@example.org", "es")
    assert client.post("/api/v1/campaigns", json=CAMPAIGN, headers=shop.auth()).status_code == 201
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET, base_url=mail_settings.public_base_url)
    work(db, mail_settings, clock, shop)
    (mail,) = [m for m in to(box, "ana@example.org") if m["Subject"] == "Queremos saber"]
    assert "/s/" not in text_of(mail)
    assert "encuesta" not in text_of(mail)


def test_a_campaign_refuses_a_survey_that_is_not_open_or_not_the_businesses(
    client: TestClient, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    def campaign(survey_id: int, **extra: str) -> dict[str, object]:
        resp = client.post(
            "/api/v1/campaigns",
            json=CAMPAIGN | {"survey_id": survey_id} | extra,
            headers=shop.auth(),
        )
        return {**resp.json(), "http": resp.status_code}

    draft = client.post(
        "/api/v1/surveys", json=survey_body(status="draft"), headers=shop.auth()
    ).json()
    refused = campaign(draft["id"])
    assert (refused["http"], refused["error"]["code"]) == (409, "survey_closed")
    ending = client.post(
        "/api/v1/surveys",
        json=survey_body(closes_at=(clock.now() + timedelta(days=1)).isoformat()),
        headers=shop.auth(),
    ).json()
    # Open now, but closed by the time the campaign goes out.
    later = (clock.now() + timedelta(days=2)).isoformat()
    assert campaign(ending["id"], send_at=later)["http"] == 409
    assert campaign(ending["id"])["http"] == 201
    theirs = client.post("/api/v1/surveys", json=survey_body(), headers=other_shop.auth()).json()
    missing = campaign(theirs["id"])
    assert (missing["http"], missing["error"]["code"]) == (404, "survey_not_found")
    assert campaign(0)["http"] == 422


def test_a_closed_survey_is_left_out_and_without_a_base_url_the_message_keeps_the_token(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    enrol(db, shop, clock, "ana@example.org", "es")
    later = (clock.now() + timedelta(hours=1)).isoformat()
    surveys = [
        client.post("/api/v1/surveys", json=survey_body(), headers=shop.auth()).json()["id"]
        for _ in range(2)
    ]
    for survey_id in surveys:
        body = CAMPAIGN | {"survey_id": survey_id, "send_at": later}
        assert client.post("/api/v1/campaigns", json=body, headers=shop.auth()).status_code == 201
    closed = client.patch(
        f"/api/v1/surveys/{surveys[0]}", json={"status": "closed"}, headers=shop.auth()
    )
    assert closed.status_code == 200
    clock.at += timedelta(hours=2)
    with db.transaction() as conn:
        run_daily(conn, shop.id, clock.now(), SECRET)
        contexts = conn.execute(
            select(messages.c.campaign_id, messages.c.context)
            .where(messages.c.business_id == shop.id, messages.c.campaign_id.is_not(None))
            .order_by(messages.c.campaign_id)
        ).all()
    keys = {(c.campaign_id, tuple(sorted(c.context))) for c in contexts}
    first, second = sorted({c.campaign_id for c in contexts})
    assert keys == {(first, ("body", "subject")), (second, ("body", "subject", "survey_token"))}
    tokens = [c.context["survey_token"] for c in contexts if c.campaign_id == second]
    assert len(tokens) == len(shop.members) + 1  # each member their own link
    read = [links.read_token(SECRET, t) for t in tokens]
    assert {survey for _, _, survey in read} == {surveys[1]}
    assert len({member for _, member, _ in read}) == len(tokens)
