"""JSON routes for a POS or shop: purchases and refunds, idempotent."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from lealtad.db import group_commit
from lealtad.deps import AppSettings, CurrentPrincipal, Db, IdempotencyKey, Now
from lealtad.errors import LealtadError
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import IdPath, Limit
from lealtad.members import pin
from lealtad.members import service as members
from lealtad.purchases import refunds, service, setwise, store
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.purchases.schemas import PurchaseIn, PurchaseOut, RefundIn, RefundOut
from lealtad.security import limits_api

router = APIRouter(prefix="/api/v1", tags=["purchases"], responses=ERROR_RESPONSES)


@router.post(
    "/purchases", response_model=PurchaseOut, status_code=201, responses=limits_api.LIMITED
)
async def record_purchase(
    body: PurchaseIn,
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    now: Now,
    settings: AppSettings,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record a sale, with or without a member, and award what the program gives. Replaying the
    same receipt (or Idempotency-Key) returns the first answer and awards nothing more.
    Paying with points or cashback needs the member's card PIN if they set one (card_pin)."""
    if body.points_redeem or body.cashback_redeem:
        pin_args = (body, request, principal.business_id, db, settings, now)
        await run_in_threadpool(_check_card_pin, *pin_args)
    # Checked; kept out of the stored request digest so that no trace of a PIN stays.
    sale = body.model_copy(update={"card_pin": None})
    secret_key = settings.effective_secret_key

    def write(conn: Connection) -> tuple[int, dict[str, Any]]:
        return service.record(
            conn, principal, sale, secret_key=secret_key, now=now, idempotency_key=idempotency_key
        )

    # Gathered with the process's other purchases into one transaction (db/group_commit.py),
    # where neighbouring purchases are written set-wise (purchases/setwise.py).
    asked = setwise.Asked(principal, sale, secret_key, now, idempotency_key)
    together = group_commit.Together(setwise.record_all, asked)
    status, answer = await group_commit.committed(
        db, principal.business_id, write, around=once_per_batch, together=together
    )
    return JSONResponse(answer, status_code=status)


@router.post("/purchases/preview", response_model=PurchaseOut)
def preview_purchase(
    body: PurchaseIn, principal: CurrentPrincipal, db: Db, now: Now, settings: AppSettings
) -> PurchaseOut:
    """What this purchase would earn now, rule by rule, without recording anything."""
    with db.read() as conn:
        return service.preview(
            conn, principal, body, secret_key=settings.effective_secret_key, now=now
        )


@router.get("/purchases/{purchase_id}", response_model=PurchaseOut)
def purchase(purchase_id: IdPath, principal: CurrentPrincipal, db: Db) -> PurchaseOut:
    with db.read() as conn:
        return service.get(conn, principal, purchase_id)


@router.get("/members/{member_id}/purchases", response_model=list[PurchaseOut])
def member_purchases(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, limit: Limit = 50
) -> list[PurchaseOut]:
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        rows = store.member_purchases(conn, principal.business_id, member_id, limit)
        return [service.get(conn, principal, r.id) for r in rows]


@router.post("/refunds", response_model=RefundOut, status_code=201)
async def refund(
    body: RefundIn,
    principal: CurrentPrincipal,
    db: Db,
    now: Now,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Refund all or part of a purchase; its awards are taken back in proportion."""

    def write(conn: Connection) -> tuple[int, dict[str, Any]]:
        return refunds.refund(conn, principal, body, now=now, idempotency_key=idempotency_key)

    status, answer = await group_commit.committed(
        db, principal.business_id, write, around=once_per_batch
    )
    return JSONResponse(answer, status_code=status)


def _check_card_pin(
    body: PurchaseIn, request: Request, business_id: int, db: Db, settings: Any, now: Any
) -> None:
    """The member named by the sale (an unknown one is left to the service's own 404)."""
    named: dict[str, Any] = {
        "member_id": body.member_id,
        "card_number": body.card_number,
        "qr_token": body.qr_token,
    }
    given = {key: value for key, value in named.items() if value is not None}
    if len(given) != 1:
        return
    secret = settings.effective_secret_key
    with db.read() as conn:
        try:
            member = members.find(conn, business_id, secret, now=now, **given)
        except LealtadError:
            return
    present = pin.is_rotating_code(body.qr_token)
    pin.require(db, request, business_id, member.id, body.card_pin, present=present, now=now)
