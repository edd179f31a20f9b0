"""The compiled evaluator against a plain reference, for random programs and transactions.

rules.compile generates code (inlined tests, the items counted once, the points summed while
walking so multipliers need no second pass); this file restates the engine's rules in the
most direct way, with exact fractions, so that any shortcut that changes an award shows up
as a counterexample."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lealtad.rules.compile import compile_program
from lealtad.rules.definition import ProgramDefinition, StampCard, Tier, TierPolicy
from lealtad.rules.earn_rule import (
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

# --- the reference -------------------------------------------------------------------------------


def _rounded(value: Fraction, mode: str) -> int:
    if mode == "floor":
        return math.floor(value)
    if mode == "ceil":
        return math.ceil(value)
    return math.floor(value + Fraction(1, 2))  # half up


def _counted(match: ItemMatch, items: tuple[Item, ...]) -> tuple[Decimal, int]:
    quantity, value = Decimal(0), 0
    for item in items:
        free = item.total <= 0
        matches = (
            item.sku in match.skus
            or item.category in match.categories
            or bool(set(item.tags) & set(match.tags))
        )
        if matches and not free:
            quantity += item.quantity
            value += item.total
    return quantity, value


def _holds(c: Conditions, f: Facts, m: MemberContext) -> bool:
    local = f.occurred_at.astimezone(f.tz)
    checks = [
        c.min_amount is None or f.amount >= c.min_amount,
        not c.channels or f.channel in c.channels,
        not c.locations or f.location_id in c.locations,
        not c.tiers or m.tier in c.tiers,
        not c.tags or bool({t.lower() for t in c.tags} & m.tags),
        not c.segments or bool(set(c.segments) & m.segments),
        not c.first_purchase or m.visits_before == 0,
        not c.every_nth_visit or (m.visits_before + 1) % c.every_nth_visit == 0,
        not c.items or _counted(c.items, f.items)[0] >= c.items.min_quantity,
        not c.weekdays or local.weekday() in c.weekdays,
        not c.date_range or c.date_range.start is None or local.date() >= c.date_range.start,
        not c.date_range or c.date_range.end is None or local.date() <= c.date_range.end,
    ]
    if c.referral_on:
        stages = {"signup": ["signup"], "first_purchase": ["first_purchase"]}.get(
            c.referral_on, ["first_purchase", "purchase"]
        )
        checks.append(f.referral_stage in stages)
    if c.time_window:
        start, end, now = c.time_window.start, c.time_window.end, local.time()
        checks.append(start <= now < end if start < end else not end <= now < start)
    return all(checks)


def _amount(rule: EarnRule, f: Facts) -> tuple[str, int, str]:
    """The rule's unit, amount and why, for a rule that is not a multiplier."""
    a = rule.action
    if isinstance(a, PointsPerUnit):
        whole = a.per == "whole_unit"
        why = f"{a.rate} points per " + ("whole unit" if whole else "unit")
        why += " of matching items" if a.per_item else ""
        if f.trigger in ("purchase", "refund", "referral"):
            spent = _counted(rule.conditions.items, f.items)[1] if a.per_item else f.amount
            value = Fraction(spent, 10**f.exponent)
        else:
            value = Fraction(f.value)
        if whole:
            value = Fraction(math.floor(value))
        return "points", _rounded(value * Fraction(a.rate), a.rounding), why
    if isinstance(a, FixedPoints):
        return "points", a.points, f"{a.points} points"
    if isinstance(a, Stamps):
        card = f"stamps.{a.card}"
        if a.per_item:
            return card, a.stamps * int(_counted(rule.conditions.items, f.items)[0]), "stamps"
        return card, a.stamps, f"{a.stamps} stamp(s)"
    if isinstance(a, CashbackPercent):
        share = Fraction(f.amount) * Fraction(a.percent) / 100
        return "cashback", _rounded(share, a.rounding), f"{a.percent}% back"
    if isinstance(a, CashbackFixed):
        return "cashback", a.amount * (f.amount // a.per), f"{a.amount} back per {a.per} spent"
    assert isinstance(a, InstantReward)
    return f"reward.{a.reward}", a.quantity, f"reward {a.reward}"


def reference(program: ProgramDefinition, f: Facts, m: MemberContext) -> list[Award]:
    def runs_now(rule: EarnRule) -> bool:
        if not rule.active or rule.trigger != f.trigger:
            return False
        return rule.trigger != "custom" or rule.event == f.event

    ordered = sorted(
        (rule for rule in program.rules if runs_now(rule)),
        key=lambda rule: (rule.priority, program.rules.index(rule)),
    )
    awards: list[Award] = []
    multipliers: list[EarnRule] = []
    for rule in ordered:
        exclusive = rule.stacking == "exclusive"
        if exclusive and (awards or multipliers):
            continue
        if not _holds(rule.conditions, f, m):
            continue
        if isinstance(rule.action, Multiplier):
            multipliers.append(rule)
        else:
            unit, amount, why = _amount(rule, f)
            recipients = {"member": ["member"], "referrer": ["referrer"]}.get(
                rule.award_to, ["member", "referrer"]
            )
            if amount > 0:
                for to in recipients:
                    awards.append(Award(rule.id, unit, amount, f"{rule.name}: {why}", to))  # type: ignore[arg-type]
        if exclusive or rule.stop_after:
            break
    base = sum(a.amount for a in awards if a.unit == "points" and a.recipient == "member")
    extras = [
        (r.id, f"{r.name}: x{r.action.factor}", r.action.factor)
        for r in multipliers
        if isinstance(r.action, Multiplier)
    ]
    levels = {t.id: t for t in program.tiers.levels} if program.tiers else {}
    tier = levels.get(m.tier or "")
    if tier and tier.multiplier > 1 and f.trigger == "purchase" and ordered:
        extras.append(
            (f"tier:{tier.id}", f"{tier.name} tier: x{tier.multiplier} points", tier.multiplier)
        )
    for rule_id, reason, factor in extras:
        bonus = math.floor(base * (Fraction(factor) - 1))
        if bonus > 0:
            awards.append(Award(rule_id, "points", bonus, reason))
    return awards


# --- random programs and transactions ------------------------------------------------------------

TRIGGERS = ["purchase"] * 4 + ["refund", "referral", "birthday", "custom"]
EVENTS = ["app.download", "app.rating"]
SKUS, CATEGORIES, ITEM_TAGS = ["esp", "lat", "cro"], ["coffee", "bakery"], ["hot", "vegan"]
TIER_IDS = ["silver", "gold", "black"]
ZONES = [UTC, ZoneInfo("Europe/Madrid"), ZoneInfo("America/Mexico_City")]
DAY = date(2026, 3, 29)  # a daylight-saving change in Madrid

some = st.lists
decimals = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(40), places=2)
rounding = st.sampled_from(["floor", "half_up", "ceil"])

