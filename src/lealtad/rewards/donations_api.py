"""JSON routes of causes (manager and up defines them) and of members' donations to them."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from lealtad.deps import AppSettings, CurrentPrincipal, Db, IdempotencyKey, Manager, Now
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import Cursor, IdPath, Limit
from lealtad.members import pin
from lealtad.rewards import donations
from lealtad.rewards.donations import CauseIn, CauseOut, CausePatch, DonationIn, DonationOut
from lealtad.security import limits_api
from lealtad.tenancy import service as tenancy

router = APIRouter(prefix="/api/v1", tags=["donations"], responses=ERROR_RESPONSES)


@router.post("/causes", response_model=CauseOut, status_code=201)
def create_cause(body: CauseIn, principal: Manager, db: Db, now: Now) -> CauseOut:
    """A cause members can donate points to, named and described in Spanish and English."""
    with db.transaction() as conn:
        cause_id = donations.create_cause(conn, principal.business_id, body, now)
        tenancy.audit(
            conn, principal, "cause.create", f"cause:{cause_id}", now, name=body.name.model_dump()
        )
        return donations.get_cause(conn, principal.business_id, cause_id)


@router.get("/causes", response_model=list[CauseOut])
def causes(principal: CurrentPrincipal, db: Db) -> list[CauseOut]:
    """Every cause, inactive ones included, with the points donated and how many members gave."""
    with db.read() as conn:
        return donations.list_causes(conn, principal.business_id)


@router.get("/causes/{cause_id}", response_model=CauseOut)
def cause(cause_id: IdPath, principal: CurrentPrincipal, db: Db) -> CauseOut:
    with db.read() as conn:
        return donations.get_cause(conn, principal.business_id, cause_id)


@router.patch("/causes/{cause_id}", response_model=CauseOut)
def update_cause(
    cause_id: IdPath, body: CausePatch, principal: Manager, db: Db, now: Now
) -> CauseOut:
    """Rename, redescribe, or stop (active: false) and resume a cause; its donations stay."""
    with db.transaction() as conn:
        before = donations.get_cause(conn, principal.business_id, cause_id)
        donations.update_cause(conn, principal.business_id, cause_id, body)
        after = donations.get_cause(conn, principal.business_id, cause_id)
        tenancy.audit_change(
            conn, principal, "cause.update", f"cause:{cause_id}", now, before, after
        )
        return after


@router.post(
    "/members/{member_id}/donations",
    response_model=DonationOut,
    status_code=201,
    responses=limits_api.LIMITED,
)
def donate(
    member_id: IdPath,
    body: DonationIn,
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Give points to an active cause: they leave the member's balance, soonest-expiring first,
    never below zero (409 insufficient_balance). A member with a card PIN must give it
    (`card_pin`; 403 card_pin_required / card_pin_wrong, 429 after repeated wrong PINs) unless
    `card_code` is their wallet's rotating code, as for a redemption. With an Idempotency-Key,
    a retry returns the first answer and donates nothing more."""
    bid, secret = principal.business_id, settings.effective_secret_key
    with db.read() as conn:
        present = pin.wallet_code_names(conn, bid, member_id, secret, body.card_code, now)
    pin.require(db, request, bid, member_id, body.card_pin, present=present, now=now)
    with db.transaction() as conn:
        status, answer = donations.donate(
            conn, principal, member_id, body, now, idempotency_key=idempotency_key
        )
    return JSONResponse(answer, status_code=status)


@router.get("/members/{member_id}/donations", response_model=list[DonationOut])
def member_donations(
    member_id: IdPath,
    principal: CurrentPrincipal,
    db: Db,
    limit: Limit = 50,
    before: Cursor = None,
) -> list[DonationOut]:
    """The member's donations, newest first."""
    with db.read() as conn:
        return donations.member_donations(
            conn, principal.business_id, member_id, limit=limit, before=before
        )
