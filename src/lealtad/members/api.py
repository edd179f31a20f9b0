"""JSON routes of members: enrolment, profile, look-up, card images, self-service sign-up, and
the back office's side of personal-data requests (a copy of the data, erasure)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response

from lealtad.comms import login_codes
from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.http import ERROR_RESPONSES, ErrorEnvelope
from lealtad.kit.ids import Cursor, IdPath, Limit
from lealtad.ledger import service as ledger
from lealtad.members import cards, model, service, signup, store
from lealtad.members.model import mask_email, mask_phone
from lealtad.members.schemas import (
    ErasureIn,
    MemberAtCounter,
    MemberDataExport,
    MemberIn,
    MemberOut,
    MemberPatch,
    SignupAccepted,
    SignupIn,
)
from lealtad.privacy import erasure, export
from lealtad.security import limits, limits_api
from lealtad.tenancy import audit_context
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Principal, Role
from lealtad.tiers import service as tiers

router = APIRouter(prefix="/api/v1", tags=["members"], responses=ERROR_RESPONSES)


def seen_by(principal: Principal, member: MemberOut) -> MemberOut:
    """A staff-role caller sees a member's e-mail and phone masked: enough to tell the customer
    in front of them which address is on file, too little to collect the members' contacts by
    walking their ids (decisions D47)."""
    if principal.role.allows(Role.manager):
        return member
    return member.model_copy(
        update={
            "email": mask_email(member.email) or None,
            "phone": mask_phone(member.phone) or None,
        }
    )


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


# Staff search the members as the counter does: by something the customer in front of them
# gives, a few at a time, and see what the counter shows (decisions D47).
STAFF_RESULTS = 10
Term = Annotated[
    str | None,
    Query(
        max_length=200,
        description="an e-mail, phone, card number or whole words of the name; needed with a "
        "staff-role key or token",
    ),
]
LIST_RESPONSES = (
    ERROR_RESPONSES
    | limits_api.LIMITED
    | {
        200: {
            "description": "Managers and owners get each member whole (MemberOut); staff get "
            f"at most {STAFF_RESULTS}, as the counter shows them (MemberAtCounter)"
        },
        422: {
            "model": ErrorEnvelope,
            "description": "search_required: a staff-role caller must give q",
        },
    }
)


@router.get(
    "/members",
    response_model=list[MemberOut] | list[MemberAtCounter],
    responses=LIST_RESPONSES,
)
def list_members(
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
    q: Term = None,
    limit: Limit = 50,
    after: Cursor = None,
) -> list[MemberOut] | list[MemberAtCounter]:
    """Managers and owners: every member a page at a time, or those `q` names. Staff: only a
    search, as at the counter: `q` is needed, the first ten members it names answer (`limit`
    and `after` do not apply), without contact details, and searches that find nobody count
    towards the counter's limit (429)."""
    term = (q or "").strip() or None
    if principal.role.allows(Role.manager):
        with db.read() as conn:
            rows = store.search(conn, principal.business_id, limit=limit, after=after, term=term)
            return service.out_many(conn, list(rows), settings.effective_secret_key)
    if term is None:
        raise Invalid(
            "staff find members by what the customer gives: pass q (an e-mail, phone, card "
            "number or name); a manager's key or token lists them all",
            code="search_required",
        )
    guard = limits.lookup_attempt(db, request, principal, now)
    try:
        # A search, not a listing: no paging past the first few.
        found = limits.guarded(guard, _missed, lambda: _at_counter(db, principal, term))
    except NotFound:
        found = []
    return found


def _at_counter(db: Db, principal: CurrentPrincipal, term: str) -> list[MemberAtCounter]:
    with db.read() as conn:
        rows = store.search(
            conn,
            principal.business_id,
            limit=STAFF_RESULTS,
            after=None,
            term=term,
            card_prefix=False,
        )
        ids = [int(r.id) for r in rows]
        tier = tiers.current_of(conn, principal.business_id, ids)
        held = ledger.balances_of(conn, principal.business_id, ids)
        found = [
            MemberAtCounter(
                id=r.id,
                card_number=r.card_number,
                name=r.name,
                status=r.status,
                tier=tier[r.id],
                balances=held[r.id],
            )
            for r in rows
        ]
    if not found:
        # A miss, counted like the counter's (guarded); the caller answers an empty list.
        raise NotFound("no member matches", code="member_not_found")
    return found


def _missed(exc: LealtadError) -> bool:
    return exc.code == "member_not_found"


Ident = Annotated[str | None, Query(max_length=320)]


