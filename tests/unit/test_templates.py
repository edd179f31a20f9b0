import re
from datetime import time
from decimal import Decimal

import pytest

from lealtad.errors import NotFound
from lealtad.kit.money import is_known_currency
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import (
    CashbackPercent,
    EarnRule,
    FixedPoints,
    Multiplier,
    PointsPerUnit,
    Stamps,
)
from lealtad.rules.templates import TEMPLATES, Template, get_template

ALL = list(TEMPLATES.values())
IDS = list(TEMPLATES)


def rule(program: ProgramDefinition, rule_id: str) -> EarnRule:
    return next(r for r in program.rules if r.id == rule_id)


def test_there_is_one_template_per_real_program_in_listing_order() -> None:
    assert IDS == [
        "coffee-stamps",
        "points-per-unit",
        "catalog-points",
        "gem-tiers",
        "stars-tiers",
        "trade-b2b",
    ]


def test_template_names_are_unique_short_slugs_matching_their_keys() -> None:
    for key, template in TEMPLATES.items():
        assert key == template.name
        assert re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", template.name)
    assert len({t.name for t in ALL}) == len(ALL)


@pytest.mark.parametrize("template", ALL, ids=IDS)
def test_every_template_builds_a_valid_program(template: Template) -> None:
    program = template.build()
    assert isinstance(program, ProgramDefinition)
    assert program.rules
    assert ProgramDefinition.model_validate(program.model_dump()) == program


@pytest.mark.parametrize("template", ALL, ids=IDS)
def test_every_template_round_trips_through_json_unchanged(template: Template) -> None:
    program = template.build()
    assert ProgramDefinition.model_validate(program.as_json()) == program
    assert ProgramDefinition.model_validate(program.as_json()).as_json() == program.as_json()


@pytest.mark.parametrize("template", ALL, ids=IDS)
def test_every_template_has_titles_and_descriptions_in_spanish_and_english(
    template: Template,
) -> None:
    for text in (
        template.title_en,
        template.title_es,
        template.description_en,
        template.description_es,
    ):
        assert text.strip()
    assert template.title_en != template.title_es
    assert template.description_en != template.description_es


@pytest.mark.parametrize("template", ALL, ids=IDS)
def test_every_template_uses_a_known_currency(template: Template) -> None:
    assert is_known_currency(template.currency)


def test_get_template_returns_the_registered_template() -> None:
    assert get_template("gem-tiers") is TEMPLATES["gem-tiers"]


def test_an_unknown_template_is_not_found_and_the_message_lists_the_known_names() -> None:
    with pytest.raises(NotFound) as caught:
        get_template("no-such-program")
    assert caught.value.code == "template_not_found"
    assert caught.value.http_status == 404
    assert "no-such-program" in caught.value.message
    for name in TEMPLATES:
        assert name in caught.value.message


def test_the_coffee_card_needs_ten_stamps_and_gives_one_per_drink() -> None:
    program = get_template("coffee-stamps").build()
    assert [(c.id, c.stamps_required, c.reward) for c in program.stamp_cards] == [
        ("coffee", 10, "free-drink")
    ]
    assert len(program.rules) == 1
    only = program.rules[0]
    assert isinstance(only.action, Stamps)
    assert (only.action.card, only.action.stamps, only.action.per_item) == ("coffee", 1, True)
    assert only.conditions.items is not None
    assert only.conditions.items.categories == ["drinks"]
    assert program.tiers is None


def test_the_points_card_gives_four_points_per_unit_worth_one_minor_unit_each() -> None:
    program = get_template("points-per-unit").build()
    base = rule(program, "base")
    assert isinstance(base.action, PointsPerUnit)
    assert base.action.rate == 4
    assert base.action.rounding == "floor"
    assert program.points.value_per_point == 1


def test_catalog_points_earn_one_point_per_hundred_pesos_and_last_two_years() -> None:
    template = get_template("catalog-points")
    program = template.build()
    assert template.currency == "CLP"
    base = rule(program, "base")
    assert isinstance(base.action, PointsPerUnit)
    assert base.action.rate == Decimal("0.01")
    assert (program.points.expiry, program.points.expiry_days) == ("days", 730)


def test_gem_tiers_rise_from_emerald_to_diamond_with_ten_percent_cashback() -> None:
    program = get_template("gem-tiers").build()
    assert program.tiers is not None
    assert [t.name for t in program.tiers.levels] == ["Emerald", "Sapphire", "Ruby", "Diamond"]
    assert program.tiers.metric == "spend"
    assert program.tiers.window.kind == "calendar"
    assert program.tiers.window.period == "year"
    multipliers = [t.multiplier for t in program.tiers.levels]
    assert multipliers == sorted(multipliers)
    assert multipliers[-1] > multipliers[0]
    assert "free shipping" in program.tiers.levels[-1].perks
    cashback = [r.action for r in program.rules if isinstance(r.action, CashbackPercent)]
    assert [c.percent for c in cashback] == [10]
    assert program.cashback.redemption_minimum > 0
    assert any(isinstance(r.action, PointsPerUnit) for r in program.rules)


def test_stars_have_a_gold_tier_a_birthday_bonus_and_a_weekday_happy_hour() -> None:
    program = get_template("stars-tiers").build()
    assert program.tiers is not None
    assert program.tiers.metric == "points_earned"
    gold = next(t for t in program.tiers.levels if t.name == "Gold")
    assert (gold.threshold, gold.multiplier) == (Decimal(300), Decimal("1.2"))
    base = rule(program, "base")
    assert isinstance(base.action, PointsPerUnit)
    assert base.action.rate == 2
    birthday = [r for r in program.rules if r.trigger == "birthday"]
    assert len(birthday) == 1
    assert isinstance(birthday[0].action, FixedPoints)
    happy = rule(program, "happy-hour")
    assert isinstance(happy.action, Multiplier)
    assert happy.action.factor == 2
    assert happy.conditions.weekdays == [0, 1, 2, 3, 4]
    assert happy.conditions.time_window is not None
    assert happy.conditions.time_window.start == time(14, 0)
    assert happy.conditions.time_window.end == time(17, 0)


def test_the_trade_program_earns_on_training_hours_referrals_and_surveys() -> None:
    template = get_template("trade-b2b")
    program = template.build()
    assert template.currency == "USD"
    training = [r for r in program.rules if r.trigger == "training_hours"]
    assert len(training) == 1
    assert isinstance(training[0].action, PointsPerUnit)
    referral = [r for r in program.rules if r.trigger == "referral"]
    assert len(referral) == 1
    assert referral[0].award_to == "referrer"
    assert referral[0].conditions.referral_on == "first_purchase"
    survey = [r for r in program.rules if r.trigger == "survey_answered"]
    assert len(survey) == 1
    assert isinstance(survey[0].action, FixedPoints)
    assert program.tiers is not None
    assert [t.name for t in program.tiers.levels] == ["Member", "Preferred", "Elite", "Master"]
    assert program.tiers.metric == "spend"


def test_no_template_adds_a_rule_for_tier_multipliers() -> None:
    for template in ALL:
        program = template.build()
        tier_ids = {t.id for t in program.tiers.levels} if program.tiers else set()
        for r in program.rules:
            if isinstance(r.action, Multiplier):
                assert not set(r.conditions.tiers) & tier_ids
