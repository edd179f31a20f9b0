"""Refunds take back a purchase's awards in proportion to the money returned."""

from __future__ import annotations

from datetime import datetime
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
    Entry,
)
from lealtad.members import service as members
from lealtad.purchases import refund_plan as plan
from lealtad.purchases import store
from lealtad.purchases.schemas import RefundIn, RefundOut
from lealtad.purchases.service import occurred
from lealtad.rules import apply
from lealtad.rules.facts import Facts
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal


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


def _owed_now(conn: Connection, bid: int, purchase: Any, refunded_total: int) -> plan.Owed:
    """Units this refund owes back, per unit and member."""
    awarded = [
        (member_id, unit, int(total))
        for member_id, _code, unit, total in ledger_store.purchase_awards(conn, bid, purchase.id)
    ]
    before = [row.owed for row in store.purchase_refunds(conn, bid, purchase.id)]
    return plan.owed_now(awarded, before, purchase.amount, refunded_total)


def _take_back(
    conn: Connection,
    principal: Principal,
    purchase: Any,
    refund_id: int,
    owed: plan.Owed,
    at: datetime,
    now: datetime,
) -> tuple[dict[str, int], dict[str, int]]:
    """Takes back what the balances hold, never below zero; the rest is the shortfall (units the
    member already spent), recorded on the refund for the business to see."""
    bid = principal.business_id
    held = {
        (member_id, code): ledger.lock_member_balance(conn, bid, member_id, code, unit, now)
        for unit, by_member in owed.items()
        for member_id in by_member
        for code in plan.sources(unit)
    }
    taken = plan.take_back(owed, held, purchase.id)
    if taken.legs:
        entry = Entry(
            kind="refund",
            memo=f"refund of purchase {purchase.receipt_id}",
            legs=taken.legs,
            occurred_at=at,
            member_id=purchase.member_id,
            purchase_id=purchase.id,
            refund_id=refund_id,
            actor=principal.actor,
        )
        ledger.post(conn, bid, entry, now)
    return taken.reversed, taken.shortfall
