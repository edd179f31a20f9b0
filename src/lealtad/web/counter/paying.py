"""Paying part of a sale with the member's balance at the counter: cashback as money and points
at the value the program gives them at the till, exactly as POST /api/v1/purchases takes them
(`cashback_redeem`, `points_redeem`), behind the member's card PIN when they set one, unless the
wallet's rotating code was scanned (members.pin.require_at_counter). Without this, a cashback or "points pay at the till"
program could only be spent through the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lealtad.web.counter.forms import FormError, Translate, parse_amount

MOST_POINTS = 10**9


@dataclass(frozen=True)
class BalancePayment:
    """What the customer pays with their balance: cashback in minor units, points as points."""

    cashback: int = 0
    points: int = 0

    def __bool__(self) -> bool:
        return bool(self.cashback or self.points)


def read(cashback: str, points: str, currency: str, _: Translate) -> BalancePayment:
    """The form's two optional fields; empty means none."""
    minor = parse_amount(cashback, currency, _, allow_zero=True) if cashback.strip() else 0
    text = points.strip().replace(".", "").replace("\u00a0", "").replace(" ", "")
    if text and (not text.isdigit() or int(text) > MOST_POINTS):
        raise FormError(_("Points to use must be a whole number of points."))
    return BalancePayment(cashback=minor, points=int(text or 0))


def offer(
    definition: Any, held: dict[str, int], names: Any, money: Any, _: Translate
) -> dict[str, Any] | None:
    """What the member could pay with now, for the purchase form; None when nothing."""
    cashback = held.get("cashback", 0)
    policy = definition.points if definition is not None else None
    value = policy.value_per_point if policy is not None else 0
    points = held.get("points", 0) if value > 0 else 0
    if cashback <= 0 and points <= 0:
        return None
    found: dict[str, Any] = {}
    if cashback > 0:
        found["cashback_help"] = _("Up to %(amount)s.") % {"amount": money(cashback)}
    if points > 0:
        worth = money(int(points * value))
        found["points_help"] = _("The member has %(points)s, worth %(amount)s.") % {
            "points": names.amount("points", points),
            "amount": worth,
        }
        if policy is not None and policy.pay_min_points:
            found["points_help"] += " " + _("At least %(points)s a time.") % {
                "points": names.amount("points", policy.pay_min_points)
            }
    return found


def paid_texts(answer: dict[str, Any], names: Any, money: Any, _: Translate) -> list[str]:
    """What the sale took from the member's balance, as staff read it out."""
    texts = []
    if answer.get("cashback_redeemed"):
        texts.append(
            _("Paid with cashback: %(amount)s") % {"amount": money(answer["cashback_redeemed"])}
        )
    if answer.get("points_redeemed"):
        texts.append(
            _("Paid with points: %(points)s")
            % {"points": names.amount("points", answer["points_redeemed"])}
        )
    return texts
