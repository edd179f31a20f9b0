"""JSON routes of the rewards catalog, redemptions and vouchers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from lealtad.db import group_commit
from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now
from lealtad.errors import LealtadError
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import IdPath, Limit
from lealtad.members import cards, pin
from lealtad.members import service as members
from lealtad.purchases.batch_steps import once_per_batch
from lealtad.rewards import ratings, redemption, service, setwise, store
from lealtad.rewards.schemas import (
    FulfilmentIn,
    RedeemIn,
    RewardIn,
    RewardOut,
    RewardPatch,
    ValidateIn,
    VoucherOut,
)
from lealtad.security import limits, limits_api
from lealtad.tenancy import service as tenancy
from lealtad.tenancy.model import Role

router = APIRouter(prefix="/api/v1", tags=["rewards"], responses=ERROR_RESPONSES)
Code = Annotated[str, Path(min_length=1, max_length=40)]


@router.post("/rewards", response_model=RewardOut, status_code=201)
def create_reward(body: RewardIn, principal: Manager, db: Db, now: Now) -> RewardOut:
    with db.transaction() as conn:
        reward_id = service.create(conn, principal.business_id, body, now)
        created = service.out(service.get(conn, principal.business_id, reward_id))
        tenancy.audit_created(conn, principal, "reward.create", f"reward:{reward_id}", now, created)
        return created


@router.get("/rewards", response_model=list[RewardOut])
def catalog(principal: CurrentPrincipal, db: Db) -> list[RewardOut]:
    """The whole catalog, inactive rewards included, with ratings."""
    with db.read() as conn:
        return [
            service.out(r) for r in store.catalog(conn, principal.business_id, active_only=False)
        ]


@router.get("/rewards/{reward_id}", response_model=RewardOut)
def reward(reward_id: IdPath, principal: CurrentPrincipal, db: Db) -> RewardOut:
    with db.read() as conn:
        return service.out(service.get(conn, principal.business_id, reward_id))


@router.patch("/rewards/{reward_id}", response_model=RewardOut)
def update_reward(
    reward_id: IdPath, body: RewardPatch, principal: Manager, db: Db, now: Now
) -> RewardOut:
    with db.transaction() as conn:
        before = service.out(service.get(conn, principal.business_id, reward_id))
        service.update(conn, principal.business_id, reward_id, body)
        after = service.out(service.get(conn, principal.business_id, reward_id))
        tenancy.audit_change(
            conn, principal, "reward.update", f"reward:{reward_id}", now, before, after
        )
        return after


@router.get("/members/{member_id}/rewards", response_model=list[RewardOut])
def member_catalog(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, now: Now
) -> list[RewardOut]:
    """The rewards this member can see now, and whether their balance covers each."""
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        return service.for_member(conn, principal.business_id, member_id, now)


@router.post(
    "/members/{member_id}/redemptions",
    response_model=VoucherOut,
    status_code=201,
    responses=limits_api.LIMITED,
)
async def redeem(
    member_id: IdPath,
    body: RedeemIn,
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
) -> VoucherOut:
    """Spend the reward's cost and issue a voucher (a code and a QR) to show at the counter.
    A member with a card PIN must give it (`card_pin`; 403 card_pin_required / card_pin_wrong,
    429 after repeated wrong PINs) unless `card_code` is their wallet's rotating code."""
    bid, secret = principal.business_id, settings.effective_secret_key
    await run_in_threadpool(_require_pin, db, request, bid, member_id, body, secret, now)

    def write(conn: Connection) -> VoucherOut:
        return redemption.redeem(
            conn, principal, member_id, body.reward_id, now, occurred_at=body.occurred_at
        )

    # Gathered with the process's other purchases and redemptions into one transaction
    # (db/group_commit.py), neighbouring redemptions written set-wise (rewards/setwise.py);
    # answered after the commit.
    asked = setwise.Asked(principal, member_id, body.reward_id, now, body.occurred_at)
    together = group_commit.Together(setwise.redeem_all, asked)
    voucher: VoucherOut = await group_commit.committed(
        db, bid, write, around=once_per_batch, together=together
    )
    return voucher


def _require_pin(
    db: Db,
    request: Request,
    bid: int,
    member_id: int,
    body: RedeemIn,
    secret: str,
    now: datetime,
) -> None:
    with db.read() as conn:
        present = pin.wallet_code_names(conn, bid, member_id, secret, body.card_code, now)
    pin.require(db, request, bid, member_id, body.card_pin, present=present, now=now)


