"""JSON routes of a member's tier: where they are, how far to the next, a manager's floor."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from lealtad.deps import CurrentPrincipal, Db, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import as_utc
from lealtad.kit.ids import IdPath
from lealtad.members import service as members
from lealtad.rules.service import in_force
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Principal
from lealtad.tiers import model, service, store

router = APIRouter(prefix="/api/v1", tags=["tiers"], responses=ERROR_RESPONSES)


class TierOut(BaseModel):
    member_id: int
    tier: str | None
    tier_name: str | None
    since: datetime | None
    held_until: datetime | None
    floor: str | None
    metric: str | None
    value: Decimal
    next_tier: str | None
    next_tier_name: str | None
    next_threshold: Decimal | None
    remaining: Decimal | None
    perks: list[str]


class FloorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tier: str | None = Field(default=None, max_length=64, description="null removes the floor")


def tier_out(conn: Connection, principal: Principal, member_id: int, now: datetime) -> TierOut:
    """A member's tier, how long it holds and the way to the next (the API and the console)."""
    members.get(conn, principal.business_id, member_id)
    business = tenancy.get_business(conn, principal.business_id)
    policy = in_force(conn, principal.business_id, now).definition.tiers
    row = store.status(conn, principal.business_id, member_id)
    current = row.tier_id if row else None
    value = (
        service.metric(
            conn, principal.business_id, member_id, policy, now, ZoneInfo(business.timezone)
        )
        if policy
        else Decimal(0)
    )
    progress = model.progress(policy, current, value) if policy else None
    perks = next((t.perks for t in policy.levels if t.id == current), []) if policy else []
    return TierOut(
        member_id=member_id,
        tier=current,
        tier_name=progress.tier_name if progress else None,
        since=as_utc(row.since) if row and row.since else None,
        held_until=as_utc(row.held_until) if row and row.held_until else None,
        floor=row.floor_tier_id if row else None,
        metric=policy.metric if policy else None,
        value=value,
        next_tier=progress.next_tier_id if progress else None,
        next_tier_name=progress.next_tier_name if progress else None,
        next_threshold=progress.next_threshold if progress else None,
        remaining=progress.remaining if progress else None,
        perks=perks,
    )


@router.get("/members/{member_id}/tier", response_model=TierOut)
def tier(member_id: IdPath, principal: CurrentPrincipal, db: Db, now: Now) -> TierOut:
    """The member's tier, how long it holds, and the progress to the next one."""
    with db.read() as conn:
        return tier_out(conn, principal, member_id, now)


@router.put("/members/{member_id}/tier-floor", response_model=TierOut)
def set_floor(member_id: IdPath, body: FloorIn, principal: Manager, db: Db, now: Now) -> TierOut:
    """A tier the member never drops below (manager role and up), e.g. for a key account."""
    with db.transaction() as conn:
        members.get(conn, principal.business_id, member_id)
        business = tenancy.get_business(conn, principal.business_id)
        policy = in_force(conn, principal.business_id, now).definition.tiers
        service.set_floor(
            conn,
            principal.business_id,
            member_id,
            policy,
            body.tier,
            principal.actor,
            now,
            ZoneInfo(business.timezone),
        )
        tenancy.audit(conn, principal, "tier.floor", f"member:{member_id}", now, tier=body.tier)
        return tier_out(conn, principal, member_id, now)
