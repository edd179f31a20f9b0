"""The program forms real programs need, as pure parts: the worked examples of issue 19 (23.99
GBP at 4 points per whole pound gives 92; a lot earned on 2024-01-10 with 24-month expiry
expires on 2026-01-10), calendar months, event properties and the stored format."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from lealtad.kit.money import minor_exponent
from lealtad.rules.actions import numeric, property_problem
from lealtad.rules.compile import compile_program
from lealtad.rules.definition import PointsPolicy, ProgramDefinition, Tier, TierPolicy
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit
from lealtad.rules.facts import Facts, MemberContext
from lealtad.rules.periods import add_months, expiry_for

LONDON = ZoneInfo("Europe/London")
MADRID = ZoneInfo("Europe/Madrid")
AT = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def _points(action: PointsPerUnit, facts: Facts, trigger: str = "purchase") -> int:
    program = compile_program(
        ProgramDefinition(rules=[EarnRule(id="r", name="R", trigger=trigger, action=action)])
    )  # type: ignore[arg-type]
    return sum(a.amount for a in program.evaluate(facts, MemberContext(member_id=1)))


def _sale(amount: int, currency: str = "GBP") -> Facts:
    return Facts("purchase", AT, LONDON, amount=amount, exponent=minor_exponent(currency))


def test_23_99_gbp_at_4_points_per_whole_pound_gives_92() -> None:
    assert _points(PointsPerUnit(rate=Decimal(4), per="whole_unit"), _sale(2399)) == 92


def test_23_99_gbp_at_4_points_per_pound_gives_95_as_before() -> None:
    assert _points(PointsPerUnit(rate=Decimal(4)), _sale(2399)) == 95


@pytest.mark.parametrize(
    ("rate", "rounding", "amount", "currency", "points"),
    [
        ("4", "floor", 99, "GBP", 0),  # less than a whole pound earns nothing
        ("4", "floor", 100, "GBP", 4),
        ("0.5", "floor", 2399, "GBP", 11),  # 23 whole pounds x 0.5 = 11.5, rounded down
        ("0.5", "ceil", 2399, "GBP", 12),
        ("0.5", "half_up", 2399, "GBP", 12),
        ("0.001", "floor", 45990, "CLP", 45),  # no minor units: every peso is whole
        ("1", "floor", 12345, "BHD", 12),  # three decimals: 12.345 dinars, 12 whole
    ],
)
def test_whole_units_are_cut_down_first_then_multiplied_and_rounded(
    rate: str, rounding: Any, amount: int, currency: str, points: int
) -> None:
    action = PointsPerUnit(rate=Decimal(rate), rounding=rounding, per="whole_unit")
    assert _points(action, _sale(amount, currency)) == points


def test_whole_units_of_an_event_are_whole_hours() -> None:
    action = PointsPerUnit(rate=Decimal(10), per="whole_unit")
    hours = Facts("training_hours", AT, value=Decimal("2.75"))
    assert _points(action, hours, trigger="training_hours") == 20


def test_a_lot_earned_on_2024_01_10_with_24_month_expiry_expires_on_2026_01_10() -> None:
    expires = expiry_for(AT, "months", None, LONDON, months=24)
    assert expires is not None
    assert expires.astimezone(LONDON).date() == date(2026, 1, 10)
    assert expires == datetime(2026, 1, 10, 12, 0, tzinfo=UTC)  # the same local time


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # 31 Jan + 1 month: the last day of February
        (date(2025, 1, 31), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 12, date(2025, 2, 28)),
        (date(2024, 3, 31), 1, date(2024, 4, 30)),
        (date(2024, 12, 15), 1, date(2025, 1, 15)),
        (date(2024, 11, 30), 3, date(2025, 2, 28)),
        (date(2024, 1, 10), 24, date(2026, 1, 10)),
        (date(2024, 1, 10), 1200, date(2124, 1, 10)),
    ],
)
def test_calendar_months_keep_the_day_or_take_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert add_months(day, months) == expected


def test_months_keep_the_local_wall_time_across_a_daylight_saving_change() -> None:
    earned = datetime(2024, 1, 15, 9, 30, tzinfo=MADRID)  # winter, UTC+1
    expires = expiry_for(earned, "months", None, MADRID, months=6)  # summer, UTC+2
    assert expires is not None
    assert expires.astimezone(MADRID).replace(tzinfo=None) == datetime(2024, 7, 15, 9, 30)


def test_months_end_is_the_last_instant_of_the_month_n_months_on() -> None:
    expires = expiry_for(AT, "months_end", None, MADRID, months=24)
    assert expires is not None
    assert expires.astimezone(MADRID).replace(tzinfo=None) == datetime(
        2026, 1, 31, 23, 59, 59, 999999
    )


@pytest.mark.parametrize(
    "policy",
    [
        {"expiry": "months"},
        {"expiry": "months_end"},
        {"expiry": "days", "expiry_days": 5, "expiry_months": 2},
        {"expiry": "never", "expiry_months": 2},
        {"expiry": "months", "expiry_months": 0},
        {"expiry": "months", "expiry_months": 1201},
    ],
)
def test_expiry_months_go_with_months_and_only_with_them(policy: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        PointsPolicy.model_validate(policy)


@pytest.mark.parametrize(
    ("value", "number"),
    [
        (2.5, Decimal("2.5")),
        (3, Decimal(3)),
        ("3", Decimal(3)),
        (" 1.25 ", Decimal("1.25")),
        (0, Decimal(0)),
        (10**9, Decimal(10**9)),
        ("1e-999999999", Decimal(0)),  # cut to six decimals, never a giant fraction
        (0.1 + 0.2, Decimal("0.3")),
        ("2.1234567", Decimal("2.123456")),
        (None, None),
        (True, None),
        ("lots", None),
        ("NaN", None),
        ("Infinity", None),
        (-1, None),
        (10**9 + 1, None),
        ([1], None),
        ({"h": 1}, None),
    ],
)
def test_an_event_property_counts_only_as_a_number_from_0_to_a_billion(
    value: object, number: Decimal | None
) -> None:
    assert numeric(value) == number


def _hours_rule(**extra: Any) -> EarnRule:
    action = PointsPerUnit(rate=Decimal(10), event_property="hours")
    return EarnRule(
        id="training", name="Training", trigger="training_hours", action=action, **extra
    )


def test_an_event_rule_counts_its_named_property_not_the_value() -> None:
    rule = _hours_rule()
    program = compile_program(ProgramDefinition(rules=[rule]))
    member = MemberContext(member_id=1)

    def event(**properties: object) -> int:
        facts = Facts("training_hours", AT, value=Decimal(7), properties=properties)
        return sum(a.amount for a in program.evaluate(facts, member))

    assert event(hours=2.5) == 25
    assert event() == 0
    assert event(hours="many") == 0
    assert program.evaluate(Facts("training_hours", AT, value=Decimal(7)), member) == []


def test_a_property_that_is_there_but_no_number_is_a_problem_for_the_rules_that_count_it() -> None:
    rules = [_hours_rule()]
    assert property_problem(rules, "training_hours", None, {"hours": 2}) is None
    assert property_problem(rules, "training_hours", None, {}) is None  # missing: no award
    problem = property_problem(rules, "training_hours", None, {"hours": "two"})
    assert problem is not None
    assert "'hours'" in problem
    assert property_problem(rules, "survey_answered", None, {"hours": "two"}) is None
    paused = [_hours_rule(active=False)]
    assert property_problem(paused, "training_hours", None, {"hours": "two"}) is None


def test_a_purchase_rule_cannot_name_an_event_property() -> None:
    with pytest.raises(ValidationError, match="event_property is for event rules"):
        EarnRule(id="r", name="R", action=PointsPerUnit(rate=Decimal(1), event_property="hours"))


def _tiers(metric: str, crossing: str) -> TierPolicy:
    return TierPolicy.model_validate(
        {
            "metric": metric,
            "custom_event": "class" if metric == "custom" else None,
            "crossing_purchase_earns_at": crossing,
            "levels": [Tier(id="a", name="A", threshold=Decimal(0))],
        }
    )


@pytest.mark.parametrize("metric", ["spend", "visits"])
def test_new_tier_for_a_crossing_purchase_goes_with_spend_and_visits(metric: str) -> None:
    assert _tiers(metric, "new_tier").crossing_purchase_earns_at == "new_tier"


@pytest.mark.parametrize("metric", ["points_earned", "custom"])
def test_new_tier_is_refused_where_a_purchase_cannot_decide_the_tier(metric: str) -> None:
    with pytest.raises(ValidationError, match="needs the spend or visits metric"):
        _tiers(metric, "new_tier")
    assert _tiers(metric, "previous_tier").crossing_purchase_earns_at == "previous_tier"


def test_the_new_fields_are_left_out_of_the_stored_json_at_their_defaults() -> None:
    old = {
        "points": {"expiry": "days", "expiry_days": 730},
        "tiers": {"levels": [{"id": "a", "name": "A", "threshold": "0"}]},
        "rules": [{"id": "b", "name": "B", "action": {"type": "points_per_unit", "rate": "1"}}],
    }
    stored = ProgramDefinition.model_validate(old).as_json()
    action: Any = stored["rules"][0]["action"]  # type: ignore[index]
    assert set(action) == {"type", "rate", "rounding", "per_item"}
    assert "expiry_months" not in stored["points"]  # type: ignore[operator]
    assert "crossing_purchase_earns_at" not in stored["tiers"]  # type: ignore[operator]
    again = ProgramDefinition.model_validate(stored)
    assert again == ProgramDefinition.model_validate(old)


def test_the_new_fields_are_kept_when_set_and_read_back_the_same() -> None:
    new = {
        "points": {"expiry": "months", "expiry_months": 24},
        "tiers": {
            "crossing_purchase_earns_at": "new_tier",
            "levels": [{"id": "a", "name": "A", "threshold": "0"}],
        },
        "rules": [
            {
                "id": "b",
                "name": "B",
                "action": {"type": "points_per_unit", "rate": "4", "per": "whole_unit"},
            }
        ],
    }
    stored = ProgramDefinition.model_validate(new).as_json()
    assert stored["points"]["expiry_months"] == 24  # type: ignore[index]
    assert stored["tiers"]["crossing_purchase_earns_at"] == "new_tier"  # type: ignore[index]
    assert stored["rules"][0]["action"]["per"] == "whole_unit"  # type: ignore[index]
    assert ProgramDefinition.model_validate(stored).as_json() == stored


def test_the_schema_says_what_unit_each_tier_metric_is_in() -> None:
    schema = ProgramDefinition.model_json_schema()
    threshold = schema["$defs"]["Tier"]["properties"]["threshold"]["description"]
    assert "minor units" in threshold
    assert "cents" in threshold
    expiry = schema["$defs"]["PointsPolicy"]["properties"]["expiry"]["description"]
    assert "2024-01-10 + 24 months = 2026-01-10" in expiry
    assert "per" in schema["$defs"]["PointsPerUnit"]["properties"]
