"""Paying at the till with what the program gave: cashback as money, points at the program's
value per point, each within its limits and through the ledger (never below zero)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Invalid
from lealtad.ledger import adjustments
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rules import service as rules
from lealtad.tenancy.model import Principal


def pay_with_cashback(
    conn: Connection,
    principal: Principal,
    business: Any,
    member: Any,
    data: PurchaseIn,
    now: datetime,
) -> None:
    if data.cashback_redeem == 0:
        return
    if member is None:
        raise Invalid("cashback can only be redeemed by a member", code="member_required")
    if data.cashback_redeem > data.amount:
        raise Invalid("cashback cannot pay more than the purchase", code="cashback_exceeds_amount")
    least = rules.in_force(conn, business.id, now).definition.cashback.redemption_minimum
    if data.cashback_redeem < least:
        raise Invalid(
            f"cashback is redeemed from {least} (minor units) upwards",
            code="below_redemption_minimum",
            details={"minimum": least},
        )
    adjustments.spend(
        conn,
        business.id,
        member.id,
        unit="cashback",
        amount=data.cashback_redeem,
        memo=f"cashback paid purchase {data.receipt_id}",
        actor=principal.actor,
        now=now,
    )


def pay_with_points(
    conn: Connection,
    principal: Principal,
    business: Any,
    member: Any,
    data: PurchaseIn,
    now: datetime,
    *,
    spend: bool,
) -> int:
    """The discount in minor units that `points_redeem` points buy; spends them when asked."""
    points = data.points_redeem
    if points == 0:
        return 0
    if member is None:
        raise Invalid("points can only be used by a member", code="member_required")
    policy = rules.in_force(conn, business.id, now).definition.points
    if policy.value_per_point <= 0:
        raise Invalid("this program's points do not pay at the till", code="points_not_payment")
    if points < policy.pay_min_points:
        raise Invalid(
            f"points pay from {policy.pay_min_points} points upwards",
            code="below_points_minimum",
            details={"minimum": policy.pay_min_points},
        )
    if policy.pay_max_points is not None and points > policy.pay_max_points:
        raise Invalid(
            f"at most {policy.pay_max_points} points pay one purchase",
            code="above_points_maximum",
            details={"maximum": policy.pay_max_points},
        )
    discount = int(points * policy.value_per_point)
    if discount > data.amount - data.cashback_redeem:
        raise Invalid("points cannot pay more than the purchase", code="points_exceed_amount")
    if spend:
        adjustments.spend(
            conn,
            business.id,
            member.id,
            unit="points",
            amount=points,
            memo=f"points paid {discount} of purchase {data.receipt_id}",
            actor=principal.actor,
            now=now,
        )
    return discount
