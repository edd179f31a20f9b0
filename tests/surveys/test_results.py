"""Results are computed from the answers on read; here six answers worked out by hand."""

from __future__ import annotations

from datetime import timedelta

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.surveys import service
from tests.support import make_shop
from tests.surveys.conftest import make_survey, survey_program

ANSWERS = [
    {"recommend": 10, "coffee": 5, "when": 0, "comment": "Lovely"},
    {"recommend": 9, "coffee": 4, "when": 0},
    {"recommend": 8, "coffee": 3, "when": 2, "comment": "A bit slow"},
    {"recommend": 6, "coffee": 2, "when": 1, "comment": "  "},
    {"recommend": 0, "coffee": 1, "when": 2, "comment": "Cold coffee"},
    {"recommend": 10, "coffee": 5, "when": 0},
]


def test_six_answers_give_the_nps_averages_counts_and_comments_worked_out_by_hand(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), members_count=6, program=survey_program())
    survey_id = make_survey(db, shop, clock)
    with db.read() as conn:
        empty = service.results(conn, shop.id, survey_id)
    assert (empty.responses, empty.nps and empty.nps.score) == (0, None)
    start = clock.now()
    for i, (member, answers) in enumerate(zip(shop.members, ANSWERS, strict=True)):
        clock.at = start + timedelta(minutes=i)
        with db.transaction() as conn:
            service.answer(conn, shop.id, survey_id, member, answers, "link", clock.now())
    with db.read() as conn:
        results = service.results(conn, shop.id, survey_id)

    assert results.responses == 6
    nps = results.nps
    assert nps is not None
    # promoters 10, 9, 10; passive 8; detractors 6, 0: (3 - 2) / 6 = 16.7
    assert (nps.promoters, nps.passives, nps.detractors, nps.score) == (3, 1, 2, 16.7)
    assert nps.distribution == [1, 0, 0, 0, 0, 0, 1, 0, 1, 1, 2]
    by_id = {q.id: q for q in results.questions}
    coffee = by_id["coffee"]
    assert (coffee.answered, coffee.average, coffee.distribution) == (6, 3.33, [1, 1, 1, 1, 2])
    when = by_id["when"]
    assert [(o.text["en"], o.count) for o in when.options or []] == [
        ("In the morning", 3),
        ("At noon", 1),
        ("In the afternoon", 2),
    ]
    comment = by_id["comment"]
    assert comment.answered == 3  # the blank one is no answer
    assert [(c.member_id, c.text) for c in comment.comments or []] == [
        (shop.members[4], "Cold coffee"),
        (shop.members[2], "A bit slow"),
        (shop.members[0], "Lovely"),
    ]
    assert comment.comments
    assert comment.comments[0].at == start + timedelta(minutes=4)
    assert by_id["recommend"].average == round(43 / 6, 2)


def test_results_of_a_survey_without_an_nps_question_have_no_nps(
    db: Database, clock: FixedClock
) -> None:
    shop = make_shop(db, clock.now(), program=survey_program())
    questions = [{"id": "taste", "kind": "rating", "text": {"es": "Sabor", "en": "Taste"}}]
    survey_id = make_survey(db, shop, clock, questions=questions)
    with db.transaction() as conn:
        service.answer(conn, shop.id, survey_id, shop.members[0], {"taste": 4}, "api", clock.now())
        results = service.results(conn, shop.id, survey_id)
    assert results.nps is None
    assert results.questions[0].average == 4.0
