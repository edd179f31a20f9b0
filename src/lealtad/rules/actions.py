"""An earn rule's action as source for the walk that rules.compile generates: the amount as an
integer expression over the transaction (or a constant known when the program is compiled),
its unit and why it is given. Inlined rather than called, because a call per matching rule
was a fifth of an evaluation's time (docs/benchmarks.md, P3)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, InvalidOperation

from lealtad.rules.earn_rule import (
    SPENDING_TRIGGERS,
    CashbackFixed,
    CashbackPercent,
    EarnRule,
    FixedPoints,
    InstantReward,
    Multiplier,
    PointsPerUnit,
    Stamps,
)

POINTS = "points"
# Triggers whose points count money spent; any other counts the event's value (hours, visits).
SPENDING = SPENDING_TRIGGERS
# The most an event property may count, as the event's own value (events/schemas.py).
MOST_PROPERTY = Decimal(10**9)
SIX_PLACES = Decimal("0.000001")
Bind = Callable[[object], str]  # a value -> the name the generated code knows it by


@dataclass(frozen=True, slots=True)
class Amount:
    unit: str
    why: str
    expression: str | None  # over f (the facts) and the rule's item count; None: `constant`
    constant: int = 0


def _ratio(value: Decimal) -> tuple[int, int]:
    """A Decimal as an exact integer fraction, so the hot path does integer arithmetic only."""
    num, den = value.as_integer_ratio()
    return num, den


def divide(numerator: int, denominator: int, mode: str) -> int:
    if mode == "floor":
        return numerator // denominator
    if mode == "ceil":
        return -(-numerator // denominator)
    return (2 * numerator + denominator) // (2 * denominator)


def _divided(numerator: str, denominator: str, mode: str) -> str:
    """`divide` as source, for operands that are expressions (integers only reach the text)."""
    if mode == "floor":
        return f"({numerator}) // {denominator}"
    if mode == "ceil":
        return f"-(-({numerator}) // {denominator})"
    return f"(2 * ({numerator}) + {denominator}) // (2 * {denominator})"


def numeric(value: object) -> Decimal | None:
    """An event property as a count: a JSON number, or text holding one, from 0 to 10^9; None
    for anything else (a missing property, true/false, "lots", a negative or endless number)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not (number.is_finite() and 0 <= number <= MOST_PROPERTY):
        return None
    # Six decimals at most, cut down: "1e-999999999" must not become a fraction with a
    # denominator of a billion digits.
    return number.quantize(SIX_PLACES, rounding=ROUND_FLOOR)


def _points_per_unit(action: PointsPerUnit, rule: EarnRule, count: str, bind: Bind) -> str:
    num, den = _ratio(action.rate)
    mode = action.rounding
    whole = action.per == "whole_unit"
    if rule.trigger in SPENDING:
        spent = f"{count}[1]" if action.per_item and rule.conditions.items else "f.amount"
        if whole:
            # whole currency units first (2399 pence -> 23 pounds), then the rate
            units = bind(tuple(10**e for e in range(10)))
            return _divided(f"{spent} // {units}[f.exponent] * {num}", str(den), mode)
        # minor units -> currency units: one denominator per currency exponent, made once
        scale = bind(tuple(den * 10**e for e in range(10)))
        return _divided(f"{spent} * {num}", f"{scale}[f.exponent]", mode)

    def value_points(value: Decimal) -> int:
        if whole:
            value = Decimal(int(value))  # whole hours: 2.75 counts 2
        value_num, value_den = value.as_integer_ratio()
        return divide(value_num * num, value_den * den, mode)

    name = action.event_property
    if name is None:
        return f"{bind(value_points)}(f.value)"

    def property_points(properties: Mapping[str, object] | None) -> int:
        value = numeric(properties.get(name)) if properties else None
        return 0 if value is None else value_points(value)

    return f"{bind(property_points)}(f.properties)"


def amount(rule: EarnRule, count: str, bind: Bind) -> Amount:
    """The rule's award; `count` names the (quantity, value) of its matching items."""
    action = rule.action
    if isinstance(action, PointsPerUnit):
        why = f"{action.rate} points per " + (
            "whole unit" if action.per == "whole_unit" else "unit"
        )
        why += " of matching items" if action.per_item else ""
        why += f" of {action.event_property}" if action.event_property else ""
        return Amount(POINTS, why, _points_per_unit(action, rule, count, bind))
    if isinstance(action, FixedPoints):
        return Amount(POINTS, f"{action.points} points", None, action.points)
    if isinstance(action, Stamps):
        per, card = action.stamps, f"stamps.{action.card}"
        if action.per_item and rule.conditions.items is not None:
            return Amount(card, "stamps", f"{per} * int({count}[0])")
        return Amount(card, f"{per} stamp(s)", None, per)
    if isinstance(action, CashbackPercent):
        num, den = _ratio(action.percent)
        expression = _divided(f"f.amount * {num}", str(den * 100), action.rounding)
        return Amount("cashback", f"{action.percent}% back", expression)
    if isinstance(action, CashbackFixed):
        back, per = action.amount, action.per
        return Amount("cashback", f"{back} back per {per} spent", f"{back} * (f.amount // {per})")
    if isinstance(action, InstantReward):
        return Amount(f"reward.{action.reward}", f"reward {action.reward}", None, action.quantity)
    assert isinstance(action, Multiplier)
    return Amount(POINTS, f"x{action.factor}", None, 0)


def property_problem(
    rules: Sequence[EarnRule], trigger: str, event: str | None, properties: Mapping[str, object]
) -> str | None:
    """What is wrong with an event's properties for the rules it runs: a property a rule counts
    that is there but is not a number from 0 to 10^9. A missing one earns nothing and is no
    error (the rule is then simply not met)."""
    for rule in rules:
        action = rule.action
        runs = (
            rule.active and rule.trigger == trigger and (trigger != "custom" or rule.event == event)
        )
        if not (runs and isinstance(action, PointsPerUnit) and action.event_property):
            continue
        name = action.event_property
        if name in properties and numeric(properties[name]) is None:
            return (
                f"the property {name!r} must be a number from 0 to 1000000000: "
                f"the rule {rule.id!r} counts it"
            )
    return None
