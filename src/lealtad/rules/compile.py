"""Compiles a program definition once per version into closures, so that evaluating a
transaction is a walk over a few precomputed predicates: no parsing, no look-ups by name."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

from lealtad.rules.definition import (
    CashbackFixed,
    CashbackPercent,
    Conditions,
    EarnRule,
    FixedPoints,
    InstantReward,
    ItemMatch,
    Multiplier,
    PointsPerUnit,
    ProgramDefinition,
    Stamps,
)
from lealtad.rules.facts import Award, Facts, Item, MemberContext, Recipient

Act = Callable[[Facts, MemberContext], list[Award]]
POINTS = "points"
EVENT_TRIGGERS = frozenset(
    {
        "birthday",
        "anniversary",
        "profile_completed",
        "survey_answered",
        "review_written",
        "training_hours",
    }
)


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    reason: str
    act: Act
    exclusive: bool
    stop_after: bool
    factor: Decimal  # > 0 only for multipliers


def _item_counter(match: ItemMatch) -> Callable[[Sequence[Item]], tuple[Decimal, int]]:
    skus, cats, tags = frozenset(match.skus), frozenset(match.categories), frozenset(match.tags)

    def count(items: Sequence[Item]) -> tuple[Decimal, int]:
        quantity, value = Decimal(0), 0
        for item in items:
            # A free item (the 11th coffee) neither counts towards a condition nor earns.
            if item.total <= 0:
                continue
            if item.sku in skus or item.category in cats or (tags and item.tags & tags):
                quantity += item.quantity
                value += item.total
        return quantity, value

    return count


class _Namespace:
    """Constants the generated code refers to by name; values never become source text."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {"Award": Award}

    def bind(self, value: object) -> str:
        name = f"k{len(self.values)}"
        self.values[name] = value
        return name


def _conditions(c: Conditions, ns: _Namespace) -> tuple[list[str], bool]:
    """The rule's tests as Python expressions over f (facts), m (member) and t (local time),
    cheapest first, and whether any needs local time."""
    tests: list[str] = []
    local = False
    if c.min_amount is not None:
        tests.append(f"f.amount >= {ns.bind(c.min_amount)}")
    if c.channels:
        tests.append(f"f.channel in {ns.bind(frozenset(c.channels))}")
    if c.locations:
        tests.append(f"f.location_id in {ns.bind(frozenset(c.locations))}")
    if c.tiers:
        tests.append(f"m.tier in {ns.bind(frozenset(c.tiers))}")
    if c.tags:
        tests.append(f"not {ns.bind(frozenset(t.lower() for t in c.tags))}.isdisjoint(m.tags)")
    if c.segments:
        tests.append(f"not {ns.bind(frozenset(c.segments))}.isdisjoint(m.segments)")
    if c.first_purchase:
        tests.append("m.visits_before == 0")
    if c.every_nth_visit:
        tests.append(f"(m.visits_before + 1) % {ns.bind(c.every_nth_visit)} == 0")
    if c.referral_on:
        stages = {
            "signup": frozenset({"signup"}),
            "first_purchase": frozenset({"first_purchase"}),
            "every_purchase": frozenset({"first_purchase", "purchase"}),
        }[c.referral_on]
        tests.append(f"f.referral_stage in {ns.bind(stages)}")
    if c.items:
        counter = ns.bind(_item_counter(c.items))
        tests.append(f"{counter}(f.items)[0] >= {ns.bind(c.items.min_quantity)}")
    if c.weekdays:
        tests.append(f"t.weekday() in {ns.bind(frozenset(c.weekdays))}")
        local = True
    if c.time_window:
        start, end = ns.bind(c.time_window.start), ns.bind(c.time_window.end)
        if c.time_window.start < c.time_window.end:
            tests.append(f"{start} <= t.time() < {end}")
        else:  # crosses midnight
            tests.append(f"not ({end} <= t.time() < {start})")
        local = True
    if c.date_range:
        if c.date_range.start:
            tests.append(f"t.date() >= {ns.bind(c.date_range.start)}")
        if c.date_range.end:
            tests.append(f"t.date() <= {ns.bind(c.date_range.end)}")
        local = True
    return tests, local


Extra = tuple[str, str, tuple[int, int]]
Walk = Callable[[Facts, MemberContext, datetime], tuple[list[Award], list[Extra]]]


def _generate(rules: Sequence[tuple[EarnRule, CompiledRule, list[str]]], ns: _Namespace) -> Walk:
    """One function per trigger with every rule's tests inlined in priority order. An exclusive
    rule applies only if nothing matched before it, and then alone; `stop_after` ends the walk."""
    lines = ["def walk(f, m, t):", "    awards = []", "    extras = []"]
    for rule, compiled, tests in rules:
        act = ns.bind(compiled.act)
        extra = ns.bind((compiled.id, compiled.reason, compiled.factor.as_integer_ratio()))
        condition = " and ".join(f"({test})" for test in tests) or "True"
        if compiled.exclusive:
            condition = f"not awards and not extras and {condition}"
        lines.append(f"    if {condition}:")
        if compiled.factor:
            lines.append(f"        extras.append({extra})")
        else:
            lines.append(f"        awards.extend({act}(f, m))")
        if compiled.exclusive or rule.stop_after:
            lines.append("        return awards, extras")
    lines.append("    return awards, extras")
    scope = dict(ns.values)
    exec(compile("\n".join(lines), "<lealtad-rules>", "exec"), scope)  # noqa: S102
    walk: Walk = scope["walk"]  # type: ignore[assignment]
    return walk


def _recipients(rule: EarnRule) -> tuple[str, ...]:
    return {"member": ("member",), "referrer": ("referrer",), "both": ("member", "referrer")}[
        rule.award_to
    ]


