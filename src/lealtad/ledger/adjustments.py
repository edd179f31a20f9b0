"""Manual adjustments and plain spends: a manager's correction with its reason, or units leaving a
member's balance (never below zero)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from lealtad.ledger import service
from lealtad.ledger.maturity import settle
from lealtad.ledger.model import CASHBACK_ACCOUNT, POINTS_ACCOUNT, Entry, MemberLeg, SystemLeg

ACCOUNT_OF_UNIT = {"points": POINTS_ACCOUNT, "cashback": CASHBACK_ACCOUNT}


def adjust(
    conn: Connection,
    business_id: int,
    member_id: int,
    *,
    unit: str,
    amount: int,
    reason: str,
    actor: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> int:
    """A positive adjustment is a new lot (expiring when the program says); a negative one takes
    from the soonest-expiring lots and never below zero."""
    code = ACCOUNT_OF_UNIT[unit]
    expires_at = expires_at if amount > 0 else None
    entry = Entry(
        kind="adjust",
        memo=reason,
        occurred_at=now,
        member_id=member_id,
        actor=actor,
        legs=(
            MemberLeg(member_id, code, unit, amount, expires_at=expires_at),
            SystemLeg("adjusted", unit, -amount),
        ),
    )
    return service.post(conn, business_id, entry, now)


def spend(
    conn: Connection,
    business_id: int,
    member_id: int,
    *,
    unit: str,
    amount: int,
    memo: str,
    actor: str,
    now: datetime,
    kind: str = "spend",
    to: str = "redeemed",
) -> int:
    """Takes `amount` from the member's soonest-expiring lots; InsufficientBalance if short."""
    # Units past their expiry must not pay for anything, even if the expiry job has not run yet.
    settle(conn, business_id, now, member_id=member_id)
    code = ACCOUNT_OF_UNIT[unit]
    entry = Entry(
        kind=kind,
        memo=memo,
        occurred_at=now,
        member_id=member_id,
        actor=actor,
        legs=(MemberLeg(member_id, code, unit, -amount), SystemLeg(to, unit, amount)),
    )
    return service.post(conn, business_id, entry, now)
