"""Causes a business supports and the points its members donate to them. A donation is one
ledger entry (kind "donate") from the member's points to the system account "donated", taken
from the soonest-expiring lots and never below zero; the donations row ties it to its cause, so a
cause's total and donor count are sums over those rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import Connection

from lealtad.errors import Conflict, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.ids import MAX_ID
from lealtad.ledger import adjustments, idempotency
from lealtad.ledger import service as ledger
from lealtad.members import service as members
from lealtad.rewards import donations_store as store
from lealtad.tenancy.model import Principal

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)
]


class CauseName(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: Name
    en: Name


class CauseDescription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    es: Description
    en: Description


class CauseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CauseName = Field(description="in Spanish and English, both required")
    description: CauseDescription = Field(description="in Spanish and English, both required")
    active: bool = True


class CausePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: CauseName | None = None
    description: CauseDescription | None = None
    active: bool | None = Field(default=None, description="false stops new donations")

    @model_validator(mode="after")
    def _no_nulls(self) -> CausePatch:
        for field in self.model_fields_set:
            if getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; leave it out to keep it")
        return self


class CauseOut(BaseModel):
    id: int
    name: dict[str, str]
    description: dict[str, str]
    active: bool
    created_at: datetime
    total_points: int = Field(description="points donated to this cause so far")
    donors: int = Field(description="distinct members who donated")
    donations: int


class DonationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cause_id: int = Field(ge=1, le=MAX_ID)
    points: int = Field(ge=1, le=10**9)
    # As for a redemption (RedeemIn): giving points away spends them, so the same proof.
    card_pin: str | None = Field(
        default=None,
        max_length=6,
        description="the member's card PIN, needed when they set one (card_pin_required)",
    )
    card_code: str | None = Field(
        default=None,
        max_length=120,
        description="the wallet's rotating code (LT2-...) just scanned: the PIN is not needed",
    )


class DonationOut(BaseModel):
    id: int
    cause_id: int
    cause_name: dict[str, str]
    member_id: int
    points: int
    entry_id: int
    created_at: datetime
    balances: dict[str, int] | None = Field(
        default=None, description="the member's balances after the donation (on create only)"
    )


# Causes


def _cause_out(row: Any) -> CauseOut:
    return CauseOut(
        id=row.id,
        name=row.name,
        description=row.description,
        active=row.active,
        created_at=as_utc(row.created_at),
        total_points=int(row.total_points or 0),
        donors=int(row.donors or 0),
        donations=int(row.donations or 0),
    )


def _no_cause(cause_id: int) -> NotFound:
    return NotFound(f"no cause {cause_id} in this business", code="cause_not_found")


def create_cause(conn: Connection, business_id: int, data: CauseIn, now: datetime) -> int:
    return store.insert_cause(
        conn,
        business_id,
        name=data.name.model_dump(),
        description=data.description.model_dump(),
        active=data.active,
        created_at=naive_utc(now),
    )


def get_cause(conn: Connection, business_id: int, cause_id: int) -> CauseOut:
    row = store.cause_with_totals(conn, business_id, cause_id)
    if row is None:
        raise _no_cause(cause_id)
    return _cause_out(row)


def list_causes(conn: Connection, business_id: int) -> list[CauseOut]:
    return [_cause_out(row) for row in store.causes_with_totals(conn, business_id)]


def update_cause(conn: Connection, business_id: int, cause_id: int, data: CausePatch) -> None:
    values: dict[str, Any] = {}
    if data.name is not None:
        values["name"] = data.name.model_dump()
    if data.description is not None:
        values["description"] = data.description.model_dump()
    if data.active is not None:
        values["active"] = data.active
    if not store.update_cause(conn, business_id, cause_id, **values):
        raise _no_cause(cause_id)


def _open_cause(conn: Connection, business_id: int, cause_id: int) -> Any:
    """The cause, held against a concurrent deactivation until commit."""
    row = store.held_cause(conn, business_id, cause_id)
    if row is None:
        raise _no_cause(cause_id)
    if not row.active:
        raise Conflict(
            "this cause no longer takes donations",
            code="cause_inactive",
            details={"cause_id": cause_id},
        )
    return row


# Donations


def donate(
    conn: Connection,
    principal: Principal,
    member_id: int,
    data: DonationIn,
    now: datetime,
    *,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any]]:
    """(HTTP status, answer). With an idempotency key, a replay returns the first answer and
    donates nothing more; the same key with another member or body is a 409."""
    bid = principal.business_id
    key = f"donation:{idempotency_key}" if idempotency_key else None
    if key is not None:
        # The PIN is never stored, not even in the replay record; nor is the one-minute code.
        given = data.model_dump(mode="json", exclude={"card_pin", "card_code"})
        payload = {"member_id": member_id} | given
        replay = idempotency.begin(conn, bid, key, payload, now)
        if replay is not None:
            return replay.status_code, replay.body
    member = members.get(conn, bid, member_id)
    members.require_active(member)
    cause = _open_cause(conn, bid, data.cause_id)
    # One spend per member at a time, as redemptions do; the balance check is also the write.
    members.lock_active(conn, bid, member, by_id=True)
    name = cause.name.get(member.locale) or cause.name["es"]
    entry_id = adjustments.spend(
        conn,
        bid,
        member.id,
        unit="points",
        amount=data.points,
        memo=f"donation to cause {cause.id}: {name}",
        actor=principal.actor,
        now=now,
        kind="donate",
        to="donated",
    )
    donation_id = store.insert_donation(
        conn,
        business_id=bid,
        cause_id=cause.id,
        member_id=member.id,
        points=data.points,
        entry_id=entry_id,
        created_at=naive_utc(now),
    )
    answer = DonationOut(
        id=donation_id,
        cause_id=cause.id,
        cause_name=cause.name,
        member_id=member.id,
        points=data.points,
        entry_id=entry_id,
        created_at=as_utc(now),
        balances=ledger.balances(conn, bid, member.id),
    )
    body = answer.model_dump(mode="json")
    if key is not None:
        idempotency.finish(conn, bid, key, 201, body)
    return 201, body


def member_donations(
    conn: Connection, business_id: int, member_id: int, *, limit: int, before: int | None = None
) -> list[DonationOut]:
    """The member's donations, newest first."""
    members.get(conn, business_id, member_id)
    return [
        DonationOut(
            id=row.id,
            cause_id=row.cause_id,
            cause_name=row.cause_name,
            member_id=row.member_id,
            points=int(row.points),
            entry_id=row.entry_id,
            created_at=as_utc(row.created_at),
        )
        for row in store.member_donations(conn, business_id, member_id, limit=limit, before=before)
    ]
