"""Program definitions as the API receives them (JSON): what is rejected, where, and why; and
that a valid definition survives a round trip through JSON unchanged."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition, points_per_currency_unit
from lealtad.rules.earn_rule import Cap, EarnRule, FixedPoints, Multiplier, PointsPerUnit, Stamps

Json = dict[str, Any]

FULL: Json = {
    "name": "Café Lealtad",
    "points": {
        "expiry": "end_of_quarter",
        "pending_days": 7,
        "value_per_point": "0.5",
    },
    "cashback": {"redemption_minimum": 1000},
    "stamp_cards": [
        {"id": "coffee", "name": "Coffee card", "stamps_required": 9, "reward": "free-coffee"}
    ],
    "tiers": {
        "metric": "spend",
        "window": {"kind": "calendar", "period": "year"},
        "grace_days": 60,
        "levels": [
            {"id": "green", "name": "Green", "threshold": "0"},
            {"id": "gold", "name": "Gold", "threshold": "50000", "multiplier": "1.5"},
            {
                "id": "black",
                "name": "Black",
                "threshold": "200000",
                "multiplier": "2",
                "perks": ["free refills"],
            },
        ],
    },
    "rules": [
        {
            "id": "base",
            "name": "A point per euro",
            "action": {"type": "points_per_unit", "rate": "1", "rounding": "half_up"},
            "caps": [{"period": "day", "max_units": 500}, {"period": "month", "max_units": 5000}],
            "priority": 10,
        },
        {
            "id": "beans",
            "name": "Beans by weight",
            "conditions": {
                "items": {"categories": ["beans"], "tags": ["organic"], "min_quantity": "0.5"}
            },
            "action": {"type": "points_per_unit", "rate": "2.5", "per_item": True},
        },
        {
            "id": "stamp",
            "name": "A stamp per coffee",
            "conditions": {"items": {"skus": ["esp-1", "lat-1"]}},
            "action": {"type": "stamps", "card": "coffee", "per_item": True},
        },
        {
            "id": "happy-hour",
            "name": "Happy hour",
            "conditions": {
                "time_window": {"start": "22:00:00", "end": "02:00:00"},
                "weekdays": [4, 5],
                "locations": [1, 2],
                "channels": ["counter"],
            },
            "action": {"type": "multiplier", "factor": "2"},
        },
        {
            "id": "summer",
            "name": "Summer cashback",
            "conditions": {
                "date_range": {"start": "2026-06-21", "end": "2026-09-22"},
                "min_amount": 2000,
                "tiers": ["gold", "black"],
            },
            "action": {"type": "cashback_percent", "percent": "2.5", "rounding": "ceil"},
            "budget": 1_000_000,
            "stacking": "exclusive",
        },
        {
            "id": "b2b",
            "name": "Trade cashback",
            "conditions": {"tags": ["trade"], "segments": ["wholesale"]},
            "action": {"type": "cashback_fixed", "amount": 500, "per": 10000},
            "stop_after": True,
        },
        {
            "id": "welcome",
            "name": "Welcome coffee",
            "trigger": "purchase",
            "conditions": {"first_purchase": True},
            "action": {"type": "instant_reward", "reward": "free-coffee"},
        },
        {
            "id": "tenth",
            "name": "Every tenth visit",
            "conditions": {"every_nth_visit": 10},
            "action": {"type": "fixed_points", "points": 100},
            "active": False,
        },
        {
            "id": "cake",
            "name": "Birthday",
            "trigger": "birthday",
            "action": {"type": "fixed_points", "points": 250},
            "caps": [{"period": "year", "max_units": 250}],
        },
        {
            "id": "friend",
            "name": "Bring a friend",
            "trigger": "referral",
            "conditions": {"referral_on": "first_purchase"},
            "action": {"type": "fixed_points", "points": 300},
            "award_to": "both",
            "caps": [{"period": "lifetime", "max_units": 3000}],
        },
        {
            "id": "app",
            "name": "App download",
            "trigger": "custom",
            "event": "app.download",
            "action": {"type": "fixed_points", "points": 50},
        },
        {
            "id": "courses",
            "name": "Training hours",
            "trigger": "training_hours",
            "action": {"type": "points_per_unit", "rate": "10"},
            "caps": [{"period": "week", "max_units": 400}],
        },
    ],
}


def with_change(change: Callable[[Json], None]) -> Json:
    data = copy.deepcopy(FULL)
    change(data)
    return data


def set_in(path: tuple[str | int, ...], value: Any) -> Callable[[Json], None]:
    def change(data: Json) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def add_rule(**rule: Any) -> Callable[[Json], None]:
    rule.setdefault("name", rule["id"])
    rule.setdefault("action", {"type": "fixed_points", "points": 1})
    return lambda data: data["rules"].append(rule)


BAD: list[tuple[str, Callable[[Json], None], tuple[str | int, ...], str]] = [
    # id, change to the full definition, where pydantic says it is wrong, what it says
    (
        "duplicate-rule-ids",
        add_rule(id="stamp", name="Again"),
        ("rules",),
        "rule ids must be unique: stamp",
    ),
    (
        "stamps-for-an-unknown-card",
        add_rule(id="tea", action={"type": "stamps", "card": "tea"}),
        (),
        "rule tea: no stamp card 'tea'",
    ),
    (
        "tier-condition-on-an-unknown-tier",
        add_rule(id="vip", conditions={"tiers": ["gold", "platinum"]}),
        (),
        "rule vip: no tier platinum",
    ),
    (
        "tier-condition-without-any-tiers",
        lambda data: data.pop("tiers"),
        (),
        "rule summer: no tier black, gold",
    ),
    (
        "tier-thresholds-falling",
        set_in(("tiers", "levels", 1, "threshold"), "300000"),
        ("tiers",),
        "tier thresholds must rise strictly, lowest tier first",
    ),
    (
        "tier-thresholds-equal",
        set_in(("tiers", "levels", 2, "threshold"), "50000"),
        ("tiers",),
        "tier thresholds must rise strictly",
    ),
    (
        "custom-trigger-without-event",
        add_rule(id="ev", trigger="custom"),
        ("rules", 12),
        "a custom trigger needs an event name",
    ),
    (
        "custom-trigger-with-a-malformed-event",
        add_rule(id="ev", trigger="custom", event="App Download"),
        ("rules", 12),
        "a custom trigger needs an event name",
    ),
    (
        "custom-event-with-a-trailing-newline",
        add_rule(id="ev", trigger="custom", event="app.download\n"),
        ("rules", 12),
        "a custom trigger needs an event name",
    ),
    (
        "event-name-on-a-non-custom-trigger",
        add_rule(id="ev", trigger="purchase", event="app.download"),
        ("rules", 12),
        "only a custom trigger takes an event name",
    ),
    (
        "award-to-referrer-on-a-purchase-rule",
        add_rule(id="ref", award_to="referrer"),
        ("rules", 12),
        "award_to referrer/both is only for referral rules",
    ),
    (
        "award-to-both-on-an-enrolment-rule",
        add_rule(id="ref", trigger="enrolment", award_to="both"),
        ("rules", 12),
        "award_to referrer/both is only for referral rules",
    ),
    (
        "referral-on-on-a-purchase-rule",
        add_rule(id="ref", conditions={"referral_on": "signup"}),
        ("rules", 12),
        "referral_on is only for referral rules",
    ),
    (
        "two-caps-with-the-same-period",
        set_in(
            ("rules", 0, "caps"),
            [{"period": "day", "max_units": 500}, {"period": "day", "max_units": 100}],
        ),
        ("rules", 0),
        "one cap per period",
    ),
    (
        "a-cap-on-a-multiplier",
        set_in(("rules", 3, "caps"), [{"period": "day", "max_units": 500}]),
        ("rules", 3),
        "a multiplier is capped through the rules it multiplies",
    ),
    (
        "a-cap-of-zero-units",
        set_in(("rules", 0, "caps", 0, "max_units"), 0),
        ("rules", 0, "caps", 0, "max_units"),
        "greater than or equal to 1",
    ),
    (
        "a-cap-per-quarter",
        set_in(("rules", 0, "caps", 0, "period"), "quarter"),
        ("rules", 0, "caps", 0, "period"),
        "Input should be 'day', 'week', 'month', 'year' or 'lifetime'",
    ),
    (
        "six-caps",
        set_in(("rules", 0, "caps"), [{"period": "day", "max_units": 1}] * 6),
        ("rules", 0, "caps"),
        "at most 5 items",
    ),
    (
        "expiry-days-without-expiry-days",
        set_in(("points", "expiry"), "days"),
        ("points",),
        "expiry_days goes with expiry 'days', and only with it",
    ),
    (
        "expiry-days-with-another-expiry",
        set_in(("points", "expiry_days"), 30),
        ("points",),
        "expiry_days goes with expiry 'days', and only with it",
    ),
    (
        "time-window-start-equals-end",
        set_in(("rules", 3, "conditions", "time_window"), {"start": "22:00", "end": "22:00"}),
        ("rules", 3, "conditions", "time_window"),
        "start and end are the same time",
    ),
    (
        "date-range-end-before-start",
        set_in(
            ("rules", 4, "conditions", "date_range"), {"start": "2026-09-22", "end": "2026-06-21"}
        ),
        ("rules", 4, "conditions", "date_range"),
        "end is before start",
    ),
    (
        "empty-item-match",
        set_in(("rules", 2, "conditions", "items"), {"min_quantity": "2"}),
        ("rules", 2, "conditions", "items"),
        "name at least one sku, category or item tag",
    ),
    (
        "item-match-of-zero-quantity",
        set_in(("rules", 2, "conditions", "items", "min_quantity"), "0"),
        ("rules", 2, "conditions", "items", "min_quantity"),
        "greater than 0",
    ),
    (
        "negative-rate",
        set_in(("rules", 0, "action", "rate"), "-1"),
        ("rules", 0, "action", "points_per_unit", "rate"),
        "greater than 0",
    ),
    (
        "multiplier-of-one",
        set_in(("rules", 3, "action", "factor"), "1"),
        ("rules", 3, "action", "multiplier", "factor"),
        "greater than 1",
    ),
    (
        "cashback-of-zero-percent",
        set_in(("rules", 4, "action", "percent"), "0"),
        ("rules", 4, "action", "cashback_percent", "percent"),
        "greater than 0",
    ),
    (
        "unknown-action-type",
        set_in(("rules", 0, "action"), {"type": "double_points", "rate": "2"}),
        ("rules", 0, "action"),
        "Input tag 'double_points' found using 'type' does not match any of the expected tags",
    ),
    (
        "action-without-a-type",
        set_in(("rules", 0, "action"), {"rate": "2"}),
        ("rules", 0, "action"),
        "Unable to extract tag using discriminator 'type'",
    ),
    (
        "unknown-trigger",
        set_in(("rules", 0, "trigger"), "visit"),
        ("rules", 0, "trigger"),
        "Input should be 'purchase', 'refund'",
    ),
    (
        "weekday-out-of-range",
        set_in(("rules", 3, "conditions", "weekdays"), [7]),
        ("rules", 3, "conditions", "weekdays", 0),
        "less than or equal to 6",
    ),
    (
        "every-first-visit",
        set_in(("rules", 7, "conditions", "every_nth_visit"), 1),
        ("rules", 7, "conditions", "every_nth_visit"),
        "greater than or equal to 2",
    ),
    (
        "rule-id-not-a-slug",
        set_in(("rules", 0, "id"), "Base Rule"),
        ("rules", 0, "id"),
        "String should match pattern",
    ),
    (
        "misspelt-field",
        set_in(("rules", 0, "priorty"), 5),
        ("rules", 0, "priorty"),
        "Extra inputs are not permitted",
    ),
    (
        "duplicate-stamp-card-ids",
        lambda data: data["stamp_cards"].append(dict(data["stamp_cards"][0])),
        (),
        "stamp card ids must be unique",
    ),
    (
        "duplicate-tier-ids",
        set_in(("tiers", "levels", 2, "id"), "gold"),
        (),
        "tier ids must be unique",
    ),
    (
        "custom-tier-metric-without-event",
        set_in(("tiers", "metric"), "custom"),
        ("tiers",),
        "a custom tier metric names its event",
    ),
]


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_an_invalid_definition_is_rejected_naming_the_field_and_the_reason(
    change: Callable[[Json], None], loc: tuple[str | int, ...], message: str
) -> None:
    data = with_change(change)
    with pytest.raises(ValidationError) as caught:
        ProgramDefinition.model_validate(data)
    errors = caught.value.errors()
    assert [(e["loc"], message in e["msg"]) for e in errors] == [(loc, True)], errors
    assert message in str(caught.value)


def test_the_full_definition_used_for_the_invalid_cases_is_itself_valid() -> None:
    program = ProgramDefinition.model_validate(FULL)
    assert [r.id for r in program.rules] == [r["id"] for r in FULL["rules"]]


def test_a_valid_full_definition_round_trips_through_json_unchanged() -> None:
    program = ProgramDefinition.model_validate(FULL)
    as_json = program.as_json()

    again = ProgramDefinition.model_validate(as_json)
    assert again == program
    assert again.as_json() == as_json
    # and through actual JSON text, as it is stored
    assert ProgramDefinition.model_validate(json.loads(json.dumps(as_json))) == program


def test_a_round_trip_keeps_every_detail_of_the_definition() -> None:
    program = ProgramDefinition.model_validate(FULL)
    as_json = program.as_json()

    assert as_json["points"]["value_per_point"] == "0.5"
    assert as_json["rules"][0]["caps"] == [
        {"period": "day", "max_units": 500},
        {"period": "month", "max_units": 5000},
    ]
    assert as_json["rules"][3]["conditions"]["time_window"] == {
        "start": "22:00:00",
        "end": "02:00:00",
    }
    assert as_json["rules"][4]["conditions"]["date_range"] == {
        "start": "2026-06-21",
        "end": "2026-09-22",
    }
    assert as_json["rules"][1]["action"] == {
        "type": "points_per_unit",
        "rate": "2.5",
        "rounding": "floor",
        "per_item": True,
    }
    assert as_json["tiers"]["levels"][1]["multiplier"] == "1.5"
    assert {r["action"]["type"] for r in as_json["rules"]} == {
        "points_per_unit",
        "fixed_points",
        "multiplier",
        "stamps",
        "cashback_percent",
        "cashback_fixed",
        "instant_reward",
    }


def test_a_valid_full_definition_compiles() -> None:
    compiled = compile_program(ProgramDefinition.model_validate(FULL), version=3)
    assert compiled.version == 3
    assert set(compiled.walks) == {
        "purchase",
        "birthday",
        "referral",
        "custom:app.download",
        "training_hours",
    }
    assert compiled.tier_multipliers == {"gold": (3, 2), "black": (2, 1)}


def test_a_definition_is_frozen() -> None:
    program = ProgramDefinition.model_validate(FULL)
    with pytest.raises(ValidationError, match="frozen"):
        program.name = "Other"  # type: ignore[misc]


# --- caps and other pieces built in Python ------------------------------------------------------


@pytest.mark.parametrize("period", ["day", "week", "month", "year", "lifetime"])
def test_a_cap_takes_each_cap_period(period: str) -> None:
    assert Cap.model_validate({"period": period, "max_units": 1}).period == period


@pytest.mark.parametrize(
    ("data", "loc", "message"),
    [
        ({"period": "day", "max_units": 0}, ("max_units",), "greater than or equal to 1"),
        ({"period": "day", "max_units": -5}, ("max_units",), "greater than or equal to 1"),
        ({"period": "day", "max_units": 10**9 + 1}, ("max_units",), "less than or equal to"),
        ({"period": "hour", "max_units": 1}, ("period",), "Input should be 'day'"),
        ({"period": "day"}, ("max_units",), "Field required"),
    ],
)
def test_a_cap_is_rejected_unless_it_has_a_known_period_and_a_positive_maximum(
    data: Json, loc: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        Cap.model_validate(data)
    assert [(e["loc"], message in e["msg"]) for e in caught.value.errors()] == [(loc, True)]


def test_a_rule_takes_one_cap_per_period_up_to_five() -> None:
    caps = [Cap(period=p, max_units=10) for p in ("day", "week", "month", "year", "lifetime")]
    rule = EarnRule(id="r", name="R", action=FixedPoints(points=1), caps=caps)
    assert [c.period for c in rule.caps] == ["day", "week", "month", "year", "lifetime"]


def test_a_multiplier_rule_without_caps_is_valid() -> None:
    rule = EarnRule(id="x", name="X", action=Multiplier(factor=Decimal("1.25")))
    assert rule.caps == []


def test_a_referral_rule_may_award_the_referrer() -> None:
    rule = EarnRule(
        id="ref", name="Ref", trigger="referral", award_to="referrer", action=FixedPoints(points=1)
    )
    assert rule.award_to == "referrer"


def test_a_zero_rate_is_refused_as_a_rule_that_could_never_award() -> None:
    with pytest.raises(ValidationError, match="greater than 0"):
        PointsPerUnit(rate=Decimal(0))


def test_stamps_must_name_a_card_of_the_program() -> None:
    rule = EarnRule(id="s", name="S", action=Stamps(card="coffee"))
    with pytest.raises(ValidationError, match="rule s: no stamp card 'coffee'"):
        ProgramDefinition(rules=[rule])


def test_the_simplest_program_gives_points_per_currency_unit() -> None:
    program = points_per_currency_unit(Decimal(2), "ceil")
    assert [(r.id, r.trigger, r.action) for r in program.rules] == [
        ("base", "purchase", PointsPerUnit(rate=Decimal(2), rounding="ceil"))
    ]