@router.get(
    "/members/lookup", response_model=MemberOut, responses=ERROR_RESPONSES | limits_api.LIMITED
)
def lookup(
    request: Request,
    principal: CurrentPrincipal,
    db: Db,
    settings: AppSettings,
    now: Now,
    card_number: Ident = None,
    qr_token: Ident = None,
    email: Ident = None,
    phone: Ident = None,
) -> MemberOut:
    """Find a member by exactly one of card number, QR token, e-mail or phone. Look-ups that
    find nobody count per key or staff person and per address, as the counter's searches do,
    and are refused with 429 after 20 in 15 minutes."""

    def find() -> MemberOut:
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
            return seen_by(principal, service.out(conn, row, settings.effective_secret_key))

    guard = limits.lookup_attempt(db, request, principal, now)
    return limits.guarded(guard, _missed, find)


@router.get("/members/{member_id}", response_model=MemberOut)
def member(
    member_id: IdPath, principal: CurrentPrincipal, db: Db, settings: AppSettings
) -> MemberOut:
    with db.read() as conn:
        found = service.get(conn, principal.business_id, member_id)
        return seen_by(principal, service.out(conn, found, settings.effective_secret_key))


PATCH_RESPONSES = ERROR_RESPONSES | {
    403: {
        "model": ErrorEnvelope,
        "description": "role_required: changing the e-mail or phone needs a manager's or "
        "owner's key or token",
    }
}


@router.patch("/members/{member_id}", response_model=MemberOut, responses=PATCH_RESPONSES)
def update_member(
    member_id: IdPath,
    body: MemberPatch,
    principal: CurrentPrincipal,
    db: Db,
    now: Now,
    settings: AppSettings,
) -> MemberOut:
    """Changes the fields given. Staff may change the name, birthday, language, time zone,
    tags and consent; the e-mail and phone, which open the member's wallet, only a manager or
    owner (403 role_required for staff), and the member is told at their old address. Audited
    as member.update with the old and new values."""
    fields = sorted(body.model_fields_set)
    may_change_contact = principal.role.allows(Role.manager)
    with db.transaction() as conn:
        before = service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        ).model_dump(mode="json", include=set(fields))
        service.update(
            conn,
            principal.business_id,
            member_id,
            body,
            now,
            may_change_contact=may_change_contact,
        )
        after = service.out(
            conn, service.get(conn, principal.business_id, member_id), settings.effective_secret_key
        )
        changes = audit_context.diff(before, after.model_dump(mode="json", include=set(fields)))
        if changes:
            tenancy.audit(conn, principal, "member.update", f"member:{member_id}", now, **changes)
        return seen_by(principal, after)


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
SIGNUP_RESPONSES = (
    ERROR_RESPONSES
    | limits_api.LIMITED
    | {
        422: {
            "model": ErrorEnvelope,
            "description": "terms_not_accepted, email_required (a phone alone cannot be "
            "proven online: join at the counter), invalid_email, invalid_phone",
        },
        404: {
            "model": ErrorEnvelope,
            "description": "business_not_found, referral_not_found, location_not_found",
        },
    }
)


@public.post(
    "/{business_slug}/members",
    response_model=SignupAccepted,
    status_code=202,
    responses=SIGNUP_RESPONSES,
)
def sign_up(
    request: Request,
    business_slug: str,
    body: SignupIn,
    db: Db,
    now: Now,
    settings: AppSettings,
    tasks: BackgroundTasks,
) -> SignupAccepted:
    """Self-service sign-up from the business's link or QR poster; needs no credentials.
    Answers 202 the same way whether or not the e-mail already belongs to a member: a new
    address is enrolled and sent a welcome with a six-digit code, an existing member's is sent
    a code to open the card they have (nobody is enrolled twice). The code opens the wallet at
    /w/{business}/login. Every call counts, per e-mail and per client address (429)."""
    form = signup.prepare(
        name=body.name,
        email=body.email,
        phone=body.phone,
        accept_terms=body.accept_terms,
        locale=body.locale,
        consent=body.consent,
        referral_code=body.referral_code,
        location_id=body.location_id,
    )
    with db.read() as conn:
        business = tenancy_store.business_by_slug(conn, business_slug[:64])
    if business is None:
        raise NotFound("no such business", code="business_not_found")
    signup.count(db, request, settings, business.id, form.email, now)
    sent = signup.join(db, settings, business, form, now)
    if sent.message_id is not None:
        tasks.add_task(login_codes.deliver_code, db, settings, business.id, sent.message_id, now)
    return SignupAccepted()
