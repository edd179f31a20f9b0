"""Compiles a program definition once per version into one generated function per trigger, so
that evaluating a transaction is a walk over inlined tests and amounts: no parsing, no look-ups
by name, no call per rule. Measured in docs/benchmarks.md (P3)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from lealtad.rules.actions import POINTS, Amount, amount
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import Conditions, EarnRule, ItemMatch, Multiplier
from lealtad.rules.facts import Award, Facts, Item, MemberContext, Recipient

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
    to: tuple[Recipient, ...]
    amount: Amount
    exclusive: bool
    stop_after: bool
    factor: Decimal  # > 0 only for multipliers
    local: bool  # its tests need the local time


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
    """Constants the generated code refers to by name: no configured text becomes source text,
    only integers worked out here and names."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {"Award": Award, "new": tuple.__new__}

    def bind(self, value: object) -> str:
        name = f"k{len(self.values)}"
        self.values[name] = value
        return name


def _conditions(c: Conditions, ns: _Namespace, count: str) -> tuple[list[str], bool]:
    """The rule's tests as Python expressions over f (facts), m (member) and t (local time),
    cheapest first, and whether any needs local time. The items are counted once, into the
    local variable `count`, which the rule's action reuses."""
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
        tests.append(f"({count} := {counter}(f.items))[0] >= {ns.bind(c.items.min_quantity)}")
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
        first, last = c.date_range.start, c.date_range.end
        if first and last:
            tests.append(f"{ns.bind(first)} <= t.date() <= {ns.bind(last)}")
        elif first:
            tests.append(f"t.date() >= {ns.bind(first)}")
        elif last:
            tests.append(f"t.date() <= {ns.bind(last)}")
        local = True
    return tests, local


Walk = Callable[[Facts, MemberContext], list[Award]]
# A tier's multiplier: its extra share as a fraction (numerator, denominator), rule id, reason.
TierBonus = tuple[int, int, str, str]
BODY = " " * 12  # the indent of a rule's body inside the walk


def _award(rule: CompiledRule, amount: str, recipient: str, ns: _Namespace) -> str:
    """An Award built as the tuple it is: the NamedTuple's own __new__ is a Python function,
    and calling it was a tenth of an evaluation."""
    what = ", ".join(ns.bind(v) for v in (rule.id, rule.amount.unit))
    return f"new(Award, ({what}, {amount}, {ns.bind(rule.reason)}, {ns.bind(recipient)}))"


def _awarding(rule: CompiledRule, ns: _Namespace) -> list[str]:
    """The lines that award a matching rule and add the member's points to `base`."""
    counts = rule.amount.unit == POINTS and "member" in rule.to
    if rule.amount.expression is None:  # a constant: the awards are made once, here
        given = rule.amount.constant
        if given <= 0:
            return [f"{BODY}pass"]
        awards = [Award(rule.id, rule.amount.unit, given, rule.reason, w) for w in rule.to]
        lines = [f"{BODY}awards.append({ns.bind(award)})" for award in awards]
        return lines + ([f"{BODY}base += {given}"] if counts else [])
    lines = [f"{BODY}a = {rule.amount.expression}", f"{BODY}if a > 0:"]
    lines += [f"{BODY}    awards.append({_award(rule, 'a', w, ns)})" for w in rule.to]
    return lines + ([f"{BODY}    base += a"] if counts else [])


def _share(num: int, den: int) -> str:
    """base x (num/den - 1), rounded down, as source."""
    extra = f"base * {num - den}" if num - den != 1 else "base"
    return f"{extra} // {den}" if den != 1 else extra


def _multiplying(
    multipliers: list[CompiledRule], tier_bonuses: dict[str, TierBonus] | None, ns: _Namespace
) -> list[str]:
    """The walk's last lines: each matching multiplier's extra share of `base`, then the tier's."""
    lines = []
    for i, compiled in enumerate(multipliers):
        lines.append(f"    if x{i}:")
        lines.append(f"        a = {_share(*compiled.factor.as_integer_ratio())}")
        lines.append("        if a > 0:")
        lines.append(f"            awards.append({_award(compiled, 'a', 'member', ns)})")
    if tier_bonuses:
        # A tier's multiplier is a purchase benefit: birthday or training points are what they say.
        fields = f"(tier[2], {ns.bind(POINTS)}, a, tier[3], {ns.bind('member')})"
        lines.append(f"    tier = {ns.bind(tier_bonuses)}.get(m.tier)")
        lines.append("    if tier is not None:")
        lines.append("        a = base * tier[0] // tier[1]")
        lines.append("        if a > 0:")
        lines.append(f"            awards.append(new(Award, {fields}))")
    return lines


