"""Refunds take back a purchase's awards in proportion to the money returned."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.analytics import rollups
from lealtad.comms.outbox import emit
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.kit.clock import naive_utc
from lealtad.kit.money import minor_exponent
from lealtad.ledger import idempotency
from lealtad.ledger import service as ledger
from lealtad.ledger import store as ledger_store
from lealtad.ledger.model import (
    CASHBACK_ACCOUNT,
    PENDING_POINTS_ACCOUNT,
    POINTS_ACCOUNT,
    Entry,
    MemberLeg,
    SystemLeg,
)
from lealtad.members import service as members
from lealtad.purchases import store
from lealtad.purchases.schemas import RefundIn, RefundOut
from lealtad.purchases.service import occurred
from lealtad.rules import apply
from lealtad.rules.facts import Facts
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal

# Where each unit's award can sit, in the order a refund takes it back: points not yet unlocked
# first, so the member keeps as much spendable balance as the refund allows. A stamp card's
# stamps come back from what is left on that card, its own account (decisions D12).
SOURCES = {"points": (PENDING_POINTS_ACCOUNT, POINTS_ACCOUNT), "cashback": (CASHBACK_ACCOUNT,)}


def owed_after(awarded: int, refunded_total: int, amount: int) -> int:
    """Cumulative units owed back once `refunded_total` of `amount` is refunded. Rounding the
    running total, not each refund, means partial refunds add up to exactly the full reversal."""
    if amount == 0:
        return awarded
    share = Decimal(awarded) * Decimal(refunded_total) / Decimal(amount)
    return int(share.to_integral_value(rounding=ROUND_HALF_UP))


def refund(
    conn: Connection,
    principal: Principal,
    data: RefundIn,
    *,
    now: datetime,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    bid = principal.business_id
    key = idempotency_key or f"refund:{data.refund_id}"
    replay = idempotency.begin(conn, bid, key, data.model_dump(mode="json"), now)
    if replay is not None:
        return replay.status_code, replay.body
    found = store.purchase_by_receipt(conn, bid, data.receipt_id)
    if found is None:
        raise NotFound(f"no purchase with receipt {data.receipt_id!r}", code="purchase_not_found")
    purchase = store.lock_purchase(conn, bid, found.id)
    if store.refund_by_ref(conn, bid, data.refund_id) is not None:
        raise Conflict(
            f"refund {data.refund_id!r} was already recorded with another idempotency key",
            code="duplicate_refund",
        )
    left = purchase.amount - purchase.refunded_amount
    amount = data.amount if data.amount is not None else left
    if amount <= 0 or amount > left:
        raise Invalid(
            f"only {left} of this purchase is left to refund",
            code="refund_exceeds_purchase",
            details={"refundable": left},
        )
    at = occurred(data.occurred_at, now)
    refunded_total = purchase.refunded_amount + amount
    owed = _owed_now(conn, bid, purchase, refunded_total)
    refund_id = store.insert_refund(
        conn,
        business_id=bid,
        refund_id=data.refund_id,
        purchase_id=purchase.id,
        amount=amount,
        owed={unit: sum(by_member.values()) for unit, by_member in owed.items()},
        shortfall={},
        occurred_at=naive_utc(at),
        recorded_at=naive_utc(now),
    )
    store.set_refunded(conn, bid, purchase.id, refunded_total)
    rollups.on_refund(
        conn,
        bid,
        refund_id,
        member_id=purchase.member_id,
        location_id=purchase.location_id,
        staff_id=purchase.staff_id,
        amount=amount,
        at=at,
    )
    reversed_, shortfall = _take_back(conn, principal, purchase, refund_id, owed, at, now)
    tier_change = _after_refund(conn, principal, purchase, amount, at, now)
    if shortfall:
        store.set_refund_shortfall(conn, bid, refund_id, shortfall)
    body = RefundOut(
        id=refund_id,
        refund_id=data.refund_id,
        purchase_id=purchase.id,
        amount=amount,
        reversed=reversed_,
        shortfall=shortfall,
        tier_changed=tier_change is not None,
        balances=ledger.balances(conn, bid, purchase.member_id) if purchase.member_id else None,
    ).model_dump(mode="json")
    emit(conn, bid, "refund.recorded", body, now)
    idempotency.finish(conn, bid, key, 201, body)
    return 201, body


def _after_refund(
    conn: Connection, principal: Principal, purchase: Any, amount: int, at: datetime, now: datetime
) -> tuple[str | None, str | None] | None:
    """Runs the program's refund rules and re-checks the tier. A tier earned with the refunded
    purchase is not taken away here: it holds until its window and grace run out, and the review
    then counts spend net of refunds."""
    if purchase.member_id is None:
        return None
    business = tenancy.get_business(conn, principal.business_id)
    member = members.get(conn, principal.business_id, purchase.member_id)
    facts = Facts(
        trigger="refund",
        occurred_at=at,
        tz=ZoneInfo(business.timezone),
        amount=amount,
        exponent=minor_exponent(business.currency),
    )
    context = apply.context_for(
        conn,
        principal.business_id,
        member,
        purchase.id,
        at=facts.occurred_at,
        for_program_in_force=True,
    )
    outcome = apply.apply(
        conn,
        principal.business_id,
        context,
        facts,
        now=now,
        actor=principal.actor,
        # Not linked to the purchase: a later refund must not take back what a refund rule gave.
        purchase_id=None,
        memo=f"refund of {purchase.receipt_id}",
    )
    return outcome.tier_change


def _owed_now(
    conn: Connection, bid: int, purchase: Any, refunded_total: int
) -> dict[str, dict[int, int]]:
    """Units this refund owes back, per unit and member."""
    awarded: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for member_id, _code, unit, total in ledger_store.purchase_awards(conn, bid, purchase.id):
        awarded[unit][member_id] += int(total)
    before: dict[str, int] = defaultdict(int)
    for row in store.purchase_refunds(conn, bid, purchase.id):
        for unit, units in row.owed.items():
            before[unit] += int(units)
    owed: dict[str, dict[int, int]] = {}
    for unit, by_member in awarded.items():
        for member_id, total in by_member.items():
            due = owed_after(total, refunded_total, purchase.amount) - before[unit]
            if due > 0:
                owed.setdefault(unit, {})[member_id] = due
    return owed


def _take_back(
    conn: Connection,
    principal: Principal,
    purchase: Any,
    refund_id: int,
    owed: dict[str, dict[int, int]],
    at: datetime,
    now: datetime,
) -> tuple[dict[str, int], dict[str, int]]:
    """Takes back what the balances hold, never below zero; the rest is the shortfall (units the
    member already spent), recorded on the refund for the business to see."""
    bid = principal.business_id
    legs: list[MemberLeg | SystemLeg] = []
    reversed_: dict[str, int] = {}
    shortfall: dict[str, int] = {}
    for unit, by_member in owed.items():
        for member_id, due in by_member.items():
            left = due
            for code in SOURCES.get(unit, (unit,) if unit.startswith("stamps.") else ()):
                held = ledger.lock_member_balance(conn, bid, member_id, code, unit, now)
                take = min(left, held)
                if take > 0:
                    legs.append(
                        MemberLeg(member_id, code, unit, -take, prefer_purchase_id=purchase.id)
                    )
                    reversed_[code] = reversed_.get(code, 0) + take
                    left -= take
            taken = due - left
            if taken:
                legs.append(SystemLeg("reversed", unit, taken))
            if left:
                shortfall[unit] = shortfall.get(unit, 0) + left
    if legs:
        entry = Entry(
            kind="refund",
            memo=f"refund of purchase {purchase.receipt_id}",
            legs=tuple(legs),
            occurred_at=at,
            member_id=purchase.member_id,
            purchase_id=purchase.id,
            refund_id=refund_id,
            actor=principal.actor,
        )
        ledger.post(conn, bid, entry, now)
    return reversed_, shortfall