def _ratio(value: Decimal) -> tuple[int, int]:
    """A Decimal as an exact integer fraction, so the hot path does integer arithmetic only."""
    num, den = value.as_integer_ratio()
    return num, den


def _divide(numerator: int, denominator: int, mode: str) -> int:
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def _act(rule: EarnRule) -> Act:
    action, rid = rule.action, rule.id
    to = _recipients(rule)
    counter = _item_counter(rule.conditions.items) if rule.conditions.items else None

    def describe(why: str) -> str:
        return f"{rule.name}: {why}"

    def make(unit: str, why: str) -> Callable[[int], list[Award]]:
        reason = describe(why)
        if to == ("member",):
            return lambda amount: [Award(rid, unit, amount, reason)] if amount > 0 else []
        who = cast(tuple[Recipient, ...], to)
        return lambda amount: (
            [Award(rid, unit, amount, reason, w) for w in who] if amount > 0 else []
        )

    if isinstance(action, PointsPerUnit):
        num, den = _ratio(action.rate)
        mode, per_item = action.rounding, action.per_item
        give = make(
            POINTS, f"{action.rate} points per unit" + (" of matching items" if per_item else "")
        )
        scale = [den * 10**e for e in range(10)]

        def points(f: Facts, m: MemberContext) -> list[Award]:
            if f.trigger in ("purchase", "refund", "referral"):
                base = counter(f.items)[1] if per_item and counter else f.amount
                return give(_divide(base * num, scale[f.exponent], mode))
            value_num, value_den = f.value.as_integer_ratio()
            return give(_divide(value_num * num, value_den * den, mode))

        return points
    if isinstance(action, FixedPoints):
        fixed = make(POINTS, f"{action.points} points")(action.points)
        return lambda f, m: fixed
    if isinstance(action, Stamps):
        per, per_item = action.stamps, action.per_item
        give = make(f"stamps.{action.card}", "stamps" if per_item else f"{per} stamp(s)")
        if per_item and counter:
            return lambda f, m: give(per * int(counter(f.items)[0]))
        fixed_stamps = give(per)
        return lambda f, m: fixed_stamps
    if isinstance(action, CashbackPercent):
        num, den = _ratio(action.percent)
        mode = action.rounding
        give = make("cashback", f"{action.percent}% back")
        return lambda f, m: give(_divide(f.amount * num, den * 100, mode))
    if isinstance(action, CashbackFixed):
        back, per = action.amount, action.per
        give = make("cashback", f"{back} back per {per} spent")
        return lambda f, m: give(back * (f.amount // per))
    if isinstance(action, InstantReward):
        granted = make(f"reward.{action.reward}", f"reward {action.reward}")(action.quantity)
        return lambda f, m: granted
    assert isinstance(action, Multiplier)
    return lambda f, m: []


@dataclass(frozen=True)
class CompiledProgram:
    version: int
    walks: dict[str, Walk]
    tier_multipliers: dict[str, tuple[int, int]]
    tier_reasons: dict[str, str]
    needs_local: bool

    def evaluate(self, facts: Facts, member: MemberContext) -> list[Award]:
        """Awards in rule priority order; multipliers (a rule's or the member's tier's) add
        their extra share of the transaction's points, rounded down."""
        key = f"custom:{facts.event}" if facts.trigger == "custom" else facts.trigger
        walk = self.walks.get(key)
        # A tier's multiplier is a purchase benefit: birthday or training points are what they say.
        tier_factor = (
            self.tier_multipliers.get(member.tier or "") if facts.trigger == "purchase" else None
        )
        if walk is None:
            return []
        local = facts.occurred_at.astimezone(facts.tz) if self.needs_local else facts.occurred_at
        awards, extras = walk(facts, member, local)
        if tier_factor:
            tier = member.tier or ""
            extras.append((f"tier:{tier}", self.tier_reasons[tier], tier_factor))
        if extras:
            awards.extend(_multiplied(awards, extras))
        return awards


def _multiplied(awards: list[Award], extras: list[Extra]) -> list[Award]:
    base = 0
    for award in awards:
        if award.unit == POINTS and award.recipient == "member":
            base += award.amount
    out = []
    for rule_id, reason, (num, den) in extras:
        bonus = base * (num - den) // den
        if bonus > 0:
            out.append(Award(rule_id, POINTS, bonus, reason))
    return out


def compile_program(definition: ProgramDefinition, version: int = 0) -> CompiledProgram:
    ns = _Namespace()
    grouped: dict[str, list[tuple[int, int, EarnRule, CompiledRule, list[str]]]] = {}
    needs_local = False
    for position, rule in enumerate(definition.rules):
        if not rule.active:
            continue
        tests, local = _conditions(rule.conditions, ns)
        needs_local = needs_local or local
        factor = rule.action.factor if isinstance(rule.action, Multiplier) else Decimal(0)
        reason = f"{rule.name}: x{factor}" if factor else rule.name
        compiled = CompiledRule(
            rule.id, reason, _act(rule), rule.stacking == "exclusive", rule.stop_after, factor
        )
        key = f"custom:{rule.event}" if rule.trigger == "custom" else rule.trigger
        grouped.setdefault(key, []).append((rule.priority, position, rule, compiled, tests))
    walks = {
        key: _generate([(r, c, t) for _, _, r, c, t in sorted(rules, key=lambda x: x[:2])], ns)
        for key, rules in grouped.items()
    }
    levels = definition.tiers.levels if definition.tiers else []
    return CompiledProgram(
        version=version,
        walks=walks,
        tier_multipliers={
            t.id: t.multiplier.as_integer_ratio() for t in levels if t.multiplier > 1
        },
        tier_reasons={t.id: f"{t.name} tier: x{t.multiplier} points" for t in levels},
        needs_local=needs_local,
    )
