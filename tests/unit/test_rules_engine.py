"""The pure evaluator: compile_program(definition).evaluate(facts, member) -> awards.

Caps and budgets are trimmed later by the database layer (rules.apply), so nothing here
evaluates a cap; their validation is in test_program_definition."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition, StampCard, Tier, TierPolicy
from lealtad.rules.earn_rule import (
    TRIGGERS,
    Action,
    CashbackFixed,
    CashbackPercent,
    Conditions,
    DateRange,
    EarnRule,
    FixedPoints,
    InstantReward,
    ItemMatch,
    Multiplier,
    PointsPerUnit,
    Stamps,
    TimeWindow,
)
from lealtad.rules.facts import Award, Facts, Item, MemberContext

MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
WEDNESDAY_NOON = datetime(2026, 6, 10, 12, 0, tzinfo=UTC)  # a Wednesday, UTC
MEMBER = MemberContext(member_id=1)

TIERS = TierPolicy(
    levels=[
        Tier(id="silver", name="Silver", threshold=Decimal(0)),
        Tier(id="gold", name="Gold", threshold=Decimal(1000), multiplier=Decimal("1.5")),
        Tier(id="black", name="Black", threshold=Decimal(5000), multiplier=Decimal(2)),
    ]
)
CARDS = [StampCard(id="coffee", name="Coffee card", stamps_required=10, reward="free-coffee")]


def make_rule(action: Action | None = None, **fields: Any) -> EarnRule:
    fields.setdefault("id", "r")
    fields.setdefault("name", fields["id"])
    return EarnRule(action=action or FixedPoints(points=10), **fields)


def evaluate(
    rules: list[EarnRule], facts: Facts, member: MemberContext = MEMBER, **program: Any
) -> list[Award]:
    program.setdefault("tiers", TIERS)
    program.setdefault("stamp_cards", CARDS)
    definition = ProgramDefinition(rules=rules, **program)
    return compile_program(definition).evaluate(facts, member)


def purchase(**fields: Any) -> Facts:
    fields.setdefault("trigger", "purchase")
    fields.setdefault("occurred_at", WEDNESDAY_NOON)
    fields.setdefault("amount", 10_000)
    return Facts(**fields)


def fired(awards: list[Award]) -> list[str]:
    return [a.rule_id for a in awards]


def item(
    sku: str,
    quantity: str | int = 1,
    unit_price: int = 100,
    category: str | None = None,
    tags: frozenset[str] = frozenset(),
) -> Item:
    return Item(sku, Decimal(quantity), unit_price, category, tags)


# --- triggers ----------------------------------------------------------------------------------

NAMED_TRIGGERS = [t for t in TRIGGERS if t != "custom"]


def test_every_trigger_but_custom_is_covered_here() -> None:
    assert set(NAMED_TRIGGERS) | {"custom"} == set(TRIGGERS)
    assert len(NAMED_TRIGGERS) == 10


@pytest.mark.parametrize("trigger", NAMED_TRIGGERS)
def test_a_rule_fires_on_its_own_trigger_and_on_no_other(trigger: str) -> None:
    rules = [make_rule(id=t.replace("_", "-"), trigger=t) for t in NAMED_TRIGGERS]
    rules.append(make_rule(id="custom", trigger="custom", event="app.download"))

    awards = evaluate(rules, purchase(trigger=trigger))

    assert [(a.rule_id, a.unit, a.amount) for a in awards] == [
        (trigger.replace("_", "-"), "points", 10)
    ]


@pytest.mark.parametrize(
    ("trigger", "event", "expected"),
    [
        ("custom", "app.download", ["download"]),
        ("custom", "app.rating", ["rating"]),
        ("custom", "app.other", []),
        ("custom", None, []),
        ("purchase", "app.download", []),
        ("enrolment", "app.download", []),
    ],
)
def test_a_custom_rule_fires_only_for_its_event_name(
    trigger: str, event: str | None, expected: list[str]
) -> None:
    rules = [
        make_rule(id="download", trigger="custom", event="app.download"),
        make_rule(id="rating", trigger="custom", event="app.rating"),
    ]
    assert fired(evaluate(rules, purchase(trigger=trigger, event=event))) == expected


def test_a_program_without_rules_for_the_trigger_awards_nothing_even_to_a_multiplied_tier() -> None:
    rules = [make_rule(trigger="birthday")]
    assert evaluate(rules, purchase(), MemberContext(member_id=1, tier="black")) == []


# --- conditions --------------------------------------------------------------------------------

COFFEE = item("esp-1", 2, 250, "coffee", frozenset({"hot"}))
PASTRY = item("croissant", 1, 300, "bakery", frozenset({"vegan"}))

CONDITION_CASES: list[tuple[str, Conditions, dict[str, Any], dict[str, Any], bool]] = [
    # id, conditions, facts fields, member fields, matches
    ("min_amount-reached", Conditions(min_amount=5000), {"amount": 5000}, {}, True),
    ("min_amount-short", Conditions(min_amount=5000), {"amount": 4999}, {}, False),
    ("min_amount-zero-allows-all", Conditions(min_amount=0), {"amount": 0}, {}, True),
    (
        "items-by-sku",
        Conditions(items=ItemMatch(skus=["esp-1"])),
        {"items": (COFFEE, PASTRY)},
        {},
        True,
    ),
    (
        "items-by-sku-absent",
        Conditions(items=ItemMatch(skus=["esp-2"])),
        {"items": (COFFEE, PASTRY)},
        {},
        False,
    ),
    (
        "items-by-category",
        Conditions(items=ItemMatch(categories=["bakery"])),
        {"items": (COFFEE, PASTRY)},
        {},
        True,
    ),
    (
        "items-by-category-absent",
        Conditions(items=ItemMatch(categories=["tea"])),
        {"items": (COFFEE, PASTRY)},
        {},
        False,
    ),
    (
        "items-by-item-tag",
        Conditions(items=ItemMatch(tags=["vegan"])),
        {"items": (COFFEE, PASTRY)},
        {},
        True,
    ),
    (
        "items-by-item-tag-absent",
        Conditions(items=ItemMatch(tags=["gluten-free"])),
        {"items": (COFFEE, PASTRY)},
        {},
        False,
    ),
    (
        "items-no-items-at-all",
        Conditions(items=ItemMatch(categories=["coffee"])),
        {"items": ()},
        {},
        False,
    ),
    (
        "items-min-quantity-reached-across-lines",
        Conditions(items=ItemMatch(categories=["coffee", "bakery"], min_quantity=Decimal(3))),
        {"items": (COFFEE, PASTRY)},
        {},
        True,
    ),
    (
        "items-min-quantity-counts-only-matching-items",
        Conditions(items=ItemMatch(categories=["coffee"], min_quantity=Decimal(3))),
        {"items": (COFFEE, PASTRY)},
        {},
        False,
    ),
    (
        "items-min-quantity-fractional",
        Conditions(items=ItemMatch(skus=["beans"], min_quantity=Decimal("0.5"))),
        {"items": (item("beans", "0.5"),)},
        {},
        True,
    ),
    ("locations-listed", Conditions(locations=[1, 2]), {"location_id": 2}, {}, True),
    ("locations-other", Conditions(locations=[1, 2]), {"location_id": 3}, {}, False),
    ("locations-none-given", Conditions(locations=[1, 2]), {"location_id": None}, {}, False),
    ("channels-listed", Conditions(channels=["counter"]), {"channel": "counter"}, {}, True),
    ("channels-other", Conditions(channels=["counter"]), {"channel": "online"}, {}, False),
    ("weekdays-wednesday", Conditions(weekdays=[2]), {}, {}, True),
    ("weekdays-weekend-only", Conditions(weekdays=[5, 6]), {}, {}, False),
    (
        "time-window-start-inclusive",
        Conditions(time_window=TimeWindow(start=time(12), end=time(14))),
        {},
        {},
        True,
    ),
    (
        "time-window-end-exclusive",
        Conditions(time_window=TimeWindow(start=time(10), end=time(12))),
        {},
        {},
        False,
    ),
    (
        "time-window-inside",
        Conditions(time_window=TimeWindow(start=time(11, 59), end=time(12, 1))),
        {},
        {},
        True,
    ),
    (
        "time-window-before",
        Conditions(time_window=TimeWindow(start=time(12, 0, 1), end=time(14))),
        {},
        {},
        False,
    ),
    (
        "time-window-midnight-late-evening",
        Conditions(time_window=TimeWindow(start=time(22), end=time(2))),
        {"occurred_at": datetime(2026, 6, 10, 23, 15, tzinfo=UTC)},
        {},
        True,
    ),
    (
        "time-window-midnight-at-start",
        Conditions(time_window=TimeWindow(start=time(22), end=time(2))),
        {"occurred_at": datetime(2026, 6, 10, 22, 0, tzinfo=UTC)},
        {},
        True,
    ),
    (
        "time-window-midnight-small-hours",
        Conditions(time_window=TimeWindow(start=time(22), end=time(2))),
        {"occurred_at": datetime(2026, 6, 11, 1, 59, 59, tzinfo=UTC)},
        {},
        True,
    ),
    (
        "time-window-midnight-at-end",
        Conditions(time_window=TimeWindow(start=time(22), end=time(2))),
        {"occurred_at": datetime(2026, 6, 11, 2, 0, tzinfo=UTC)},
        {},
        False,
    ),
    (
        "time-window-midnight-daytime",
        Conditions(time_window=TimeWindow(start=time(22), end=time(2))),
        {},
        {},
        False,
    ),
    (
        "date-range-start-only-on-start",
        Conditions(date_range=DateRange(start=date(2026, 6, 10))),
        {},
        {},
        True,
    ),
    (
        "date-range-start-only-before",
        Conditions(date_range=DateRange(start=date(2026, 6, 11))),
        {},
        {},
        False,
    ),
    (
        "date-range-end-only-on-end",
        Conditions(date_range=DateRange(end=date(2026, 6, 10))),
        {},
        {},
        True,
    ),
    (
        "date-range-end-only-after",
        Conditions(date_range=DateRange(end=date(2026, 6, 9))),
        {},
        {},
        False,
    ),
    (
        "date-range-both-inside",
        Conditions(date_range=DateRange(start=date(2026, 6, 1), end=date(2026, 6, 30))),
        {},
        {},
        True,
    ),
    (
        "date-range-both-single-day",
        Conditions(date_range=DateRange(start=date(2026, 6, 10), end=date(2026, 6, 10))),
        {"occurred_at": datetime(2026, 6, 10, 23, 59, 59, tzinfo=UTC)},
        {},
        True,
    ),
    (
        "date-range-both-after",
        Conditions(date_range=DateRange(start=date(2026, 5, 1), end=date(2026, 5, 31))),
        {},
        {},
        False,
    ),
    ("tiers-member-in-tier", Conditions(tiers=["silver", "black"]), {}, {"tier": "silver"}, True),
    ("tiers-member-in-other", Conditions(tiers=["silver", "black"]), {}, {"tier": "gold"}, False),
    ("tiers-member-without-tier", Conditions(tiers=["gold"]), {}, {"tier": None}, False),
    ("tags-any-listed", Conditions(tags=["vip", "staff"]), {}, {"tags": frozenset({"vip"})}, True),
    ("tags-none-listed", Conditions(tags=["vip"]), {}, {"tags": frozenset({"staff"})}, False),
    (
        "tags-rule-tag-is-lowercased",
        Conditions(tags=["VIP"]),
        {},
        {"tags": frozenset({"vip"})},
        True,
    ),
    (
        "segments-listed",
        Conditions(segments=["lapsed"]),
        {},
        {"segments": frozenset({"lapsed"})},
        True,
    ),
    (
        "segments-other",
        Conditions(segments=["lapsed"]),
        {},
        {"segments": frozenset({"new"})},
        False,
    ),
    ("first-purchase-first", Conditions(first_purchase=True), {}, {"visits_before": 0}, True),
    ("first-purchase-later", Conditions(first_purchase=True), {}, {"visits_before": 1}, False),
    ("every-3rd-visit-3rd", Conditions(every_nth_visit=3), {}, {"visits_before": 2}, True),
    ("every-3rd-visit-6th", Conditions(every_nth_visit=3), {}, {"visits_before": 5}, True),
    ("every-3rd-visit-1st", Conditions(every_nth_visit=3), {}, {"visits_before": 0}, False),
    ("every-3rd-visit-4th", Conditions(every_nth_visit=3), {}, {"visits_before": 3}, False),
]


@pytest.mark.parametrize(
    ("conditions", "facts_fields", "member_fields", "matches"),
    [case[1:] for case in CONDITION_CASES],
    ids=[case[0] for case in CONDITION_CASES],
)
def test_a_rule_fires_exactly_when_its_condition_holds(
    conditions: Conditions,
    facts_fields: dict[str, Any],
    member_fields: dict[str, Any],
    matches: bool,
) -> None:
    member = replace(MEMBER, **member_fields)
    awards = evaluate([make_rule(conditions=conditions)], purchase(**facts_fields), member)
    assert fired(awards) == (["r"] if matches else [])


def test_a_rule_without_conditions_fires_on_every_transaction_of_its_trigger() -> None:
    assert fired(evaluate([make_rule()], purchase(amount=0, channel="online"))) == ["r"]


def test_all_conditions_of_a_rule_must_hold_together() -> None:
    conditions = Conditions(min_amount=5000, channels=["counter"], tiers=["silver"])
    rules = [make_rule(conditions=conditions)]
    silver = replace(MEMBER, tier="silver")

    assert fired(evaluate(rules, purchase(amount=5000, channel="counter"), silver)) == ["r"]
    assert fired(evaluate(rules, purchase(amount=4999, channel="counter"), silver)) == []
    assert fired(evaluate(rules, purchase(amount=5000, channel="online"), silver)) == []
    assert fired(evaluate(rules, purchase(amount=5000, channel="counter"), MEMBER)) == []


@pytest.mark.parametrize(
    ("referral_on", "stage", "matches"),
    [
        ("signup", "signup", True),
        ("signup", "first_purchase", False),
        ("signup", "purchase", False),
        ("first_purchase", "signup", False),
        ("first_purchase", "first_purchase", True),
        ("first_purchase", "purchase", False),
        ("every_purchase", "signup", False),
        ("every_purchase", "first_purchase", True),
        ("every_purchase", "purchase", True),
        (None, "signup", True),
        (None, "purchase", True),
    ],
)
def test_a_referral_rule_fires_only_at_its_referral_stage(
    referral_on: str | None, stage: str, matches: bool
) -> None:
    rule = make_rule(trigger="referral", conditions=Conditions(referral_on=referral_on))
    awards = evaluate([rule], purchase(trigger="referral", referral_stage=stage))
    assert fired(awards) == (["r"] if matches else [])


# --- actions: points per unit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rate", "amount", "floor", "half_up", "ceil"),
    [
        ("1", 1900, 19, 19, 19),  # whole units: every mode agrees
        ("1", 1949, 19, 19, 20),  # 19.49
        ("1", 1950, 19, 20, 20),  # 19.50: half rounds up
        ("1", 1999, 19, 20, 20),  # 19.99
        ("1.5", 1001, 15, 15, 16),  # 15.015
        ("0.1", 1250, 1, 1, 2),  # 1.25
        ("0.1", 1500, 1, 2, 2),  # 1.5
        ("2.5", 1, 0, 0, 1),  # 0.025: only ceil gives anything
    ],
)
def test_points_per_unit_rounds_each_way(
    rate: str, amount: int, floor: int, half_up: int, ceil: int
) -> None:
    for mode, expected in (("floor", floor), ("half_up", half_up), ("ceil", ceil)):
        action = PointsPerUnit(rate=Decimal(rate), rounding=mode)
        awards = evaluate([make_rule(action)], purchase(amount=amount))
        assert [a.amount for a in awards] == ([expected] if expected else []), mode
        assert all(a.unit == "points" for a in awards)


@pytest.mark.parametrize(
    ("amount", "exponent", "rate", "expected"),
    [
        (1234, 0, "1", 1234),  # JPY: no minor units
        (1234, 0, "0.01", 12),
        (1234, 2, "1", 12),  # EUR, MXN
        (12345, 3, "1", 12),  # KWD: three decimals
        (12345, 3, "10", 123),
    ],
)
def test_points_per_unit_count_major_units_of_the_currency(
    amount: int, exponent: int, rate: str, expected: int
) -> None:
    action = PointsPerUnit(rate=Decimal(rate))
    awards = evaluate([make_rule(action)], purchase(amount=amount, exponent=exponent))
    assert [a.amount for a in awards] == [expected]


def test_points_per_unit_on_a_zero_amount_award_nothing() -> None:
    assert evaluate([make_rule(PointsPerUnit(rate=Decimal(10)))], purchase(amount=0)) == []


@pytest.mark.parametrize(
    ("per_item", "expected"),
    [(True, 5), (False, 13)],
)
def test_points_per_unit_per_item_count_only_the_matching_items_value(
    per_item: bool, expected: int
) -> None:
    # 2 coffees at 2.50 = 5.00 of a 13.00 ticket (with a 3.00 pastry and 5.00 of other lines)
    rule = make_rule(
        PointsPerUnit(rate=Decimal(1), per_item=per_item),
        conditions=Conditions(items=ItemMatch(categories=["coffee"])),
    )
    awards = evaluate([rule], purchase(amount=1300, items=(COFFEE, PASTRY)))
    assert [a.amount for a in awards] == [expected]


def test_points_per_unit_per_item_count_fractional_quantities_by_their_total() -> None:
    beans = item("beans", "0.75", 2000, "beans")  # 0.75 kg at 20.00 = 15.00
    rule = make_rule(
        PointsPerUnit(rate=Decimal(2), per_item=True),
        conditions=Conditions(items=ItemMatch(categories=["beans"], min_quantity=Decimal("0.5"))),
    )
    awards = evaluate([rule], purchase(amount=5000, items=(beans,)))
    assert [a.amount for a in awards] == [30]


@pytest.mark.parametrize(
    ("hours", "rate", "rounding", "expected"),
    [
        ("2.5", "10", "floor", 25),
        ("2.5", "1", "floor", 2),
        ("2.5", "1", "half_up", 3),
        ("2.5", "1", "ceil", 3),
        ("2.25", "1", "half_up", 2),
        ("0.5", "3", "floor", 1),
    ],
)
def test_points_per_unit_on_an_event_count_its_value(
    hours: str, rate: str, rounding: str, expected: int
) -> None:
    rule = make_rule(PointsPerUnit(rate=Decimal(rate), rounding=rounding), trigger="training_hours")
    # amount is ignored for events: only the value counts
    facts = purchase(trigger="training_hours", value=Decimal(hours), amount=999_999)
    assert [a.amount for a in evaluate([rule], facts)] == [expected]


def test_points_per_unit_on_a_custom_event_count_its_value() -> None:
    rule = make_rule(PointsPerUnit(rate=Decimal(1)), trigger="custom", event="steps.walked")
    facts = purchase(trigger="custom", event="steps.walked", value=Decimal(8000), amount=0)
    assert [a.amount for a in evaluate([rule], facts)] == [8000]


def test_points_per_unit_on_a_refund_count_the_refunded_amount() -> None:
    rule = make_rule(PointsPerUnit(rate=Decimal(1)), trigger="refund")
    assert [a.amount for a in evaluate([rule], purchase(trigger="refund", amount=2550))] == [25]


# --- actions: fixed points, multipliers ----------------------------------------------------------


def test_fixed_points_award_the_same_points_whatever_the_amount() -> None:
    rule = make_rule(FixedPoints(points=50))
    for amount in (0, 1, 1_000_000):
        awards = evaluate([rule], purchase(amount=amount))
        assert [(a.rule_id, a.unit, a.amount, a.recipient) for a in awards] == [
            ("r", "points", 50, "member")
        ]


BASE = make_rule(PointsPerUnit(rate=Decimal(1)), id="base", priority=10)


def test_a_multiplier_adds_its_extra_share_of_the_points_as_its_own_line() -> None:
    double = make_rule(Multiplier(factor=Decimal(2)), id="double", priority=20)
    awards = evaluate([BASE, double], purchase(amount=10_000))
    assert [(a.rule_id, a.unit, a.amount) for a in awards] == [
        ("base", "points", 100),
        ("double", "points", 100),
    ]


def test_a_multiplier_multiplies_points_of_rules_after_it_too() -> None:
    double = make_rule(Multiplier(factor=Decimal(2)), id="double", priority=1)
    awards = evaluate([double, BASE], purchase(amount=10_000))
    assert [(a.rule_id, a.amount) for a in awards] == [("base", 100), ("double", 100)]


def test_a_multiplier_alone_gives_nothing() -> None:
    double = make_rule(Multiplier(factor=Decimal(2)), id="double")
    assert evaluate([double], purchase(amount=10_000)) == []


def test_a_multiplier_that_does_not_match_gives_nothing() -> None:
    double = make_rule(
        Multiplier(factor=Decimal(2)), id="double", conditions=Conditions(channels=["online"])
    )
    awards = evaluate([BASE, double], purchase(amount=10_000, channel="counter"))
    assert fired(awards) == ["base"]


def test_the_members_tier_multiplier_adds_its_extra_share() -> None:
    gold = replace(MEMBER, tier="gold")
    awards = evaluate([BASE], purchase(amount=10_000), gold)
    assert [(a.rule_id, a.amount) for a in awards] == [("base", 100), ("tier:gold", 50)]
    assert awards[1].reason == "Gold tier: x1.5 points"


def test_a_tier_without_a_multiplier_adds_nothing() -> None:
    awards = evaluate([BASE], purchase(amount=10_000), replace(MEMBER, tier="silver"))
    assert fired(awards) == ["base"]


def test_a_rule_multiplier_and_the_tier_multiplier_add_up() -> None:
    double = make_rule(Multiplier(factor=Decimal(2)), id="double", priority=20)
    awards = evaluate([BASE, double], purchase(amount=10_000), replace(MEMBER, tier="gold"))
    assert [(a.rule_id, a.amount) for a in awards] == [
        ("base", 100),
        ("double", 100),
        ("tier:gold", 50),
    ]
    assert sum(a.amount for a in awards) == 250


def test_two_multipliers_add_up_rather_than_compound() -> None:
    double = make_rule(Multiplier(factor=Decimal(2)), id="double", priority=20)
    half = make_rule(Multiplier(factor=Decimal("1.5")), id="half", priority=30)
    awards = evaluate([BASE, double, half], purchase(amount=10_000))
    assert [(a.rule_id, a.amount) for a in awards] == [("base", 100), ("double", 100), ("half", 50)]
    assert sum(a.amount for a in awards) == 250  # 2.5x, not 3x


def test_a_multipliers_extra_share_is_rounded_down() -> None:
    half = make_rule(Multiplier(factor=Decimal("1.5")), id="half", priority=20)
    awards = evaluate([BASE, half], purchase(amount=1500))  # 15 points, half is 7.5
    assert [(a.rule_id, a.amount) for a in awards] == [("base", 15), ("half", 7)]


def test_a_multiplier_multiplies_the_sum_of_all_the_transactions_points() -> None:
    bonus = make_rule(FixedPoints(points=20), id="bonus", priority=15)
    double = make_rule(Multiplier(factor=Decimal(3)), id="triple", priority=20)
    awards = evaluate([BASE, bonus, double], purchase(amount=1000))
    assert [(a.rule_id, a.amount) for a in awards] == [("base", 10), ("bonus", 20), ("triple", 60)]


def test_a_multiplier_multiplies_neither_stamps_nor_cashback_nor_rewards() -> None:
    rules = [
        make_rule(Stamps(card="coffee", stamps=2), id="stamp"),
        make_rule(CashbackPercent(percent=Decimal(10)), id="back"),
        make_rule(InstantReward(reward="free-coffee"), id="gift"),
        make_rule(Multiplier(factor=Decimal(2)), id="double"),
    ]
    awards = evaluate(rules, purchase(amount=10_000), replace(MEMBER, tier="black"))
    assert [(a.rule_id, a.unit, a.amount) for a in awards] == [
        ("stamp", "stamps.coffee", 2),
        ("back", "cashback", 1000),
        ("gift", "reward.free-coffee", 1),
    ]


def test_a_rule_multiplier_multiplies_event_points_but_the_tier_multiplier_does_not() -> None:
    rules = [
        make_rule(FixedPoints(points=100), id="cake", trigger="birthday"),
        make_rule(Multiplier(factor=Decimal(2)), id="double", trigger="birthday"),
    ]
    awards = evaluate(rules, purchase(trigger="birthday"), replace(MEMBER, tier="gold"))
    # The tier's multiplier is a purchase benefit (decisions D11).
    assert [(a.rule_id, a.amount) for a in awards] == [("cake", 100), ("double", 100)]


# --- actions: stamps, cashback, instant rewards --------------------------------------------------


def test_stamps_give_the_rules_fixed_number_of_stamps_on_the_card() -> None:
    awards = evaluate([make_rule(Stamps(card="coffee", stamps=2))], purchase(amount=1))
    assert [(a.unit, a.amount) for a in awards] == [("stamps.coffee", 2)]


@pytest.mark.parametrize(
    ("items", "stamps_each", "expected"),
    [
        ((item("esp", 3, 250, "coffee"),), 1, 3),
        ((item("esp", 3, 250, "coffee"),), 2, 6),
        ((item("esp", 2, 250, "coffee"), item("lat", 1, 300, "coffee")), 1, 3),
        ((item("esp", 2, 250, "coffee"), item("bun", 4, 100, "bakery")), 1, 2),
        # a free (zero-priced) coffee, the card's own reward, earns no stamp
        ((item("esp", 1, 250, "coffee"), item("free", 1, 0, "coffee")), 1, 1),
        # fractional quantities are truncated to whole stamps
        ((item("esp", "1.5", 250, "coffee"),), 1, 1),
    ],
)
def test_stamps_per_item_give_stamps_per_matching_item(
    items: tuple[Item, ...], stamps_each: int, expected: int
) -> None:
    rule = make_rule(
        Stamps(card="coffee", stamps=stamps_each, per_item=True),
        conditions=Conditions(items=ItemMatch(categories=["coffee"])),
    )
    awards = evaluate([rule], purchase(amount=1000, items=items))
    assert [(a.unit, a.amount) for a in awards] == [("stamps.coffee", expected)]


def test_a_ticket_of_only_free_items_earns_no_stamp() -> None:
    rule = make_rule(
        Stamps(card="coffee", stamps=1, per_item=True),
        conditions=Conditions(items=ItemMatch(categories=["coffee"])),
    )
    assert evaluate([rule], purchase(amount=0, items=(item("free", 2, 0, "coffee"),))) == []


def test_per_item_without_an_items_condition_is_refused() -> None:
    with pytest.raises(ValidationError, match="per_item needs an items condition"):
        make_rule(Stamps(card="coffee", stamps=1, per_item=True))


@pytest.mark.parametrize(
    ("percent", "amount", "rounding", "expected"),
    [
        ("5", 10_000, "floor", 500),
        ("5", 1999, "floor", 99),  # 99.95
        ("5", 1999, "half_up", 100),
        ("5", 1999, "ceil", 100),
        ("5", 1990, "half_up", 100),  # 99.5 rounds up
        ("5", 1989, "half_up", 99),  # 99.45
        ("2.5", 1001, "floor", 25),  # 25.025
        ("2.5", 1001, "ceil", 26),
        ("1", 99, "floor", 0),
        ("1", 99, "ceil", 1),
    ],
)
def test_cashback_percent_is_a_share_of_the_amount_in_minor_units_rounded(
    percent: str, amount: int, rounding: str, expected: int
) -> None:
    rule = make_rule(CashbackPercent(percent=Decimal(percent), rounding=rounding))
    awards = evaluate([rule], purchase(amount=amount))
    assert [(a.unit, a.amount) for a in awards] == ([("cashback", expected)] if expected else [])


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(9_999, 0), (10_000, 500), (19_999, 500), (20_000, 1000), (25_000, 1000)],
)
def test_cashback_fixed_gives_its_amount_per_full_step_spent(amount: int, expected: int) -> None:
    rule = make_rule(CashbackFixed(amount=500, per=10_000))
    awards = evaluate([rule], purchase(amount=amount))
    assert [(a.unit, a.amount) for a in awards] == ([("cashback", expected)] if expected else [])


@pytest.mark.parametrize("quantity", [1, 3])
def test_an_instant_reward_is_a_reward_unit_named_by_its_slug(quantity: int) -> None:
    rule = make_rule(InstantReward(reward="free-coffee", quantity=quantity))
    awards = evaluate([rule], purchase())
    assert [(a.unit, a.amount) for a in awards] == [("reward.free-coffee", quantity)]


def test_an_award_names_its_rule_and_why() -> None:
    rule = make_rule(PointsPerUnit(rate=Decimal(2)), id="base", name="Two per euro")
    (award,) = evaluate([rule], purchase(amount=1000))
    assert award == Award("base", "points", 20, "Two per euro: 2 points per unit", "member")


@pytest.mark.parametrize(
    ("award_to", "recipients"),
    [
        ("member", ["member"]),
        ("referrer", ["referrer"]),
        ("both", ["member", "referrer"]),
    ],
)
def test_a_referral_rule_awards_the_member_the_referrer_or_both(
    award_to: str, recipients: list[str]
) -> None:
    rule = make_rule(FixedPoints(points=500), trigger="referral", award_to=award_to)
    awards = evaluate([rule], purchase(trigger="referral", referral_stage="signup"))
    assert [a.recipient for a in awards] == recipients
    assert {(a.rule_id, a.unit, a.amount) for a in awards} == {("r", "points", 500)}


def test_a_multiplier_on_a_referral_multiplies_only_the_members_points() -> None:
    rules = [
        make_rule(FixedPoints(points=100), id="both", trigger="referral", award_to="both"),
        make_rule(Multiplier(factor=Decimal(2)), id="double", trigger="referral"),
    ]
    awards = evaluate(rules, purchase(trigger="referral", referral_stage="signup"))
    assert [(a.rule_id, a.amount, a.recipient) for a in awards] == [
        ("both", 100, "member"),
        ("both", 100, "referrer"),
        ("double", 100, "member"),
    ]


# --- stacking ----------------------------------------------------------------------------------


def test_rules_apply_by_priority_lowest_first_then_by_position() -> None:
    rules = [
        make_rule(id="c", priority=300),
        make_rule(id="a2", priority=5),
        make_rule(id="b", priority=100),
        make_rule(id="a1", priority=5),
    ]
    # equal priority keeps the listed order: a2 was listed before a1
    assert fired(evaluate(rules, purchase())) == ["a2", "a1", "b", "c"]


def test_an_exclusive_rule_that_matches_first_applies_alone() -> None:
    rules = [
        make_rule(id="later", priority=20),
        make_rule(id="solo", priority=10, stacking="exclusive"),
        make_rule(Multiplier(factor=Decimal(2)), id="double", priority=30),
    ]
    assert fired(evaluate(rules, purchase())) == ["solo"]


def test_an_exclusive_rule_after_a_stackable_match_is_skipped() -> None:
    rules = [
        make_rule(id="first", priority=10),
        make_rule(id="solo", priority=20, stacking="exclusive"),
        make_rule(id="third", priority=30),
    ]
    assert fired(evaluate(rules, purchase())) == ["first", "third"]


def test_an_exclusive_rule_after_a_matching_multiplier_is_skipped() -> None:
    rules = [
        make_rule(Multiplier(factor=Decimal(2)), id="double", priority=10),
        make_rule(id="solo", priority=20, stacking="exclusive"),
        make_rule(id="third", priority=30),
    ]
    assert [(a.rule_id, a.amount) for a in evaluate(rules, purchase())] == [
        ("third", 10),
        ("double", 10),
    ]


def test_an_exclusive_rule_after_a_stackable_rule_that_did_not_match_still_applies() -> None:
    rules = [
        make_rule(id="online", priority=10, conditions=Conditions(channels=["online"])),
        make_rule(id="solo", priority=20, stacking="exclusive"),
        make_rule(id="third", priority=30),
    ]
    assert fired(evaluate(rules, purchase(channel="counter"))) == ["solo"]


def test_an_exclusive_rule_that_does_not_match_lets_the_walk_go_on() -> None:
    rules = [
        make_rule(
            id="solo", priority=10, stacking="exclusive", conditions=Conditions(tiers=["silver"])
        ),
        make_rule(id="second", priority=20),
    ]
    assert fired(evaluate(rules, purchase())) == ["second"]
    assert fired(evaluate(rules, purchase(), replace(MEMBER, tier="silver"))) == ["solo"]


def test_an_exclusive_rule_follows_a_matching_rule_that_awarded_nothing() -> None:
    # "Nothing matched before" means nothing was awarded: a rule whose award rounds to zero
    # does not block a later exclusive rule (reported as questionable)
    rules = [
        make_rule(PointsPerUnit(rate=Decimal(1)), id="base", priority=10),
        make_rule(id="solo", priority=20, stacking="exclusive"),
    ]
    assert fired(evaluate(rules, purchase(amount=99))) == ["solo"]


def test_the_tier_multiplier_applies_to_an_exclusive_rules_points() -> None:
    rules = [
        make_rule(PointsPerUnit(rate=Decimal(1)), id="solo", priority=10, stacking="exclusive"),
        make_rule(id="later", priority=20),
    ]
    awards = evaluate(rules, purchase(amount=10_000), replace(MEMBER, tier="black"))
    assert [(a.rule_id, a.amount) for a in awards] == [("solo", 100), ("tier:black", 100)]


def test_stop_after_ends_the_walk_once_its_rule_matches() -> None:
    rules = [
        make_rule(id="first", priority=10),
        make_rule(id="stop", priority=20, stop_after=True),
        make_rule(id="never", priority=30),
    ]
    assert fired(evaluate(rules, purchase())) == ["first", "stop"]


def test_stop_after_does_nothing_when_its_rule_does_not_match() -> None:
    rules = [
        make_rule(
            id="stop", priority=10, stop_after=True, conditions=Conditions(min_amount=50_000)
        ),
        make_rule(id="next", priority=20),
    ]
    assert fired(evaluate(rules, purchase(amount=10_000))) == ["next"]
    assert fired(evaluate(rules, purchase(amount=50_000))) == ["stop"]


def test_stop_after_does_not_stop_rules_of_other_triggers() -> None:
    rules = [
        make_rule(id="stop", priority=10, stop_after=True),
        make_rule(id="cake", priority=20, trigger="birthday"),
    ]
    assert fired(evaluate(rules, purchase(trigger="birthday"))) == ["cake"]


@pytest.mark.parametrize("stacking", ["stackable", "exclusive"])
def test_an_inactive_rule_never_fires_nor_blocks(stacking: str) -> None:
    rules = [
        make_rule(id="off", priority=1, active=False, stacking=stacking, stop_after=True),
        make_rule(id="on", priority=10),
        make_rule(Multiplier(factor=Decimal(5)), id="off-x", active=False),
    ]
    assert fired(evaluate(rules, purchase())) == ["on"]


def test_a_program_of_inactive_rules_awards_nothing() -> None:
    rules = [make_rule(id="off", active=False)]
    assert evaluate(rules, purchase(), replace(MEMBER, tier="black")) == []


# --- time zones ---------------------------------------------------------------------------------

HAPPY_HOUR = Conditions(time_window=TimeWindow(start=time(23), end=time(23, 59)))


@pytest.mark.parametrize(
    ("at", "tz", "matches"),
    [
        # 05:30 UTC is 23:30 the evening before in Mexico City (UTC-6), 07:30 in Madrid (UTC+2)
        (datetime(2026, 6, 11, 5, 30, tzinfo=UTC), MEXICO, True),
        (datetime(2026, 6, 11, 5, 30, tzinfo=UTC), MADRID, False),
        # 21:30 UTC is 23:30 in Madrid and 15:30 in Mexico City
        (datetime(2026, 6, 10, 21, 30, tzinfo=UTC), MADRID, True),
        (datetime(2026, 6, 10, 21, 30, tzinfo=UTC), MEXICO, False),
        # in winter Madrid is UTC+1: 22:30 UTC is 23:30 there
        (datetime(2026, 1, 15, 22, 30, tzinfo=UTC), MADRID, True),
        (datetime(2026, 1, 15, 21, 30, tzinfo=UTC), MADRID, False),
        # the same instant given in another zone is the same instant
        (datetime(2026, 6, 10, 23, 30, tzinfo=MADRID), MEXICO, False),
        (datetime(2026, 6, 10, 23, 30, tzinfo=MADRID), MADRID, True),
    ],
)
def test_a_happy_hour_uses_the_local_time_of_the_transactions_zone(
    at: datetime, tz: ZoneInfo, matches: bool
) -> None:
    rules = [make_rule(conditions=HAPPY_HOUR)]
    assert fired(evaluate(rules, purchase(occurred_at=at, tz=tz))) == (["r"] if matches else [])


def test_one_instant_is_happy_hour_at_one_location_and_not_at_another() -> None:
    rules = [
        make_rule(id="mx", conditions=HAPPY_HOUR.model_copy(update={"locations": [1]})),
        make_rule(id="es", conditions=HAPPY_HOUR.model_copy(update={"locations": [2]})),
    ]
    at = datetime(2026, 6, 11, 5, 30, tzinfo=UTC)
    assert fired(evaluate(rules, purchase(occurred_at=at, tz=MEXICO, location_id=1))) == ["mx"]
    assert fired(evaluate(rules, purchase(occurred_at=at, tz=MADRID, location_id=2))) == []


def test_weekday_and_date_use_the_local_date_not_the_utc_date() -> None:
    # 2026-06-11 04:00 UTC is Thursday in UTC and Madrid, still Wednesday 22:00 in Mexico City
    at = datetime(2026, 6, 11, 4, 0, tzinfo=UTC)
    wednesday = make_rule(id="wed", conditions=Conditions(weekdays=[2]))
    june_10 = make_rule(
        id="june-10",
        conditions=Conditions(date_range=DateRange(start=date(2026, 6, 10), end=date(2026, 6, 10))),
    )
    assert fired(evaluate([wednesday, june_10], purchase(occurred_at=at, tz=MEXICO))) == [
        "wed",
        "june-10",
    ]
    assert fired(evaluate([wednesday, june_10], purchase(occurred_at=at, tz=MADRID))) == []


def window(start: int, end: int) -> Conditions:
    return Conditions(time_window=TimeWindow(start=time(start), end=time(end)))


@pytest.mark.parametrize(
    ("at", "conditions", "matches"),
    [
        # spring forward, 2026-03-29: 02:00 CET becomes 03:00 CEST
        (datetime(2026, 3, 29, 0, 30, tzinfo=UTC), window(1, 2), True),  # 01:30 CET
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), window(3, 4), True),  # 03:30 CEST
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), window(1, 2), False),  # not 02:30 or 01:30
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), window(2, 3), False),  # 02:xx never happens
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), window(2, 3), False),  # 01:59 CET
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), window(3, 4), True),  # 03:00 CEST
        (datetime(2026, 3, 29, 21, 30, tzinfo=UTC), window(23, 0), True),  # 23:30 CEST
        (datetime(2026, 3, 29, 22, 30, tzinfo=UTC), window(23, 0), False),  # 00:30 Monday
        # fall back, 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:xx happens twice
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), window(2, 3), True),  # 02:30 CEST
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), window(2, 3), True),  # 02:30 CET
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), window(2, 3), False),  # 03:00 CET
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), window(3, 4), True),
        (datetime(2026, 10, 24, 23, 30, tzinfo=UTC), window(1, 2), True),  # 01:30 CEST
        (datetime(2026, 10, 25, 22, 30, tzinfo=UTC), window(23, 0), True),  # 23:30 CET
        (datetime(2026, 10, 25, 21, 30, tzinfo=UTC), window(23, 0), False),  # 22:30 CET
    ],
)
def test_a_time_window_on_a_daylight_saving_day_uses_local_wall_time(
    at: datetime, conditions: Conditions, matches: bool
) -> None:
    awards = evaluate([make_rule(conditions=conditions)], purchase(occurred_at=at, tz=MADRID))
    assert fired(awards) == (["r"] if matches else [])


@pytest.mark.parametrize(
    ("at", "matches"),
    [
        # 2026-03-28 is Saturday: 22:30 UTC is 23:30 CET Saturday, 23:30 UTC is 00:30 Sunday
        (datetime(2026, 3, 28, 22, 30, tzinfo=UTC), False),
        (datetime(2026, 3, 28, 23, 30, tzinfo=UTC), True),
        # Sunday ends at 22:00 UTC once clocks have gone forward, not at 23:00
        (datetime(2026, 3, 29, 21, 59, tzinfo=UTC), True),
        (datetime(2026, 3, 29, 22, 0, tzinfo=UTC), False),
        # 2026-10-25 is Sunday: it starts at 22:00 UTC on the 24th (CEST) and ends at 23:00 UTC
        (datetime(2026, 10, 24, 21, 59, tzinfo=UTC), False),
        (datetime(2026, 10, 24, 22, 0, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 22, 59, tzinfo=UTC), True),
        (datetime(2026, 10, 25, 23, 0, tzinfo=UTC), False),
    ],
)
def test_a_sunday_rule_on_a_daylight_saving_weekend_uses_the_local_day(
    at: datetime, matches: bool
) -> None:
    sunday = make_rule(id="sunday", conditions=Conditions(weekdays=[6]))
    dst_day = make_rule(
        id="dst-day",
        conditions=Conditions(
            date_range=DateRange(start=date(2026, 3, 29), end=date(2026, 3, 29))
            if at.month == 3
            else DateRange(start=date(2026, 10, 25), end=date(2026, 10, 25))
        ),
    )
    awards = evaluate([sunday, dst_day], purchase(occurred_at=at, tz=MADRID))
    assert fired(awards) == (["sunday", "dst-day"] if matches else [])


def test_the_local_time_is_used_only_when_the_zone_is_given() -> None:
    # the same instant, zone defaulting to UTC: 21:30 is not happy hour
    at = datetime(2026, 6, 10, 21, 30, tzinfo=UTC)
    assert evaluate([make_rule(conditions=HAPPY_HOUR)], purchase(occurred_at=at)) == []
