"""An earn rule's action as source for the walk that rules.compile generates: the amount as an
integer expression over the transaction (or a constant known when the program is compiled),
its unit and why it is given. Inlined rather than called, because a call per matching rule
was a fifth of an evaluation's time (docs/benchmarks.md, P3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from lealtad.rules.definition import (
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
SPENDING = frozenset({"purchase", "refund", "referral"})
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


def _points_per_unit(action: PointsPerUnit, rule: EarnRule, count: str, bind: Bind) -> str:
    num, den = _ratio(action.rate)
    mode = action.rounding
    if rule.trigger in SPENDING:
        spent = f"{count}[1]" if action.per_item and rule.conditions.items else "f.amount"
        # minor units -> currency units: one denominator per currency exponent, made once
        scale = bind(tuple(den * 10**e for e in range(10)))
        return _divided(f"{spent} * {num}", f"{scale}[f.exponent]", mode)

    def value_points(value: Decimal) -> int:
        value_num, value_den = value.as_integer_ratio()
        return divide(value_num * num, value_den * den, mode)

    return f"{bind(value_points)}(f.value)"


def amount(rule: EarnRule, count: str, bind: Bind) -> Amount:
    """The rule's award; `count` names the (quantity, value) of its matching items."""
    action = rule.action
    if isinstance(action, PointsPerUnit):
        why = f"{action.rate} points per unit" + (" of matching items" if action.per_item else "")
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
