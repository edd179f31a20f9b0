"""Fixtures for surveys: a shop whose program pays 50 points for an answered survey, and a
survey with one question of each kind."""

from __future__ import annotations

from copy import deepcopy
from decimal import Decimal
from typing import Any

import pytest

from lealtad.db.engine import Database
from lealtad.kit.clock import FixedClock
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import EarnRule, FixedPoints, PointsPerUnit
from lealtad.surveys import service
from lealtad.surveys.schemas import SurveyIn
from tests.support import Shop, make_shop

BONUS = 50
QUESTIONS: list[dict[str, Any]] = [
    {
        "id": "recommend",
        "kind": "nps",
        "text": {
            "es": "¿Nos recomendarías a un amigo?",
            "en": "Would you recommend us to a friend?",
        },
    },
    {"id": "coffee", "kind": "rating", "text": {"es": "El café", "en": "The coffee"}},
    {
        "id": "when",
        "kind": "choice",
        "text": {"es": "¿Cuándo vienes?", "en": "When do you come?"},
        "options": [
            {"es": "Por la mañana", "en": "In the morning"},
            {"es": "A mediodía", "en": "At noon"},
            {"es": "Por la tarde", "en": "In the afternoon"},
        ],
    },
    {
        "id": "comment",
        "kind": "text",
        "required": False,
        "text": {"es": "¿Algo más?", "en": "Anything else?"},
    },
]


def survey_body(**overrides: Any) -> dict[str, Any]:
    body = {
        "name": "After the visit",
        "title": {"es": "¿Qué tal tu visita?", "en": "How was your visit?"},
        "questions": deepcopy(QUESTIONS),
        "status": "open",
        "in_wallet": True,
    }
    return body | overrides


def survey_program() -> ProgramDefinition:
    return ProgramDefinition(
        rules=[
            EarnRule(id="base", name="Points", action=PointsPerUnit(rate=Decimal(1))),
            EarnRule(
                id="survey",
                name="Survey bonus",
                trigger="survey_answered",
                action=FixedPoints(points=BONUS),
            ),
        ]
    )


def make_survey(db: Database, shop: Shop, clock: FixedClock, **overrides: Any) -> int:
    with db.transaction() as conn:
        return service.create(
            conn, shop.id, SurveyIn.model_validate(survey_body(**overrides)), "test", clock.now()
        )


GOOD = {"recommend": 9, "coffee": 4, "when": 0, "comment": "Great flat white"}


@pytest.fixture
def shop(db: Database, clock: FixedClock) -> Shop:
    return make_shop(db, clock.now(), program=survey_program())


# The real SMTP server and the settings that send to it, shared with the message tests.
from tests.comms.conftest import inbox, mail_settings  # noqa: E402, F401
