"""Editing a survey in the console: a draft is changed whole (texts, questions, dates) and opened
from the same form; once members have answered, texts still change but questions are neither
added nor removed, and the page says so without saving anything. On SQLite, as the builder."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lealtad.db.engine import Database
from lealtad.surveys import links
from lealtad.surveys import service as surveys
from lealtad.tenancy.tables import audit_log
from tests.conftest import SECRET
from tests.support import admin_login
from tests.web.test_admin_surveys_console import built, survey_id_of


@pytest.fixture
def db(sqlite_db: Database) -> Database:
    return sqlite_db


def test_a_draft_is_shown_as_it_is_then_rewritten_opened_and_audited(
    client, db, shop, clock
) -> None:
    csrf = admin_login(client, shop)
    made = client.post("/admin/surveys/new", data=built(csrf), follow_redirects=False)
    survey_id = survey_id_of(made)
    results = client.get(f"/admin/surveys/{survey_id}?lang=es").text
    assert f'href="/admin/surveys/{survey_id}/edit?lang=es"' in results
    assert "Editar la encuesta" in results

    page = client.get(f"/admin/surveys/{survey_id}/edit?lang=en")
    assert page.status_code == 200
    assert f'action="/admin/surveys/{survey_id}/edit"' in page.text
    for shown in ("After the move", "¿Qué tal el nuevo local?", "Would you recommend us?"):
        assert f'value="{shown}"' in page.text
    assert "Por la mañana\nPor la tarde</textarea>" in page.text
    assert 'id="f-q3_optional" name="q3_optional" type="checkbox" value="on" checked' in page.text
    assert 'id="f-start-draft" name="start" value="draft" checked' in page.text

    changed = built(
        csrf,
        title_en="How do you like the new place?",
        q4_kind="rating",
        q4_text_es="¿Y el café?",
        q4_text_en="And the coffee?",
        closes_at="2026-04-01T20:00",
        start="open",
    )
    saved = client.post(f"/admin/surveys/{survey_id}/edit", data=changed, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    with db.read() as conn:
        survey = surveys.one(conn, shop.id, survey_id, clock.now())
        actions = conn.execute(
            select(audit_log.c.action).where(
                audit_log.c.business_id == shop.id, audit_log.c.target == f"survey:{survey_id}"
            )
        ).scalars()
        assert list(actions) == ["survey.create", "survey.update"]
    assert survey.title["en"] == "How do you like the new place?"
    assert [q["kind"] for q in survey.questions] == ["nps", "choice", "text", "rating"]
    assert survey.status == "open"
    # 20:00 in Madrid at the start of April is 18:00 UTC.
    assert survey.closes_at.isoformat().startswith("2026-04-01T18:00")


def test_once_answered_texts_change_but_questions_do_not_and_the_page_says_why(
    client, db, shop, clock
) -> None:
    csrf = admin_login(client, shop)
    made = client.post("/admin/surveys/new", data=built(csrf, start="open"), follow_redirects=False)
    survey_id = survey_id_of(made)
    token = links.link_token(SECRET, shop.id, shop.members[0], survey_id)
    answered = client.post(f"/s/{token}", data={"lang": "es", "q1": "9", "q2": "1", "q3": ""})
    assert answered.status_code == 201, answered.text

    page = client.get(f"/admin/surveys/{survey_id}/edit?lang=es").text
    assert "data-answered" in page
    assert 'name="start"' not in page  # an open survey is closed with its own button

    fewer = built(csrf, q3_text_es="", q3_text_en="")
    refused = client.post(f"/admin/surveys/{survey_id}/edit", data=fewer)
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("text/html")
    assert "questions cannot be added, removed or change kind" in refused.text
    with db.read() as conn:
        assert len(surveys.one(conn, shop.id, survey_id, clock.now()).questions) == 3

    reworded = built(csrf, q1_text_en="Would you recommend us to a friend?")
    assert client.post(f"/admin/surveys/{survey_id}/edit", data=reworded).status_code == 200
    with db.read() as conn:
        survey = surveys.one(conn, shop.id, survey_id, clock.now())
    assert survey.questions[0]["text"]["en"] == "Would you recommend us to a friend?"
    assert survey.status == "open"


def test_another_business_s_survey_is_not_found_and_nothing_changes(client, db, shop) -> None:
    csrf = admin_login(client, shop)
    assert client.get("/admin/surveys/999999/edit").status_code == 404
    assert client.post("/admin/surveys/999999/edit", data=built(csrf)).status_code == 404
