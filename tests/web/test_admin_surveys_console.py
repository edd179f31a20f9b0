"""Surveys in the console, without the API: the owner builds one in both languages (a 0-10
question, a choice among options, a comment), opens it, a member answers through their own link
and the results page shows the counts, the NPS and the comment. The survey service is tested in
tests/surveys; these pages run on SQLite."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.surveys import links
from lealtad.surveys import service as surveys
from lealtad.tenancy.tables import audit_log
from tests.conftest import SECRET
from tests.support import admin_login


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


def built(csrf: str, **more: str) -> dict[str, str]:
    return {
        "csrf": csrf,
        "lang": "en",
        "name": "After the move",
        "title_es": "¿Qué tal el nuevo local?",
        "title_en": "How is the new place?",
        "q1_kind": "nps",
        "q1_text_es": "¿Nos recomendarías?",
        "q1_text_en": "Would you recommend us?",
        "q2_kind": "choice",
        "q2_text_es": "¿Cuándo vienes?",
        "q2_text_en": "When do you come?",
        "q2_options_es": "Por la mañana\nPor la tarde\n",
        "q2_options_en": "In the morning\nIn the afternoon",
        "q3_kind": "text",
        "q3_text_es": "¿Algo más?",
        "q3_text_en": "Anything else?",
        "q3_optional": "on",
        "start": "draft",
    } | more


def survey_id_of(answer) -> int:
    return int(answer.headers["location"].split("/")[3].split("?")[0])


def test_a_manager_builds_a_survey_opens_it_and_reads_a_members_answer(
    client, db, shop, clock
) -> None:
    csrf = admin_login(client, shop)
    page = client.get("/admin/surveys/new?lang=es")
    assert page.status_code == 200
    assert "Nueva encuesta" in page.text
    assert page.text.count('class="question"') == 3
    made = client.post("/admin/surveys/new", data=built(csrf), follow_redirects=False)
    assert made.status_code == 303, made.text
    survey_id = survey_id_of(made)
    with db.read() as conn:
        saved = surveys.one(conn, shop.id, survey_id, clock.now())
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.channel).where(
                audit_log.c.business_id == shop.id, audit_log.c.target == f"survey:{survey_id}"
            )
        ).all()
    assert (saved.status, saved.in_wallet) == ("draft", False)
    assert [(q["id"], q["kind"], q["required"]) for q in saved.questions] == [
        ("q1", "nps", True),
        ("q2", "choice", True),
        ("q3", "text", False),
    ]
    assert saved.questions[1]["options"][1] == {"es": "Por la tarde", "en": "In the afternoon"}
    assert entries == [("survey.create", "admin")]

    opened = client.post(
        f"/admin/surveys/{survey_id}/status",
        data={"csrf": csrf, "lang": "en", "status": "open", "in_wallet": "1"},
    )
    assert opened.status_code == 200
    assert 'data-availability="open"' in opened.text
    assert "Close the survey" in opened.text
    assert f"/admin/campaigns/new?survey={survey_id}" in opened.text

    token = links.link_token(SECRET, shop.id, shop.members[0], survey_id)
    form = client.get(f"/s/{token}")
    assert "¿Qué tal el nuevo local?" in form.text
    answered = client.post(
        f"/s/{token}", data={"lang": "es", "q1": "10", "q2": "1", "q3": "Más enchufes"}
    )
    assert answered.status_code == 201, answered.text

    results = client.get(f"/admin/surveys/{survey_id}?lang=en").text
    assert "data-responses>1<" in results
    assert "data-nps-score>+100</p>" in results
    assert "<title>In the afternoon: 1 · 100%</title>" in results
    assert "Más enchufes" in results
    assert "Member 0" in results
    spanish = client.get(f"/admin/surveys/{survey_id}?lang=es").text
    assert "<title>Por la tarde: 1 · 100\u00a0%</title>" in spanish
    with db.read() as conn:
        actions = conn.execute(
            select(audit_log.c.action).where(
                audit_log.c.business_id == shop.id, audit_log.c.target == f"survey:{survey_id}"
            )
        ).scalars()
        assert list(actions) == ["survey.create", "survey.update"]


def test_the_builder_adds_question_blocks_without_saving_and_names_the_faulty_field(
    client, db, shop, clock
) -> None:
    csrf = admin_login(client, shop)
    more = client.post("/admin/surveys/new", data=built(csrf, more="1"))
    assert more.status_code == 200
    assert more.text.count('class="question"') == 4
    assert 'value="Would you recommend us?"' in more.text
    wrong = client.post(
        "/admin/surveys/new",
        data=built(csrf, title_en="", q2_options_es="Solo una", q3_kind="nps", q3_text_en="Again?"),
    )
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("text/html")
    assert "Question 2, options in Spanish" in wrong.text
    assert "Write 2 to 20 options, one a line." in wrong.text
    assert "Only one question can ask for a 0 to 10 score." in wrong.text
    missing_title = client.post("/admin/surveys/new", data=built(csrf, title_en=""))
    assert missing_title.status_code == 422
    assert "Title in English" in missing_title.text
    with db.read() as conn:
        assert surveys.listing(conn, shop.id, clock.now()) == []


def test_a_closed_survey_turns_its_link_away_and_the_list_shows_it_closed(client, db, shop) -> None:
    csrf = admin_login(client, shop)
    made = client.post("/admin/surveys/new", data=built(csrf, start="open"), follow_redirects=False)
    survey_id = survey_id_of(made)
    client.post(
        f"/admin/surveys/{survey_id}/status", data={"csrf": csrf, "lang": "en", "status": "closed"}
    )
    token = links.link_token(SECRET, shop.id, shop.members[0], survey_id)
    assert client.get(f"/s/{token}").status_code == 409
    listed = client.get("/admin/surveys?lang=en").text
    assert "Closed" in listed
    assert "POST /api/v1/surveys" not in listed
    forged = client.post(f"/admin/surveys/{survey_id}/status", data={"status": "open"})
    assert forged.status_code == 403
