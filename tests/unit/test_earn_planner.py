"""The earn planner on values alone: no database, no web framework. A run takes the program,
the transaction and the member's state and returns what it earns; chaining `state_after` plans
a member's next purchase as if the first had been written."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lealtad.ledger.model import MemberLeg, check_entry
from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.facts import Facts, Item, MemberContext
from lealtad.rules.periods import period_start
from lealtad.rules.planner import (
    EarnPlan,
    MemberState,
    Missing,
    plan_earn,
    prefetch,
    referral_run,
    with_reads,
)
from lealtad.rules.program import Program

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)  # a Tuesday
MEMBER = 7
DAY = period_start(AT, "day", UTC)
FRESH = MemberState(MemberContext(MEMBER))  # nothing read yet


def program(**definition: Any) -> Program:
    parsed = ProgramDefinition.model_validate(definition)
    return Program(1, 3, AT - timedelta(days=30), parsed, compile_program(parsed, 3))


def purchase(amount: int, at: datetime = AT, coffees: int = 0) -> Facts:
    items = (Item("latte", Decimal(coffees), 300, "coffee"),) if coffees else ()
    return Facts(trigger="purchase", occurred_at=at, amount=amount, items=items)


def run(prog: Program, facts: Facts, state: MemberState, **kwargs: Any) -> EarnPlan:
    kwargs.setdefault("now", AT)
    kwargs.setdefault("purchase_id", 41)
    return plan_earn(prog, facts, state, **kwargs)


BASE = {"id": "base", "name": "Base", "action": {"type": "points_per_unit", "rate": "1"}}


def test_base_points_make_one_balanced_earn_entry() -> None:
    planned = run(program(rules=[BASE]), purchase(2_550), FRESH)
    assert not planned.missing
    assert [(g.rule_id, g.unit, g.amount, g.member_id) for g in planned.granted] == [
        ("base", "points", 25, MEMBER)
    ]
    (entry,) = planned.entries
    check_entry(entry)
    assert entry.kind == "earn"
    assert entry.purchase_id == 41
    assert [(leg.key, leg.amount) for leg in entry.legs] == [
        ("m:7:points", 25),
        ("s:issued:points", -25),
    ]
    assert planned.budget_taken == {}
    assert planned.events == ()


def test_a_cap_is_asked_for_then_reached_across_two_purchases() -> None:
    capped = {**BASE, "caps": [{"period": "day", "max_units": 30}]}
    prog = program(rules=[capped])
    # Nothing is guessed: the first plan names the cap it needs.
    first = run(prog, purchase(2_500), FRESH)
    assert first.missing == Missing(caps=frozenset({(MEMBER, "base", DAY)}))
    assert first.granted == ()
    state = with_reads(FRESH, caps={(MEMBER, "base", DAY): 0})
    first = run(prog, purchase(2_500), state)
    assert [g.amount for g in first.granted] == [25]
    assert first.state_after.caps_used == {(MEMBER, "base", DAY): 25}
    second = run(prog, purchase(2_500, AT + timedelta(hours=1)), first.state_after)
    assert [g.amount for g in second.granted] == [5]
    third = run(prog, purchase(2_500, AT + timedelta(hours=2)), second.state_after)
    assert third.granted == ()
    assert third.entries == ()


def test_a_budget_gives_what_is_left_and_no_more() -> None:
    welcome = {
        "id": "welcome",
        "name": "Welcome",
        "budget": 100,
        "action": {"type": "fixed_points", "points": 10},
    }
    prog = program(rules=[welcome])
    assert run(prog, purchase(100), FRESH).missing.budgets == {"welcome"}
    state = with_reads(FRESH, budgets={"welcome": 7})
    planned = run(prog, purchase(100), state)
    assert [g.amount for g in planned.granted] == [7]
    assert planned.budget_taken == {"welcome": 7}
    assert planned.state_after.budget_left == {"welcome": 0}
    assert run(prog, purchase(100), planned.state_after).granted == ()
    # A preview does not take budgets, as before.
    preview = run(prog, purchase(100), FRESH, take_budget=False)
    assert [g.amount for g in preview.granted] == [10]
    assert preview.budget_taken == {}


def test_a_multiplier_is_scaled_by_the_capped_base() -> None:
    capped = {**BASE, "caps": [{"period": "day", "max_units": 10}]}
    double = {"id": "double", "name": "Double", "action": {"type": "multiplier", "factor": "2"}}
    state = with_reads(FRESH, caps={(MEMBER, "base", DAY): 0})
    planned = run(program(rules=[capped, double]), purchase(2_500), state)
    assert {g.rule_id: g.amount for g in planned.granted} == {"base": 10, "double": 10}


def test_two_full_cards_at_once_carry_the_rest_over() -> None:
    prog = program(
        stamp_cards=[
            {"id": "coffee", "name": "Coffee card", "stamps_required": 3, "reward": "cup"}
        ],
        rules=[
            {
                "id": "stamp",
                "name": "Stamp",
                "conditions": {"items": {"categories": ["coffee"]}},
                "action": {"type": "stamps", "card": "coffee", "per_item": True},
            }
        ],
    )
    facts = purchase(1_500, coffees=5)
    assert run(prog, facts, FRESH).missing.stamps == {(MEMBER, "stamps.coffee")}
    state = with_reads(FRESH, stamps={(MEMBER, "stamps.coffee"): 2})
    planned = run(prog, facts, state)
    assert [(g.unit, g.amount) for g in planned.granted] == [("stamps.coffee", 5)]
    assert planned.cards_completed == [
        {"member_id": MEMBER, "card": "coffee", "cards": 2, "reward": "cup"}
    ]
    earn, done = planned.entries
    assert earn.kind == "earn"
    assert done.kind == "redeem"
    assert [(leg.key, leg.amount) for leg in done.legs] == [
        ("m:7:stamps.coffee", -6),
        ("s:redeemed:stamps.coffee", 6),
        ("m:7:reward.cup", 2),
        ("s:issued:reward.cup", -2),
    ]
    assert [e.topic for e in planned.events] == ["stamp_card.completed"]
    assert planned.state_after.stamps == {(MEMBER, "stamps.coffee"): 1}
    # The stamp carried over counts towards the next card.
    again = run(prog, purchase(300, coffees=2), planned.state_after)
    assert [c["cards"] for c in again.cards_completed] == [1]
    assert again.state_after.stamps == {(MEMBER, "stamps.coffee"): 0}


def test_pending_points_wait_unless_their_day_has_passed() -> None:
    prog = program(points={"pending_days": 14}, rules=[BASE])
    planned = run(prog, purchase(1_000), FRESH)
    (g,) = planned.granted
    assert (g.account, g.unlocks_at) == ("points.pending", AT + timedelta(days=14))
    leg = planned.entries[0].legs[0]
    assert isinstance(leg, MemberLeg)
    assert (leg.code, leg.unlocks_at) == ("points.pending", AT + timedelta(days=14))
    # A sale recorded after its points would have unlocked: spendable at once.
    late = run(prog, purchase(1_000), FRESH, now=AT + timedelta(days=20))
    leg = late.entries[0].legs[0]
    assert isinstance(leg, MemberLeg)
    assert (leg.code, leg.unlocks_at) == ("points", None)
    assert late.granted[0].account == "points.pending"  # the answer says what the rule gave


def test_a_referral_run_pays_the_referrer() -> None:
    prog = program(
        rules=[
            BASE,
            {
                "id": "friend",
                "name": "Friend",
                "trigger": "referral",
                "award_to": "both",
                "conditions": {"referral_on": "first_purchase"},
                "action": {"type": "fixed_points", "points": 50},
            },
        ]
    )
    state = MemberState(MemberContext(MEMBER), referrer_id=99)
    own = run(prog, purchase(1_000), state)
    assert [(g.rule_id, g.member_id) for g in own.granted] == [("base", MEMBER)]
    referral = referral_run(purchase(1_000), own.state_after)
    assert referral is not None
    facts, referrer = referral
    assert (facts.trigger, facts.referral_stage, referrer) == ("referral", "first_purchase", 99)
    paid = run(prog, facts, own.state_after, referrer_id=referrer)
    assert sorted((g.member_id, g.amount) for g in paid.granted) == [(MEMBER, 50), (99, 50)]
    assert [e.member_id for e in paid.entries] == [MEMBER, 99]
    # Not a first purchase any more: the rule says first_purchase only.
    later = referral_run(
        purchase(1_000), MemberState(MemberContext(MEMBER, visits_before=3), referrer_id=99)
    )
    assert later is not None
    assert run(prog, later[0], state, referrer_id=99).granted == ()
    assert referral_run(purchase(1_000), FRESH) is None


def test_prefetch_names_the_caps_and_stamps_a_run_will_ask_for() -> None:
    prog = program(
        stamp_cards=[
            {"id": "coffee", "name": "Coffee card", "stamps_required": 9, "reward": "cup"}
        ],
        rules=[
            {**BASE, "caps": [{"period": "day", "max_units": 30}]},
            {
                "id": "stamp",
                "name": "Stamp",
                "conditions": {"items": {"categories": ["coffee"]}},
                "action": {"type": "stamps", "card": "coffee"},
            },
        ],
    )
    facts = purchase(1_000, coffees=1)
    state = FRESH
    awards = prog.compiled.evaluate(facts, state.context)
    ahead = prefetch(prog, facts, awards, state)
    assert ahead == Missing(
        caps=frozenset({(MEMBER, "base", DAY)}), stamps=frozenset({(MEMBER, "stamps.coffee")})
    )
    filled = with_reads(
        state, caps=dict.fromkeys(ahead.caps, 0), stamps={(MEMBER, "stamps.coffee"): 8}
    )
    planned = run(prog, facts, filled, awards=awards)
    assert not planned.missing  # one read before the plan was enough
    assert [c["cards"] for c in planned.cards_completed] == [1]


def _filled(prog: Program, facts: Facts, state: MemberState) -> EarnPlan:
    """Plans as the store does, with zero caps used, the whole budget left and no stamps."""
    for _ in range(6):
        planned = run(prog, facts, state)
        if not planned.missing:
            return planned
        m = planned.missing
        budgets = {r: 60 for r in m.budgets}
        state = with_reads(
            state,
            caps=dict.fromkeys(m.caps, 0),
            budgets=budgets,
            stamps=dict.fromkeys(m.stamps, 0),
        )
    raise AssertionError("the plan kept asking for more")


PROPERTY_PROGRAM = program(
    stamp_cards=[{"id": "coffee", "name": "Coffee card", "stamps_required": 4, "reward": "cup"}],
    rules=[
        {**BASE, "caps": [{"period": "day", "max_units": 40}, {"period": "week", "max_units": 90}]},
        {
            "id": "big",
            "name": "Big ticket",
            "budget": 60,
            "conditions": {"min_amount": 3_000},
            "action": {"type": "fixed_points", "points": 15},
        },
        {
            "id": "stamp",
            "name": "Stamp",
            "conditions": {"items": {"categories": ["coffee"]}},
            "action": {"type": "stamps", "card": "coffee", "per_item": True},
        },
        {"id": "double", "name": "Double", "action": {"type": "multiplier", "factor": "1.5"}},
    ],
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 9_000), st.integers(0, 9), st.integers(0, 60)),
        min_size=1,
        max_size=12,
    )
)
def test_plans_balance_and_never_exceed_caps_or_budgets(
    sales: list[tuple[int, int, int]],
) -> None:
    state = FRESH
    at = AT
    per_day: dict[tuple[str, datetime | None], int] = defaultdict(int)
    budget = 0
    stamps_in = stamps_out = 0
    for amount, coffees, hours in sales:
        at += timedelta(hours=hours)
        planned = _filled(PROPERTY_PROGRAM, purchase(amount, at, coffees), state)
        for entry in planned.entries:
            check_entry(entry)  # every unit sums to zero
        granted: dict[tuple[int, str], int] = defaultdict(int)
        for g in planned.granted:
            granted[(g.member_id, g.unit)] += g.amount
        credited: dict[tuple[int, str], int] = defaultdict(int)
        for part in planned.members:
            for leg in part.entry.legs:
                if isinstance(leg, MemberLeg):
                    credited[(leg.member_id, leg.unit)] += leg.amount
        assert credited == granted
        for g in planned.granted:
            if g.rule_id == "base":
                per_day[("day", period_start(at, "day", UTC))] += g.amount
                per_day[("week", period_start(at, "week", UTC))] += g.amount
            if g.rule_id == "big":
                budget += g.amount
            if g.unit == "stamps.coffee":
                stamps_in += g.amount
        stamps_out += sum(4 * c["cards"] for c in planned.cards_completed)
        state = planned.state_after
    assert all(v <= (40 if period == "day" else 90) for (period, _), v in per_day.items())
    assert budget <= 60
    # Carry-over: what is left on the card is what came in less the full cards, under one card.
    left = state.stamps.get((MEMBER, "stamps.coffee"), 0)
    assert left == stamps_in - stamps_out
    assert 0 <= left < 4


def test_the_planner_imports_no_database_or_web_framework() -> None:
    code = (
        "import sys, lealtad.rules.planner; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & {'sqlalchemy', 'fastapi', "
        "'starlette'}); assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