def _generate(
    rules: Sequence[tuple[EarnRule, CompiledRule, list[str]]],
    ns: _Namespace,
    tier_bonuses: dict[str, TierBonus] | None,
) -> Walk:
    """One function per trigger with every rule's tests inlined in priority order. An exclusive
    rule applies only if nothing matched before it, and then alone; `stop_after` ends the walk.
    The member's points are summed while walking, so the multipliers (the rules' and, on a
    purchase, the tier's) need no second pass over the awards."""
    lines = ["def walk(f, m):", "    awards = []", "    base = 0"]
    if any(c.local for _, c, _ in rules):
        lines.append("    t = f.occurred_at.astimezone(f.tz)")
    multipliers = [c for _, c, _ in rules if c.factor]
    lines += [f"    x{i} = False" for i in range(len(multipliers))]
    # A loop run once, so that an exclusive or stop_after rule can `break` to the multipliers.
    lines.append("    while True:")
    matched, seen = "not awards", 0
    for rule, compiled, tests in rules:
        condition = " and ".join(f"({test})" for test in tests) or "True"
        if compiled.exclusive:
            condition = f"{matched} and {condition}"
        lines.append(f"        if {condition}:")
        if compiled.factor:
            lines.append(f"{BODY}x{seen} = True")
            matched += f" and not x{seen}"
            seen += 1
        else:
            lines += _awarding(compiled, ns)
        if compiled.exclusive or rule.stop_after:
            lines.append(f"{BODY}break")
    lines.append("        break")
    lines += _multiplying(multipliers, tier_bonuses, ns)
    lines.append("    return awards")
    scope = dict(ns.values)
    exec(compile("\n".join(lines), "<lealtad-rules>", "exec"), scope)  # noqa: S102
    walk: Walk = scope["walk"]  # type: ignore[assignment]
    return walk


def _recipients(rule: EarnRule) -> tuple[Recipient, ...]:
    if rule.award_to == "both":
        return ("member", "referrer")
    return (rule.award_to,)


def _tier_bonuses(definition: ProgramDefinition) -> dict[str, TierBonus]:
    levels = definition.tiers.levels if definition.tiers else []
    bonuses: dict[str, TierBonus] = {}
    for t in levels:
        if t.multiplier > 1:
            num, den = t.multiplier.as_integer_ratio()
            bonuses[t.id] = (
                num - den,
                den,
                f"tier:{t.id}",
                f"{t.name} tier: x{t.multiplier} points",
            )
    return bonuses


@dataclass(frozen=True)
class CompiledProgram:
    version: int
    walks: dict[str, Walk]
    tier_multipliers: dict[str, tuple[int, int]]  # for the record; the purchase walk applies them

    def evaluate(self, facts: Facts, member: MemberContext) -> list[Award]:
        """Awards in rule priority order; multipliers (a rule's or the member's tier's) add
        their extra share of the transaction's points, rounded down."""
        key = f"custom:{facts.event}" if facts.trigger == "custom" else facts.trigger
        walk = self.walks.get(key)
        return [] if walk is None else walk(facts, member)


def compile_program(definition: ProgramDefinition, version: int = 0) -> CompiledProgram:
    ns = _Namespace()
    grouped: dict[str, list[tuple[int, int, EarnRule, CompiledRule, list[str]]]] = {}
    for position, rule in enumerate(definition.rules):
        if not rule.active:
            continue
        count = f"q{position}"  # the local variable holding the rule's item count
        tests, local = _conditions(rule.conditions, ns, count)
        factor = rule.action.factor if isinstance(rule.action, Multiplier) else Decimal(0)
        award = amount(rule, count, ns.bind)
        compiled = CompiledRule(
            rule.id,
            f"{rule.name}: {award.why}",
            _recipients(rule),
            award,
            rule.stacking == "exclusive",
            rule.stop_after,
            factor,
            local,
        )
        key = f"custom:{rule.event}" if rule.trigger == "custom" else rule.trigger
        grouped.setdefault(key, []).append((rule.priority, position, rule, compiled, tests))
    bonuses = _tier_bonuses(definition)
    walks = {
        key: _generate(
            [(r, c, t) for _, _, r, c, t in sorted(rules, key=lambda x: x[:2])],
            ns,
            bonuses if key == "purchase" else None,
        )
        for key, rules in grouped.items()
    }
    multipliers = {tier: (extra + den, den) for tier, (extra, den, _, _) in bonuses.items()}
    return CompiledProgram(version, walks, multipliers)
