"""Which programs need a member's visit count: the one-by-one path (`rules.apply.context_for`)
and the import's bulk path (`purchases.bulk`) ask the same public question of the program."""

from __future__ import annotations

from typing import Any

import pytest

from lealtad.rules.apply import asks_visits
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import Conditions, EarnRule, FixedPoints


def _program(**conditions: Any) -> ProgramDefinition:
    rule = EarnRule(
        id="r", name="r", action=FixedPoints(points=10), conditions=Conditions(**conditions)
    )
    return ProgramDefinition(rules=[rule])


@pytest.mark.parametrize(
    ("conditions", "asked"),
    [
        ({}, False),
        ({"min_amount": 500}, False),
        ({"first_purchase": True}, True),
        ({"every_nth_visit": 3}, True),
    ],
)
def test_a_program_asks_for_visits_only_when_a_rule_counts_them(
    conditions: dict[str, Any], asked: bool
) -> None:
    assert asks_visits(_program(**conditions)) is asked


def test_a_program_without_rules_asks_for_no_visits() -> None:
    assert asks_visits(ProgramDefinition(rules=[])) is False
