"""JSON routes of members: enrolment, profile, look-up, card images, self-service sign-up, and
the back office's side of personal-data requests (a copy of the data, erasure)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now
from lealtad.errors import Conflict, Invalid, NotFound
from lealtad.http import ERROR_RESPONSES, ErrorEnvelope
from lealtad.kit.ids import Cursor, IdPath, Limit
from lealtad.members import cards, erasure, export, model, service, store
from lealtad.members.schemas import (
    ErasureIn,
    MemberDataExport,
    MemberIn,
    MemberOut,
    MemberPatch,
    SignupIn,
)
from lealtad.tenancy import audit_context
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store

router = APIRouter(prefix="/api/v1", tags=["members"], responses=ERROR_RESPONSES)


@router.post("/members", response_model=MemberOut, status_code=201)
def enrol(
    body: MemberIn, principal: CurrentPrincipal, db: Db, now: Now, settings: AppSettings
) -> MemberOut:
    """Enrol a member. With a staff token the staff member and their location are recorded;
    an API key may name them in the body (a POS that knows its cashier)."""
    channel = "counter" if principal.staff_id else "api"
    staff_id = principal.staff_id or body.staff_id
    location_id = body.location_id or principal.location_id
    with db.transaction() as conn:
        member_id = service.enrol(
            conn,
            principal.business_id,
            body,
            channel=channel,
            staff_id=staff_id,
            location_id=location_id,
            now=now,
        )
        return service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        )


@router.get("/members", response_model=list[MemberOut])
def list_members(
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    limit: Limit = 50,
    after: Cursor = None,
) -> list[MemberOut]:
    with db.read() as conn:
        rows = store.search(conn, principal.business_id, limit=limit, after=after)
        return [service.out(conn, r, settings.effective_secret_key) for r in rows]


Ident = Annotated[str | None, Query(max_length=320)]


@router.get("/members/lookup", response_model=MemberOut)
def lookup(
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
    card_number: Ident = None,
    qr_token: Ident = None,
    email: Ident = None,
    phone: Ident = None,
) -> MemberOut:
    """Find a member by exactly one of card number, QR token, e-mail or phone."""
    with db.read() as conn:
        row = service.find(
            conn,
            principal.business_id,
            settings.effective_secret_key,
            card_number=card_number,
            qr_token=qr_token,
            email=email,
            phone=phone,
            now=now,
        )
        return service.out(conn, row, settings.effective_secret_key)


@router.get("/members/{member_id}", response_model=MemberOut)
def member(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, settings: AppSettings
) -> MemberOut:
    with db.read() as conn:
        return service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        )


@router.patch("/members/{member_id}", response_model=MemberOut)
def update_member(
    member_id: IdPath,
    body: MemberPatch,
    principal: CurrentPrincipal,
    db: Db,
    now: Now,
    settings: AppSettings,
) -> MemberOut:
    fields = sorted(body.model_fields_set)
    with db.transaction() as conn:
        before = service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        ).model_dump(mode="json", include=set(fields))
        service.update(conn, principal.business_id, member_id, body, now)
        after = service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        )
        changes = audit_context.diff(before, after.model_dump(mode="json", include=set(fields)))
        if changes:
            tenancy.audit(conn, principal, "member.update", f"member:{member_id}", now, **changes)
        return after


def _card(member_id: int, principal: CurrentPrincipal, db: Db, settings: AppSettings) -> str:
    with db.read() as conn:
        row = service.get(conn, principal.business_id, member_id)
    return model.qr_token(settings.effective_secret_key, row.business_id, row.id, row.card_version)


CARD_RESPONSES = ERROR_RESPONSES | {200: {"content": {"image/svg+xml": {}, "image/png": {}}}}


@router.get("/members/{member_id}/card.svg", response_class=Response, responses=CARD_RESPONSES)
def card_svg(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, settings: AppSettings
) -> Response:
    token = _card(member_id, principal, db, settings)
    return Response(cards.qr_image(token, "svg", 10), media_type="image/svg+xml")


@router.get("/members/{member_id}/card.png", response_class=Response, responses=CARD_RESPONSES)
def card_png(
    member_id: IdPath,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    scale: Annotated[int, Query(ge=1, le=40)] = 8,
) -> Response:
    token = _card(member_id, principal, db, settings)
    return Response(cards.qr_image(token, "png", scale), media_type="image/png")


@router.post("/members/{member_id}/card/reissue", response_model=MemberOut)
def reissue_card(
    member_id: IdPath, principal: Manager, db: Db, now: Now, settings: AppSettings
) -> MemberOut:
    """For a lost or shared card: the old QR and every wallet session stop working at once."""
    with db.transaction() as conn:
        cards.reissue(conn, principal, member_id, now)
        row = service.get(conn, principal.business_id, member_id)
        return service.out(conn, row, settings.effective_secret_key)


_REQUEST_ERRORS = ERROR_RESPONSES | {
    403: {
        "model": ErrorEnvelope,
        "description": "role_required: a manager's or owner's key or token is needed",
    },
    404: {
        "model": ErrorEnvelope,
        "description": "member_not_found: no such member in this business",
    },
}
EXPORT_RESPONSES = _REQUEST_ERRORS | {
    200: {"model": MemberDataExport, "description": "The member's data, as a JSON file"}
}


@router.get("/members/{member_id}/data-export", response_model=None, responses=EXPORT_RESPONSES)
def data_export(
    member_id: IdPath, principal: Manager, db: Db, now: Now, settings: AppSettings
) -> Response:
    """Everything held about the member, for a request of access or portability received by
    phone, e-mail or at the counter: the same document the member downloads from the wallet.
    Audited as member.export (who took a copy, from where)."""
    with db.transaction() as conn:
        data = export.member_data(
            conn, principal.business_id, member_id, settings.effective_secret_key, now
        )
        tenancy.audit(conn, principal, "member.export", f"member:{member_id}", now)
    return Response(
        export.to_json(data), media_type="application/json", headers=export.download_headers(data)
    )


@router.post("/members/{member_id}/erasure", response_model=MemberOut, responses=_REQUEST_ERRORS)
def erase_member(
    member_id: IdPath,
    principal: Manager,
    db: Db,
    now: Now,
    settings: AppSettings,
    body: ErasureIn | None = None,
) -> MemberOut:
    """Erases the member on their request: name, contact details, birthday, tags, consent,
    card PIN and sessions go; the card number, balances, ledger and purchases stay, so the
    books still add up. Answers the pseudonymised member. Idempotent: erasing an erased member
    answers the same 200 and writes nothing, so a retry after a lost answer is not an error.
    Audited as member.erase with the fields cleared, never their values."""
    reason = (body.reason or "").strip() if body else ""
    with db.transaction() as conn:
        erasure.erase(conn, principal, member_id, now, reason=reason or None)
        row = service.get(conn, principal.business_id, member_id)
        return service.out(conn, row, settings.effective_secret_key)


public = APIRouter(prefix="/api/v1/public", tags=["public"], responses=ERROR_RESPONSES)


@public.post("/{business_slug}/members", response_model=MemberOut, status_code=201)
def sign_up(
    business_slug: str, body: SignupIn, db: Db, now: Now, settings: AppSettings
) -> MemberOut:
    """Self-service sign-up from the business's link or QR poster; needs no credentials."""
    if not body.accept_terms:
        raise Invalid("the program terms must be accepted to join", code="terms_not_accepted")
    if not (body.email or body.phone):
        raise Invalid("give an e-mail or a phone number", code="contact_required")
    with db.transaction() as conn:
        business = tenancy_store.business_by_slug(conn, business_slug[:64])
        if business is None:
            raise NotFound("no such business", code="business_not_found")
        data = MemberIn(
            name=body.name,
            email=body.email,
            phone=body.phone,
            locale=body.locale,
            consent=body.consent,
            referral_code=body.referral_code,
        )
        try:
            member_id = service.enrol(
                conn, business.id, data, channel="self", location_id=body.location_id, now=now
            )
        except Conflict as exc:
            # Anyone can call this route: say that the contact is taken, never whose it is.
            raise Conflict(exc.message, code=exc.code) from None
        return service.out(
            conn, service.get(conn, business.id, member_id), settings.effective_secret_key
        )