@router.get("/members/{member_id}/vouchers", response_model=list[VoucherOut])
def member_vouchers(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, limit: Limit = 50
) -> list[VoucherOut]:
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        rows = store.member_vouchers(conn, principal.business_id, member_id, limit)
        slugs = {
            r.id: r.slug for r in store.catalog(conn, principal.business_id, active_only=False)
        }
        return [redemption.voucher_out(conn, r, slugs[r.reward_id]) for r in rows]


@router.get("/vouchers/{code}", response_model=VoucherOut, responses=limits_api.LIMITED)
def voucher(
    code: Code, request: Request, principal: CurrentPrincipal, db: Db, now: Now
) -> VoucherOut:
    """Unknown codes count towards a lock of the caller and the address (429), against guessing."""

    def look() -> VoucherOut:
        with db.read() as conn:
            return redemption.get_voucher(conn, principal.business_id, code)

    guard = limits.voucher_attempt(db, request, principal, now)
    return limits.guarded(guard, _unknown_voucher, look)


def _unknown_voucher(exc: LealtadError) -> bool:
    return exc.code == "voucher_not_found"


@router.get(
    "/vouchers/{code}/qr.svg",
    response_class=Response,
    responses=ERROR_RESPONSES | {200: {"content": {"image/svg+xml": {}}}},
)
def voucher_qr(code: Code, principal: CurrentPrincipal, db: Db) -> Response:
    with db.read() as conn:
        found = redemption.get_voucher(conn, principal.business_id, code)
    return Response(cards.qr_image(found.code, "svg", 8), media_type="image/svg+xml")


@router.post("/vouchers/{code}/validate", response_model=VoucherOut, responses=limits_api.LIMITED)
def validate(
    code: Code, body: ValidateIn, request: Request, principal: CurrentPrincipal, db: Db, now: Now
) -> VoucherOut:
    """Use the voucher at a location, once. A second validation is a 409 saying when and where.
    Unknown codes count towards a lock of the caller and the address (429), against guessing."""

    def use() -> VoucherOut:
        with db.transaction() as conn:
            return redemption.validate(conn, principal, code, body.location_id, now)

    guard = limits.voucher_attempt(db, request, principal, now)
    return limits.guarded(guard, _unknown_voucher, use)


@router.post("/vouchers/{code}/cancel", response_model=VoucherOut)
def cancel(code: Code, principal: CurrentPrincipal, db: Db, now: Now) -> VoucherOut:
    """Cancel an unused voucher; its cost goes back to the member."""
    with db.transaction() as conn:
        return redemption.cancel(conn, principal, code, now)


@router.post("/vouchers/{code}/fulfilment", response_model=VoucherOut)
def fulfil(code: Code, body: FulfilmentIn, principal: Manager, db: Db, now: Now) -> VoucherOut:
    """Move a physical gift along: shipped, delivered, or cancelled before it ships."""
    with db.transaction() as conn:
        return redemption.fulfil(conn, principal, code, body.fulfilment, now)


@router.post("/members/{member_id}/ratings", response_model=ratings.RatingOut, status_code=201)
def rate(
    member_id: IdPath, body: ratings.RatingIn, principal: CurrentPrincipal, db: Db, now: Now
) -> ratings.RatingOut:
    """A member rates a reward they redeemed, 1 to 5 stars with an optional text."""
    with db.transaction() as conn:
        return ratings.rate(conn, principal.business_id, member_id, body, now)


@router.get("/rewards/{reward_id}/ratings", response_model=list[ratings.RatingOut])
def reward_ratings(
    reward_id: IdPath, principal: CurrentPrincipal, db: Db
) -> list[ratings.RatingOut]:
    """The reward's ratings, newest first; managers also see the hidden ones."""
    with db.read() as conn:
        return ratings.of_reward(
            conn,
            principal.business_id,
            reward_id,
            include_hidden=principal.role.allows(Role.manager),
        )


@router.patch("/ratings/{rating_id}", response_model=ratings.RatingOut)
def moderate(
    rating_id: IdPath, body: ratings.ModerationIn, principal: Manager, db: Db, now: Now
) -> ratings.RatingOut:
    """Hide a rating from the catalog (or show it again); the average follows."""
    with db.transaction() as conn:
        found = ratings.moderate(conn, principal.business_id, rating_id, body.hidden)
        tenancy.audit(
            conn, principal, "rating.moderate", f"rating:{rating_id}", now, hidden=body.hidden
        )
        return found