item_match = st.builds(
    ItemMatch,
    skus=some(st.sampled_from(SKUS), max_size=2),
    categories=some(st.sampled_from(CATEGORIES), min_size=1, max_size=2),
    tags=some(st.sampled_from(ITEM_TAGS), max_size=1),
    min_quantity=st.sampled_from([Decimal(1), Decimal("0.5"), Decimal(2), Decimal(3)]),
)


@st.composite
def conditions(draw: st.DrawFn, trigger: str) -> Conditions:
    fields: dict[str, Any] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {
        "min_amount": st.integers(0, 3000),
        "items": item_match,
        "locations": some(st.integers(1, 3), min_size=1, max_size=2),
        "channels": some(st.sampled_from(["counter", "online", "api"]), min_size=1, max_size=2),
        "weekdays": some(st.integers(0, 6), min_size=1, max_size=4),
        "time_window": st.builds(
            lambda start, hours: TimeWindow(start=time(start), end=time((start + hours) % 24)),
            st.integers(0, 23),
            st.integers(1, 23),
        ),
        "date_range": st.builds(
            DateRange,
            start=st.none() | st.just(DAY - timedelta(days=1)),
            end=st.none() | st.just(DAY),
        ),
        "tiers": some(st.sampled_from(TIER_IDS), min_size=1, max_size=2),
        "tags": some(st.sampled_from(["VIP", "staff"]), min_size=1, max_size=2),
        "segments": some(st.sampled_from(["champions", "lost"]), min_size=1, max_size=1),
        "first_purchase": st.just(True),
        "every_nth_visit": st.integers(2, 4),
    }
    if trigger == "referral":
        optional["referral_on"] = st.sampled_from(["signup", "first_purchase", "every_purchase"])
    for name in draw(some(st.sampled_from(sorted(optional)), max_size=2, unique=True)):
        fields[name] = draw(optional[name])
    return Conditions(**fields)


