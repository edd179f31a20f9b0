"""Survey policy without a database: which surveys and answers are well formed, when a survey
takes answers, and how answers add up."""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime
from typing import Any

import pytest
from pydantic import ValidationError

from lealtad.surveys import model
from lealtad.surveys.schemas import ResponseIn, SurveyIn
from tests.surveys.conftest import GOOD, QUESTIONS, survey_body

TEXT = {"es": "Pregunta", "en": "Question"}


def question(qid: str, kind: str, **extra: Any) -> dict[str, Any]:
    return {"id": qid, "kind": kind, "text": TEXT} | extra


TWO_OPTIONS = [{"es": "Sí", "en": "Yes"}, {"es": "No", "en": "No"}]


@pytest.mark.parametrize(
    ("questions", "fragment"),
    [
        pytest.param([], "at least 1", id="no-questions"),
        pytest.param([question(f"q{i}", "rating") for i in range(11)], "at most 10", id="eleven"),
        pytest.param([question("a", "nps"), question("b", "nps")], "at most one NPS", id="two-nps"),
        pytest.param([question("a", "rating"), question("a", "text")], "unique", id="same-id"),
        pytest.param([question("a", "choice")], "2 to 20 options", id="choice-no-options"),
        pytest.param(
            [question("a", "choice", options=TWO_OPTIONS[:1])], "2 to 20", id="choice-one-option"
        ),
        pytest.param(
            [question("a", "rating", options=TWO_OPTIONS)], "only a choice", id="rating-options"
        ),
        pytest.param([question("A b", "rating")], "pattern", id="id-not-a-slug"),
        pytest.param([question("a", "stars")], "nps", id="unknown-kind"),
        pytest.param([{"id": "a", "kind": "text", "text": {"es": "Solo"}}], "en", id="no-english"),
        pytest.param([question("a", "text", hint="x")], "Extra inputs", id="extra-field"),
    ],
)
def test_a_malformed_survey_is_refused_with_the_reason(
    questions: list[dict[str, Any]], fragment: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        SurveyIn.model_validate(survey_body(questions=questions))
    assert fragment in str(refused.value)


def test_a_survey_of_ten_questions_with_one_nps_and_a_choice_is_accepted() -> None:
    questions = [question("n", "nps"), question("c", "choice", options=TWO_OPTIONS)]
    questions += [question(f"r{i}", "rating") for i in range(8)]
    assert len(SurveyIn.model_validate(survey_body(questions=questions)).questions) == 10


@pytest.mark.parametrize(
    ("answers", "question", "code"),
    [
        pytest.param({**GOOD, "recommend": None}, "recommend", "required", id="nps-missing"),
        pytest.param(
            {k: v for k, v in GOOD.items() if k != "coffee"},
            "coffee",
            "required",
            id="rating-absent",
        ),
        pytest.param({**GOOD, "recommend": 11}, "recommend", "out_of_range", id="nps-11"),
        pytest.param({**GOOD, "recommend": -1}, "recommend", "out_of_range", id="nps-negative"),
        pytest.param({**GOOD, "recommend": True}, "recommend", "out_of_range", id="nps-boolean"),
        pytest.param({**GOOD, "recommend": "9"}, "recommend", "out_of_range", id="nps-text"),
        pytest.param({**GOOD, "coffee": 0}, "coffee", "out_of_range", id="rating-0"),
        pytest.param({**GOOD, "coffee": 6}, "coffee", "out_of_range", id="rating-6"),
        pytest.param({**GOOD, "when": 3}, "when", "out_of_range", id="choice-beyond"),
        pytest.param({**GOOD, "when": "In the morning"}, "when", "out_of_range", id="choice-text"),
        pytest.param({**GOOD, "comment": "x" * 1001}, "comment", "out_of_range", id="text-long"),
        pytest.param({**GOOD, "comment": 5}, "comment", "out_of_range", id="text-number"),
        pytest.param({**GOOD, "colour": 1}, "colour", "unknown_question", id="unknown-id"),
    ],
)
def test_a_wrong_answer_names_its_question(
    answers: dict[str, object], question: str, code: str
) -> None:
    _, problems = model.check_answers(QUESTIONS, answers)
    assert [(p.question, p.code) for p in problems] == [(question, code)]


def test_good_answers_come_back_clean_and_a_blank_optional_text_is_left_out() -> None:
    clean, problems = model.check_answers(QUESTIONS, GOOD)
    assert problems == []
    assert clean == GOOD
    clean, problems = model.check_answers(QUESTIONS, {**GOOD, "comment": "   "})
    assert problems == []
    assert "comment" not in clean
    clean, _ = model.check_answers(QUESTIONS, {**GOOD, "comment": "  fine \n"})
    assert clean["comment"] == "fine"


def test_a_browser_form_becomes_numbers_where_the_question_wants_one() -> None:
    form = {"recommend": "10", "coffee": " 3 ", "when": "2", "comment": "ok", "lang": "es"}
    assert model.from_form(QUESTIONS, form) == {
        "recommend": 10,
        "coffee": 3,
        "when": 2,
        "comment": "ok",
    }
    assert model.from_form(QUESTIONS, {"recommend": "ten"}) == {"recommend": "ten"}
    assert model.from_form(QUESTIONS, {"coffee": "99999"}) == {"coffee": "99999"}


def test_the_answer_schema_takes_numbers_and_texts_but_not_booleans_or_fractions() -> None:
    assert ResponseIn.model_validate({"member_id": 1, "answers": GOOD}).answers == GOOD
    for bad in (True, 4.5, None, [1], {"a": 1}):
        with pytest.raises(ValidationError):
            ResponseIn.model_validate({"member_id": 1, "answers": {"coffee": bad}})


NOON = datetime(2026, 3, 2, 12, 0)


@pytest.mark.parametrize(
    ("status", "opens", "closes", "expected"),
    [
        ("draft", None, None, "draft"),
        ("open", None, None, "open"),
        ("closed", None, None, "closed"),
        ("open", datetime(2026, 3, 3), None, "not_yet_open"),
        ("open", datetime(2026, 3, 2, 12, 0), None, "open"),
        ("open", None, datetime(2026, 3, 2, 12, 0), "closed"),
        ("open", datetime(2026, 3, 1), datetime(2026, 3, 5), "open"),
        ("draft", datetime(2026, 3, 1), None, "draft"),
    ],
)
def test_a_survey_takes_answers_only_while_open_and_within_its_dates(
    status: str, opens: datetime | None, closes: datetime | None, expected: str
) -> None:
    assert model.availability(status, opens, closes, NOON) == expected


def test_nps_counts_promoters_from_9_passives_from_7_and_the_rest_as_detractors() -> None:
    assert [model.band(s) for s in range(11)] == ["detractor"] * 7 + ["passive"] * 2 + [
        "promoter"
    ] * 2
    # 3 promoters, 1 passive, 2 detractors of 6: (3 - 2) / 6 = 16.7
    result = model.nps({10: 2, 9: 1, 7: 1, 6: 1, 0: 1})
    assert (result.answered, result.promoters, result.passives, result.detractors) == (6, 3, 1, 2)
    assert result.score == 16.7
    assert result.distribution == [1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 2]
    assert model.nps({}).score is None
    assert model.nps({3: 4}).score == -100.0


def test_answered_questions_keep_their_shape_when_only_texts_change() -> None:
    renamed = deepcopy(QUESTIONS)
    renamed[0]["text"] = {"es": "Otra", "en": "Another"}
    assert model.shape(renamed) == model.shape(QUESTIONS)
    fewer = deepcopy(QUESTIONS)
    fewer[2]["options"] = fewer[2]["options"][:2]
    assert model.shape(fewer) != model.shape(QUESTIONS)
