"""A manager's manual adjustment: the one use case behind the API route and the console form."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.ledger import adjustments
from lealtad.members import service as members
from lealtad.rules import service as programs
from lealtad.rules.periods import expiry_for
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal


def adjust(
    conn: Connection,
    principal: Principal,
    member_id: int,
    *,
    unit: str,
    amount: int,
    reason: str,
    now: datetime,
) -> int:
    """Posts the adjustment (never below zero; added points expire as the program says) and
    writes it to the audit log with who made it; returns the journal entry id."""
    bid = principal.business_id
    members.get(conn, bid, member_id)
    business = tenancy.get_business(conn, bid)
    policy = programs.in_force(conn, bid, now).definition.points
    expires = expiry_for(
        now,
        policy.expiry,
        policy.expiry_days,
        ZoneInfo(business.timezone),
        policy.expiry_months,
    )
    entry_id = adjustments.adjust(
        conn,
        bid,
        member_id,
        unit=unit,
        amount=amount,
        reason=reason,
        actor=principal.actor,
        now=now,
        expires_at=expires if unit == "points" else None,
    )
    tenancy.audit(
        conn,
        principal,
        "ledger.adjust",
        f"member:{member_id}",
        now,
        unit=unit,
        amount=amount,
        reason=reason,
        entry_id=entry_id,
    )
    return entry_id