@st.composite
def rules(draw: st.DrawFn, position: int) -> EarnRule:
    trigger = draw(st.sampled_from(TRIGGERS))
    when = draw(conditions(trigger))
    per_item = when.items is not None and draw(st.booleans())
    action = draw(
        st.one_of(
            st.builds(
                PointsPerUnit,
                rate=decimals,
                rounding=rounding,
                per_item=st.just(per_item),
                per=st.sampled_from(["unit", "whole_unit"]),
            ),
            st.builds(FixedPoints, points=st.integers(1, 60)),
            st.builds(Multiplier, factor=st.sampled_from(["1.5", "2", "1.25", "3.3333"])),
            st.builds(Multiplier, factor=st.sampled_from(["1.5", "2"])),
            st.builds(
                Stamps, card=st.just("coffee"), stamps=st.integers(1, 2), per_item=st.just(per_item)
            ),
            st.builds(CashbackPercent, percent=decimals, rounding=rounding),
            st.builds(CashbackFixed, amount=st.integers(1, 50), per=st.integers(1, 1000)),
            st.builds(InstantReward, reward=st.just("cookie"), quantity=st.integers(1, 2)),
        )
    )
    award_to = (
        draw(st.sampled_from(["member", "referrer", "both"])) if trigger == "referral" else "member"
    )
    return EarnRule(
        id=f"r{position}",
        name=f"Rule {position}",
        trigger=trigger,  # type: ignore[arg-type]
        event=draw(st.sampled_from(EVENTS)) if trigger == "custom" else None,
        conditions=when,
        action=action,
        award_to=award_to,  # type: ignore[arg-type]
        priority=draw(st.sampled_from([10, 100, 100])),
        stacking=draw(st.sampled_from(["stackable", "stackable", "exclusive"])),  # type: ignore[arg-type]
        stop_after=draw(st.booleans()) and draw(st.booleans()),
        active=draw(st.integers(0, 9)) > 0,
    )


@st.composite
def programs(draw: st.DrawFn) -> ProgramDefinition:
    count = draw(st.integers(0, 10))
    multipliers = draw(some(st.sampled_from(["1", "1.5", "2", "1.3"]), min_size=3, max_size=3))
    tiers = TierPolicy(
        levels=[
            Tier(id=tier, name=tier.title(), threshold=Decimal(i * 1000), multiplier=Decimal(x))
            for i, (tier, x) in enumerate(zip(TIER_IDS, multipliers, strict=True))
        ]
    )
    cards = [StampCard(id="coffee", name="Coffee", stamps_required=10, reward="free-coffee")]
    rules_ = [draw(rules(i)) for i in range(count)]
    return ProgramDefinition(rules=rules_, tiers=tiers, stamp_cards=cards)


items = st.builds(
    Item,
    sku=st.sampled_from(SKUS),
    quantity=st.sampled_from([Decimal(1), Decimal(2), Decimal("0.5"), Decimal("1.25"), Decimal(3)]),
    unit_price=st.sampled_from([0, 0, 99, 250, 1333]),
    category=st.none() | st.sampled_from(CATEGORIES),
    tags=st.frozensets(st.sampled_from(ITEM_TAGS), max_size=2),
)

facts = st.builds(
    Facts,
    trigger=st.sampled_from([*TRIGGERS, "enrolment"]),
    occurred_at=st.builds(
        lambda day, minutes: (
            datetime(2026, 3, 27, tzinfo=UTC) + timedelta(days=day, minutes=minutes)
        ),
        st.integers(0, 4),
        st.integers(0, 24 * 60 - 1).map(lambda m: m - m % 15),
    ),
    tz=st.sampled_from(ZONES),
    amount=st.integers(-500, 20_000),
    exponent=st.integers(0, 3),
    value=st.decimals(min_value=0, max_value=100, places=3),
    event=st.none() | st.sampled_from(EVENTS),
    channel=st.sampled_from(["counter", "online", "api"]),
    location_id=st.none() | st.integers(1, 3),
    items=st.lists(items, max_size=4).map(tuple),
    referral_stage=st.none() | st.sampled_from(["signup", "first_purchase", "purchase"]),
)

members = st.builds(
    MemberContext,
    member_id=st.just(1),
    tier=st.none() | st.sampled_from([*TIER_IDS, "other"]),
    tags=st.frozensets(st.sampled_from(["vip", "staff", "VIP"]), max_size=2),
    segments=st.frozensets(st.sampled_from(["champions", "lost"]), max_size=1),
    visits_before=st.integers(0, 9),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(st.tuples(facts, members), min_size=1, max_size=6))
def test_the_compiled_program_awards_what_the_reference_awards(
    program: ProgramDefinition, transactions: list[tuple[Facts, MemberContext]]
) -> None:
    compiled = compile_program(program)
    for f, m in transactions:
        assert compiled.evaluate(f, m) == reference(program, f, m)
