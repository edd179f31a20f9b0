"""Answering a survey: once per member, the program's bonus exactly once through the ledger,
refused while the survey is not open, and exactly one award when two answers race."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from lealtad.comms.tables import outbox
from lealtad.db.engine import Database
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.events.tables import member_events
from lealtad.kit.clock import FixedClock
from lealtad.ledger import service as ledger
from lealtad.ledger.verify import verify
from lealtad.surveys import service
from lealtad.surveys.schemas import ResponseOut, SurveyPatch
from tests.support import Shop
from tests.surveys.conftest import BONUS, GOOD, make_survey


def answer(
    db: Database,
    shop: Shop,
    clock: FixedClock,
    survey_id: int,
    member_id: int,
    answers: dict[str, object] = GOOD,
) -> ResponseOut:
    with db.transaction() as conn:
        return service.answer(conn, shop.id, survey_id, member_id, answers, "api", clock.now())


def points(db: Database, shop: Shop, member_id: int) -> int:
    with db.read() as conn:
        return ledger.balances(conn, shop.id, member_id).get("points", 0)


def test_an_answer_earns_the_survey_bonus_once_and_a_second_answer_is_a_409_that_earns_nothing(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    member = shop.members[0]
    done = answer(db, shop, clock, survey_id, member)
    assert [(a.rule_id, a.unit, a.amount) for a in done.awards] == [("survey", "points", BONUS)]
    assert done.balances["points"] == BONUS
    assert done.answers == GOOD
    with pytest.raises(Conflict) as again:
        answer(db, shop, clock, survey_id, member, {**GOOD, "recommend": 3})
    assert again.value.code == "survey_already_answered"
    assert points(db, shop, member) == BONUS
    with db.read() as conn:
        assert verify(conn, shop.id) == []
        events = conn.execute(
            select(member_events.c.name, member_events.c.properties).where(
                member_events.c.business_id == shop.id, member_events.c.member_id == member
            )
        ).all()
        topics = conn.execute(
            select(outbox.c.topic, outbox.c.payload).where(
                outbox.c.business_id == shop.id, outbox.c.topic == "survey.answered"
            )
        ).all()
    # The answer is a member event, so challenges counting surveys see it too.
    assert [(e.name, e.properties["survey_id"]) for e in events] == [("survey_answered", survey_id)]
    (event,) = topics
    assert event.payload["answers"] == GOOD
    assert event.payload["nps"] == 9
    assert event.payload["awards"][0]["amount"] == BONUS


def test_another_survey_earns_its_own_bonus(db: Database, shop: Shop, clock: FixedClock) -> None:
    first, second = make_survey(db, shop, clock), make_survey(db, shop, clock, name="Second")
    answer(db, shop, clock, first, shop.members[0])
    answer(db, shop, clock, second, shop.members[0])
    answer(db, shop, clock, first, shop.members[1])
    assert points(db, shop, shop.members[0]) == 2 * BONUS
    assert points(db, shop, shop.members[1]) == BONUS


@pytest.mark.parametrize(
    ("fields", "availability"),
    [
        ({"status": "draft"}, "draft"),
        ({"status": "closed"}, "closed"),
        ({"opens_at": "2026-03-03T00:00:00Z"}, "not_yet_open"),
        ({"closes_at": "2026-03-02T10:00:00Z"}, "closed"),
    ],
)
def test_a_survey_that_is_not_open_refuses_answers_with_a_409(
    db: Database, shop: Shop, clock: FixedClock, fields: dict[str, str], availability: str
) -> None:
    survey_id = make_survey(db, shop, clock, **fields)
    with pytest.raises(Conflict) as refused:
        answer(db, shop, clock, survey_id, shop.members[0])
    assert (refused.value.code, refused.value.details) == (
        "survey_closed",
        {"availability": availability},
    )
    assert points(db, shop, shop.members[0]) == 0


def test_a_survey_closed_after_an_answer_keeps_it_and_takes_no_more(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    answer(db, shop, clock, survey_id, shop.members[0])
    with db.transaction() as conn:
        service.update(conn, shop.id, survey_id, SurveyPatch(status="closed"))
        with pytest.raises(Conflict) as back:
            service.update(conn, shop.id, survey_id, SurveyPatch(status="draft"))
    assert back.value.code == "survey_has_responses"
    clock.at += timedelta(days=1)
    with pytest.raises(Conflict):
        answer(db, shop, clock, survey_id, shop.members[1])
    with db.read() as conn:
        assert service.results(conn, shop.id, survey_id).responses == 1


def test_an_invalid_answer_is_a_422_naming_the_question_and_leaves_no_trace(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    with pytest.raises(Invalid) as refused:
        answer(db, shop, clock, survey_id, shop.members[0], {**GOOD, "coffee": 9})
    assert refused.value.code == "survey_answer_invalid"
    assert "'coffee'" in refused.value.message
    assert refused.value.details[0]["question"] == "coffee"
    # Nothing was kept, so a correct answer afterwards still earns.
    assert answer(db, shop, clock, survey_id, shop.members[0]).balances["points"] == BONUS


def test_a_survey_or_member_of_another_business_is_not_found(
    db: Database, shop: Shop, other_shop: Shop, clock: FixedClock
) -> None:
    theirs = make_survey(db, other_shop, clock)
    with pytest.raises(NotFound) as survey_missing:
        answer(db, shop, clock, theirs, shop.members[0])
    assert survey_missing.value.code == "survey_not_found"
    ours = make_survey(db, shop, clock)
    with pytest.raises(NotFound) as member_missing:
        answer(db, shop, clock, ours, other_shop.members[0])
    assert member_missing.value.code == "member_not_found"


def test_two_answers_of_one_member_at_the_same_moment_award_the_bonus_exactly_once(
    db: Database, shop: Shop, clock: FixedClock
) -> None:
    survey_id = make_survey(db, shop, clock)
    member = shop.members[0]
    start = threading.Barrier(2)

    def one(score: int) -> str:
        start.wait()
        try:
            answer(db, shop, clock, survey_id, member, {**GOOD, "recommend": score})
            return "ok"
        except Conflict as exc:
            return exc.code

    for _ in range(3):  # a few rounds on fresh surveys: a race lost once proves little
        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(one, (2, 10)))
        assert outcomes == ["ok", "survey_already_answered"]
        survey_id = make_survey(db, shop, clock)
    assert points(db, shop, member) == 3 * BONUS
    with db.read() as conn:
        assert verify(conn, shop.id) == []
