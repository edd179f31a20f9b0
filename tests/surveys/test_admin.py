"""The admin console's surveys: a list with status, responses and NPS, and each survey's results
drawn as inline SVG bar charts with text labels and titles, in the manager's language."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.surveys import service
from lealtad.surveys.charts import BAND_COLOURS
from tests.support import Shop, admin_login, make_shop
from tests.surveys.conftest import make_survey, survey_program


def answered_survey(db: Database, clock: FixedClock) -> tuple[Shop, int]:
    shop = make_shop(db, clock.now(), members_count=3, program=survey_program())
    survey_id = make_survey(db, shop, clock)
    answers = [
        {"recommend": 10, "coffee": 5, "when": 0, "comment": "Best <b>coffee</b> in town"},
        {"recommend": 7, "coffee": 4, "when": 0},
        {"recommend": 2, "coffee": 1, "when": 2, "comment": "Too loud"},
    ]
    start = clock.now()
    for i, (member, given) in enumerate(zip(shop.members, answers, strict=True)):
        with db.transaction() as conn:
            when = start + timedelta(minutes=i)
            service.answer(conn, shop.id, survey_id, member, given, "link", when)
    return shop, survey_id


def test_the_survey_pages_send_a_visitor_without_a_session_to_the_login_page(
    client: TestClient,
) -> None:
    for path in ("/admin/surveys", "/admin/surveys/1"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/admin/login?next={path}"


def test_a_manager_sees_every_survey_with_its_responses_and_nps(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop, survey_id = answered_survey(db, clock)
    make_survey(db, shop, clock, status="draft", name="Next month")
    admin_login(client, shop)
    page = client.get("/admin/surveys")
    assert page.status_code == 200, page.text
    row = re.search(rf'<tr data-survey="{survey_id}">(.*?)</tr>', page.text, re.S)
    assert row is not None
    # one promoter, one passive, one detractor of three: NPS 0
    cells = re.findall(r"<td>(.*?)</td>", row.group(1), re.S)
    assert cells[1:] == ["Abierta", "Sí", "3", "0"]
    assert f'href="/admin/surveys/{survey_id}"' in row.group(1)
    assert "Borrador" in page.text
    assert "In the wallet" in client.get("/admin/surveys?lang=en").text


def test_the_results_page_draws_the_nps_distribution_by_band_and_the_other_questions(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop, survey_id = answered_survey(db, clock)
    admin_login(client, shop)
    page = client.get(f"/admin/surveys/{survey_id}?lang=en")
    assert page.status_code == 200, page.text
    html = page.text
    assert "<script" not in html
    assert html.count("<svg") == 3  # NPS, the rating and the choice
    bands = re.findall(r'fill="(#[0-9a-f]{6})" data-band="(\w+)"', html)
    assert [b for _, b in bands] == ["detractor"] * 7 + ["passive"] * 2 + ["promoter"] * 2
    assert all(colour == BAND_COLOURS[band] for colour, band in bands)
    assert "<title>10: 1 · 33%</title>" in html
    assert "<title>9: 0 · 0%</title>" in html
    assert "data-nps-score>0</p>" in html
    assert "Promoters (9-10): 1" in html
    assert "Detractors (0-6): 1" in html
    assert "The coffee · Average: 3.33 · Answers: 3" in html
    assert "<title>In the morning: 2 · 67%</title>" in html
    # Comments are the members' own words: shown newest first, escaped.
    assert html.index("Too loud") < html.index("Best &lt;b&gt;coffee&lt;/b&gt; in town")
    spanish = client.get(f"/admin/surveys/{survey_id}").text
    assert "Resultados de la encuesta" in spanish
    assert "Últimos comentarios" in spanish


def test_a_survey_of_another_business_is_a_404_in_the_console(
    client: TestClient, db: Database, clock: FixedClock, shop: Shop
) -> None:
    _, theirs = answered_survey(db, clock)
    admin_login(client, shop)
    page = client.get(f"/admin/surveys/{theirs}")
    assert page.status_code == 404
    assert "No existe esa encuesta." in page.text
    assert "Too loud" not in page.text


def test_staff_without_the_manager_role_cannot_see_survey_results(
    client: TestClient, db: Database, clock: FixedClock
) -> None:
    shop, survey_id = answered_survey(db, clock)
    admin_login(client, shop, role="staff")
    assert client.get(f"/admin/surveys/{survey_id}").status_code == 403
