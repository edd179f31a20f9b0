"""JSON routes of ticket scanning: a member's claim sent by an app or integrator, the owner's
receipt-signing keys and ticket settings, and the staff's approval of waiting claims."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now, Owner
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tickets import keys, service
from lealtad.tickets.schemas import ClaimIn, ClaimOut, KeyOut, TicketSettingsIO

router = APIRouter(prefix="/api/v1", tags=["tickets"], responses=ERROR_RESPONSES)
KeyId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[a-z0-9]+$")]


@router.post("/members/{member_id}/ticket-claims", response_model=ClaimOut, status_code=201)
def claim_ticket(
    member_id: IdPath,
    body: ClaimIn,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
) -> ClaimOut:
    """The member scanned a ticket: a receipt code signed by the business or a VERI*FACTU
    invoice QR. `accepted` records the purchase (the ticket's receipt id, so a till that reports
    the same sale does not earn twice); `pending` waits for staff. Refusals: 422
    `ticket_unreadable`, `ticket_bad_signature`, `ticket_not_this_business`, `ticket_too_old`,
    `ticket_in_future`; 409 `ticket_already_claimed`; 429 `ticket_limit_reached`."""
    with db.transaction() as conn:
        return service.claim(
            conn,
            principal,
            member_id,
            body.code,
            device_id=body.device_id,
            secret_key=settings.effective_secret_key,
            now=now,
        )


@router.get("/ticket-claims", response_model=list[ClaimOut])
def ticket_claims(
    principal: Manager,
    db: Db,
    status: Annotated[Literal["accepted", "pending", "refused"] | None, Query()] = None,
) -> list[ClaimOut]:
    """The latest 200 claims, newest first; `status=pending` is the approval queue."""
    with db.read() as conn:
        return service.listing(conn, principal.business_id, status)


def _decide(
    claim_id: int, approve: bool, principal: Manager, db: Db, settings: AppSettings, now: Now
) -> ClaimOut:
    with db.transaction() as conn:
        done = service.decide(
            conn, principal, claim_id, approve, secret_key=settings.effective_secret_key, now=now
        )
        action = "ticket_claim.approve" if approve else "ticket_claim.refuse"
        tenancy.audit(conn, principal, action, f"ticket_claim:{claim_id}", now)
        return done


@router.post("/ticket-claims/{claim_id}/approve", response_model=ClaimOut)
def approve_claim(
    claim_id: IdPath, principal: Manager, db: Db, settings: AppSettings, now: Now
) -> ClaimOut:
    """Records the waiting claim's purchase now, dated as the ticket. 409 once decided."""
    return _decide(claim_id, True, principal, db, settings, now)


@router.post("/ticket-claims/{claim_id}/refuse", response_model=ClaimOut)
def refuse_claim(
    claim_id: IdPath, principal: Manager, db: Db, settings: AppSettings, now: Now
) -> ClaimOut:
    """The waiting claim earns nothing; the ticket stays claimed. 409 once decided."""
    return _decide(claim_id, False, principal, db, settings, now)


@router.post("/locations/{location_id}/ticket-keys", response_model=KeyOut, status_code=201)
def make_ticket_key(location_id: IdPath, principal: Owner, db: Db, now: Now) -> KeyOut:
    """A new key for the location's till to sign receipt codes with. The `secret` is shown in
    this answer only; the older keys keep verifying until retired (rotation)."""
    with db.transaction() as conn:
        made = keys.make(conn, principal.business_id, location_id, principal.actor, now)
        target = f"ticket_key:{made.key_id}"
        tenancy.audit(conn, principal, "ticket_key.create", target, now, location_id=location_id)
        return made


@router.get("/ticket-keys", response_model=list[KeyOut])
def ticket_keys(principal: Owner, db: Db) -> list[KeyOut]:
    with db.read() as conn:
        return keys.listing(conn, principal.business_id)


@router.delete("/ticket-keys/{key_id}", response_model=KeyOut)
def retire_ticket_key(key_id: KeyId, principal: Owner, db: Db, now: Now) -> KeyOut:
    """Receipts signed with it are refused from now on."""
    with db.transaction() as conn:
        done = keys.retire(conn, principal.business_id, key_id, now)
        tenancy.audit(conn, principal, "ticket_key.retire", f"ticket_key:{key_id}", now)
        return done


@router.get("/ticket-settings", response_model=TicketSettingsIO)
def ticket_settings(principal: Manager, db: Db) -> TicketSettingsIO:
    with db.read() as conn:
        return TicketSettingsIO(**service.settings_of(conn, principal.business_id).__dict__)


@router.put("/ticket-settings", response_model=TicketSettingsIO)
def save_ticket_settings(
    body: TicketSettingsIO, principal: Owner, db: Db, now: Now
) -> TicketSettingsIO:
    """The business's tax id (VERI*FACTU issuer), the age limit in days, the daily claims per
    member and per device, and the total above which an invoice waits for approval."""
    with db.transaction() as conn:
        before = TicketSettingsIO(**service.settings_of(conn, principal.business_id).__dict__)
        saved = service.save_settings(
            conn, principal.business_id, service.TicketSettings(**body.model_dump()), now
        )
        after = TicketSettingsIO(**saved.__dict__)
        tenancy.audit_change(
            conn, principal, "ticket_settings.update", "ticket_settings", now, before, after
        )
        return after
