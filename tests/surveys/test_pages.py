"""The member's survey page from a signed link: the form in the member's language, a thanks
page with the points earned, one answer only, and a 404 page for a forged link."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.members import service as members
from lealtad.members.schemas import MemberIn
from lealtad.surveys import links, service
from tests.conftest import SECRET
from tests.support import Shop
from tests.surveys.conftest import BONUS, make_survey

FORM = {"recommend": "10", "coffee": "4", "when": "1", "comment": "Muy rico", "lang": "es"}


def link(shop: Shop, member_id: int, survey_id: int) -> str:
    return f"/s/{links.link_token(SECRET, shop.id, member_id, survey_id)}"


def english_member(db: Database, shop: Shop, clock: FixedClock) -> int:
    with db.transaction() as conn:
        return members.enrol(
            conn, shop.id, MemberIn(name="Bob", locale="en"), channel="api", now=clock.now()
        )


def test_the_link_shows_the_form_in_the_members_language_with_labelled_choices(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    page = client.get(link(shop, shop.members[0], survey_id))
    assert page.status_code == 200, page.text
    assert "¿Qué tal tu visita?" in page.text
    assert "¿Nos recomendarías a un amigo?" in page.text
    assert "Enviar mis respuestas" in page.text
    # NPS 0-10 and a rating 1-5 as radio buttons, each inside its label, within a fieldset.
    scores = re.findall(r'<input type="radio" name="recommend" value="(\d+)"', page.text)
    assert scores == [str(n) for n in range(11)]
    assert re.findall(r'name="coffee" value="(\d)"', page.text) == ["1", "2", "3", "4", "5"]
    assert 'aria-label="0: Nada probable"' in page.text
    assert page.text.count("<legend>") == 3
    assert '<label for="q-comment">' in page.text
    assert "Por la mañana" in page.text
    english = client.get(link(shop, english_member(db, shop, clock), survey_id))
    assert "How was your visit?" in english.text
    assert "Send my answers" in english.text
    assert 'aria-label="10: Extremely likely"' in english.text
    assert (
        "How was your visit?"
        in client.get(link(shop, shop.members[0], survey_id) + "?lang=en").text
    )


def test_answering_from_the_link_thanks_with_the_points_and_a_second_answer_earns_nothing(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    url = link(shop, shop.members[0], survey_id)
    done = client.post(url, data=FORM)
    assert done.status_code == 201, done.text
    assert "¡Gracias por tus respuestas!" in done.text
    assert f"Has ganado {BONUS} puntos." in done.text
    again = client.post(url, data=FORM | {"recommend": "0"})
    assert again.status_code == 409
    assert "Ya has respondido a esta encuesta" in again.text
    assert client.get(url).status_code == 409
    with db.read() as conn:
        results = service.results(conn, shop.id, survey_id)
    assert (results.responses, results.nps and results.nps.distribution[10]) == (1, 1)
    member = client.get(f"/api/v1/members/{shop.members[0]}", headers=shop.auth()).json()
    assert member["balances"]["points"] == BONUS


def test_an_english_member_is_thanked_in_english(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    done = client.post(
        link(shop, english_member(db, shop, clock), survey_id), data=FORM | {"lang": "en"}
    )
    assert done.status_code == 201, done.text
    assert "Thank you for your answers!" in done.text
    assert f"You earned {BONUS} points." in done.text


def test_a_missing_answer_shows_the_form_again_with_the_question_marked_and_the_answers_kept(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    url = link(shop, shop.members[0], survey_id)
    page = client.post(url, data={"coffee": "4", "when": "7", "comment": "Hola", "lang": "es"})
    assert page.status_code == 422
    assert "Responde a esta pregunta, por favor." in page.text
    assert "Elige una de las respuestas propuestas, por favor." in page.text
    assert 'aria-describedby="e-recommend"' in page.text
    assert 'name="coffee" value="4" checked' in page.text
    assert ">Hola</textarea>" in page.text
    assert client.post(url, data=FORM).status_code == 201


def test_a_forged_or_foreign_link_is_a_404_page(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    good = links.link_token(SECRET, shop.id, shop.members[0], survey_id)
    forged = links.link_token("another-secret-of-the-same-length-0123456789", shop.id, 1, survey_id)
    for token in (forged, good[:-2] + "xx", "nothing", "a" * 2000):
        page = client.get(f"/s/{token}")
        assert page.status_code == 404, token
        assert "Este enlace no es válido" in page.text
        assert client.post(f"/s/{token}", data=FORM).status_code == 404
    # A well-signed link naming a survey that does not exist is no better.
    missing = links.link_token(SECRET, shop.id, shop.members[0], 2**62)
    assert client.get(f"/s/{missing}?lang=en").status_code == 404


def test_a_closed_or_not_yet_open_survey_says_so_and_takes_nothing(
    client: TestClient, db: Database, shop: Shop, clock: FixedClock
) -> None:
    closed = make_survey(db, shop, clock, status="closed")
    page = client.get(link(shop, shop.members[0], closed))
    assert (page.status_code, "Esta encuesta está cerrada" in page.text) == (409, True)
    posted = client.post(link(shop, shop.members[0], closed), data=FORM)
    assert (posted.status_code, "Esta encuesta está cerrada" in posted.text) == (409, True)
    later = make_survey(db, shop, clock, opens_at="2026-04-01T00:00:00Z")
    page = client.get(link(shop, shop.members[0], later) + "?lang=en")
    assert (page.status_code, "This survey is not open yet" in page.text) == (409, True)
    draft = make_survey(db, shop, clock, status="draft")
    posted = client.post(link(shop, shop.members[0], draft), data=FORM | {"lang": "en"})
    assert (posted.status_code, "This survey is not open yet" in posted.text) == (409, True)


def test_the_wallet_offers_open_wallet_surveys_the_member_has_not_answered(
    db: Database, shop: Shop, other_shop: Shop, clock: FixedClock, settings: Settings
) -> None:
    offered = make_survey(db, shop, clock)
    make_survey(db, shop, clock, in_wallet=False)
    make_survey(db, shop, clock, status="draft")
    make_survey(db, shop, clock, closes_at="2026-03-01T00:00:00Z")
    answered = make_survey(db, shop, clock)
    make_survey(db, other_shop, clock)
    member = shop.members[0]
    with db.transaction() as conn:
        service.answer(
            conn,
            shop.id,
            answered,
            member,
            {"recommend": 8, "coffee": 3, "when": 0},
            "link",
            clock.now(),
        )
        listed = service.open_for_member(conn, shop.id, member, clock.now())
        others = service.open_for_member(conn, shop.id, shop.members[1], clock.now())
    assert [s.id for s in listed] == [offered]
    assert [s.id for s in others] == [offered, answered]
    url = links.member_url(settings, shop.id, member, offered)
    assert url.startswith(settings.public_base_url + "/s/")
    assert links.read_token(SECRET, url.rsplit("/", 1)[1]) == (shop.id, member, offered)


def test_every_message_of_the_survey_pages_has_a_spanish_translation() -> None:
    from lealtad.web.i18n import _catalog

    src = Path(__file__).resolve().parents[2] / "src" / "lealtad"
    sources = [
        src / "surveys" / "pages.py",
        *(src / "web").rglob("survey*.html"),
    ]
    used = {
        m for path in sources for m in re.findall(r'_\("((?:[^"\\]|\\.)+)"\)', path.read_text())
    }
    assert len(used) > 20
    missing = sorted(used - set(_catalog("es")))
    assert missing == [], f"messages without a Spanish translation: {missing}"
