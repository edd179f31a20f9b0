"""What a refund takes back, planned as values: no database, no framework, no clock. The caller
reads what the purchase awarded, what earlier refunds owed and what the member's accounts hold,
and writes the plan's legs as one ledger entry (purchases/refunds.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from lealtad.ledger.model import (
    CASHBACK_ACCOUNT,
    PENDING_POINTS_ACCOUNT,
    POINTS_ACCOUNT,
    MemberLeg,
    SystemLeg,
)

# Where each unit's award can sit, in the order a refund takes it back: points not yet unlocked
# first, so the member keeps as much spendable balance as the refund allows. A stamp card's
# stamps come back from what is left on that card, its own account (decisions D12).
_SOURCES = {"points": (PENDING_POINTS_ACCOUNT, POINTS_ACCOUNT), "cashback": (CASHBACK_ACCOUNT,)}

# Units owed back, per unit and member: {"points": {member id: 12}}.
Owed = dict[str, dict[int, int]]


def sources(unit: str) -> tuple[str, ...]:
    """The accounts a unit is taken back from, in order (none for a unit no refund takes)."""
    return _SOURCES.get(unit, (unit,) if unit.startswith("stamps.") else ())


def owed_after(awarded: int, refunded_total: int, amount: int) -> int:
    """Cumulative units owed back once `refunded_total` of `amount` is refunded. Rounding the
    running total, not each refund, means partial refunds add up to exactly the full reversal."""
    if amount == 0:
        return awarded
    share = Decimal(awarded) * Decimal(refunded_total) / Decimal(amount)
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


def owed_now(
    awarded: Iterable[tuple[int, str, int]],
    owed_before: Iterable[Mapping[str, int]],
    amount: int,
    refunded_total: int,
) -> Owed:
    """What this refund owes back: the purchase's awards (member id, unit, units), the `owed`
    of the refunds before it, the purchase's amount and the total refunded with this one."""
    given: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, unit, units in awarded:
        given[unit][member_id] += units
    before: dict[str, int] = defaultdict(int)
    for owed in owed_before:
        for unit, units in owed.items():
            before[unit] += int(units)
    found: Owed = {}
    for unit, by_member in given.items():
        for member_id, total in by_member.items():
            due = owed_after(total, refunded_total, amount) - before[unit]
            if due > 0:
                found.setdefault(unit, {})[member_id] = due
    return found


@dataclass(frozen=True)
class TakeBack:
    """The refund's legs, what they take from each account, and what the accounts no longer
    held (the shortfall: units the member already spent, which the business sees)."""

    legs: tuple[MemberLeg | SystemLeg, ...]
    reversed: dict[str, int]
    shortfall: dict[str, int]


def take_back(owed: Owed, held: Mapping[tuple[int, str], int], purchase_id: int) -> TakeBack:
    """Takes back what `owed` asks from what the accounts hold ((member id, account code) ->
    balance, for every account `sources` names), never below zero."""
    legs: list[MemberLeg | SystemLeg] = []
    reversed_: dict[str, int] = {}
    shortfall: dict[str, int] = {}
    for unit, by_member in owed.items():
        for member_id, due in by_member.items():
            left = due
            for code in sources(unit):
                take = min(left, held[member_id, code])
                if take > 0:
                    legs.append(
                        MemberLeg(member_id, code, unit, -take, prefer_purchase_id=purchase_id)
                    )
                    reversed_[code] = reversed_.get(code, 0) + take
                    left -= take
            if due - left:
                legs.append(SystemLeg("reversed", unit, due - left))
            if left:
                shortfall[unit] = shortfall.get(unit, 0) + left
    return TakeBack(tuple(legs), reversed_, shortfall)
