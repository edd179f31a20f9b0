"""JSON routes of the ledger as members see it: balances, history, manual adjustments."""

from __future__ import annotations

from fastapi import APIRouter

from lealtad.deps import CurrentPrincipal, Db, Manager, Now
from lealtad.errors import Invalid
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import as_utc
from lealtad.kit.ids import Cursor, IdPath, Limit
from lealtad.ledger import manual, service, store
from lealtad.ledger.model import CASHBACK_ACCOUNT, PENDING_POINTS_ACCOUNT, POINTS_ACCOUNT
from lealtad.ledger.schemas import BalanceOut, HistoryEntry
from lealtad.members import service as members
from lealtad.purchases.schemas import AdjustmentIn, AdjustmentOut

router = APIRouter(prefix="/api/v1", tags=["ledger"], responses=ERROR_RESPONSES)


@router.get("/members/{member_id}/balance", response_model=BalanceOut)
def balance(member_id: IdPath, principal: CurrentPrincipal, db: Db) -> BalanceOut:
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        held = service.balances(conn, principal.business_id, member_id)
        expiry = store.next_expiry(conn, principal.business_id, member_id, POINTS_ACCOUNT)
    return BalanceOut(
        member_id=member_id,
        points=held[POINTS_ACCOUNT],
        pending_points=held[PENDING_POINTS_ACCOUNT],
        cashback=held[CASHBACK_ACCOUNT],
        stamps={k.removeprefix("stamps."): v for k, v in held.items() if k.startswith("stamps.")},
        rewards={k.removeprefix("reward."): v for k, v in held.items() if k.startswith("reward.")},
        accounts=held,
        next_expiry=as_utc(expiry[0]) if expiry else None,
        next_expiry_amount=expiry[1] if expiry else 0,
    )


@router.get("/members/{member_id}/history", response_model=list[HistoryEntry])
def history(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, limit: Limit = 50, before: Cursor = None
) -> list[HistoryEntry]:
    """Every ledger entry of the member, newest first, with why it happened."""
    with db.read() as conn:
        members.get(conn, principal.business_id, member_id)
        rows = store.member_history(
            conn, principal.business_id, member_id, limit=limit, before=before
        )
    out: dict[int, HistoryEntry] = {}
    for r in rows:
        entry = out.get(r.id)
        if entry is None:
            entry = out[r.id] = HistoryEntry(
                entry_id=r.id,
                kind=r.kind,
                reason=r.memo,
                changes={},
                purchase_id=r.purchase_id,
                refund_id=r.refund_id,
                actor=r.actor,
                occurred_at=as_utc(r.occurred_at),
                recorded_at=as_utc(r.recorded_at),
            )
        entry.changes[r.code] = int(r.amount)
    return list(out.values())


@router.post("/members/{member_id}/adjustments", response_model=AdjustmentOut, status_code=201)
def adjust(
    member_id: IdPath, body: AdjustmentIn, principal: Manager, db: Db, now: Now
) -> AdjustmentOut:
    """A manual correction with its reason (manager role and up). It cannot take a balance below
    zero; the reason shows in the member's history and the audit log."""
    if body.amount == 0:
        raise Invalid("an adjustment moves a non-zero amount", code="zero_adjustment")
    with db.transaction() as conn:
        entry_id = manual.adjust(
            conn,
            principal,
            member_id,
            unit=body.unit,
            amount=body.amount,
            reason=body.reason.strip(),
            now=now,
        )
        held = service.balances(conn, principal.business_id, member_id)
    return AdjustmentOut(
        entry_id=entry_id,
        member_id=member_id,
        unit=body.unit,
        amount=body.amount,
        reason=body.reason.strip(),
        balances=held,
    )
