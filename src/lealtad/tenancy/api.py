"""JSON routes of tenancy: the caller's business, its locations, staff, API keys and audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Connection
from starlette.requests import Request

from lealtad.deps import AppSettings, CurrentPrincipal, Db, Manager, Now, Owner
from lealtad.errors import Forbidden, Unauthorized
from lealtad.http import ERROR_RESPONSES
from lealtad.kit.clock import naive_utc
from lealtad.kit.dates import IsoDateTime
from lealtad.kit.ids import Cursor, IdPath, Limit
from lealtad.security import limits, limits_api
from lealtad.tenancy import audit_view, service, sign_in, store, two_step
from lealtad.tenancy.audit_view import AuditEntryOut
from lealtad.tenancy.schemas import (
    ApiKeyCreated,
    ApiKeyIn,
    ApiKeyOut,
    BusinessOut,
    LocationIn,
    LocationOut,
    StaffIn,
    StaffLoginIn,
    StaffOut,
    StaffToken,
)
from lealtad.tenancy.two_step import Check

router = APIRouter(prefix="/api/v1", tags=["business"], responses=ERROR_RESPONSES)


def _business_out(row: Any, base_url: str) -> BusinessOut:
    return BusinessOut(
        id=row.id,
        slug=row.slug,
        name=row.name,
        currency=row.currency,
        timezone=row.timezone,
        locale=row.locale,
        signup_url=f"{base_url}/join/{row.slug}",
    )


def staff_out(row: Any) -> StaffOut:
    return StaffOut.model_validate(row, from_attributes=True)


def _two_step_refusal(
    conn: Connection, staff: Any, code: str | None, now: datetime
) -> Unauthorized | None:
    business = service.get_business(conn, staff.business_id)
    if not two_step.code_needed(business, staff):
        return None
    if not two_step.is_on(staff):
        return Unauthorized(
            "this business requires two-step verification: set it up in the admin console first",
            code="two_step_setup_required",
        )
    if not code:
        return Unauthorized(
            "send totp_code: the code of your authenticator app", code="two_step_code_required"
        )
    outcome = two_step.check_code(
        conn, two_step.principal_of(staff), code.strip(), now, attempt="api"
    )
    if outcome is Check.ok:
        return None
    return Unauthorized(
        "that code is wrong, already used, or too many wrong codes were sent; wait for the next",
        code="two_step_code_refused",
    )


def _claim_all(guards: list[limits.Attempt]) -> None:
    claimed: list[limits.Attempt] = []
    try:
        for guard in guards:
            guard.claim()
            claimed.append(guard)
    except limits.TooManyAttempts:
        _settle(claimed)
        raise


def _settle(
    guards: list[limits.Attempt], *, wrong: limits.Attempt | None = None, right: bool = False
) -> None:
    """The `wrong` guard keeps its failure; the others succeeded (`right`) or were no guess."""
    for guard in guards:
        if guard is wrong:
            guard.failed()
        elif right:
            guard.succeeded()
        else:
            guard.released()


@router.post(
    "/auth/staff-token", response_model=StaffToken, tags=["auth"], responses=limits_api.LIMITED
)
def staff_token(
    body: StaffLoginIn, request: Request, db: Db, settings: AppSettings, now: Now
) -> StaffToken:
    """Exchange a staff login for a bearer token (valid for LEALTAD_STAFF_TOKEN_HOURS). Staff
    with two-step verification, or in a business that requires it, also send `totp_code`.
    Repeated failures lock the account and the address for a growing time (429)."""
    guard = limits.staff_login_attempt(db, request, settings, body.business, body.email, now)
    coded = limits.staff_login_attempt(
        db, request, settings, body.business, body.email, now, kind=limits.TWO_STEP_CODE
    )
    # A code is claimed only when one is sent: a login without one does not spend a code try.
    claimed = [each for each in (guard, coded if body.totp_code else None) if each is not None]
    _claim_all(claimed)
    try:
        with db.transaction() as conn:
            token, staff = sign_in.staff_login(
                conn,
                settings.effective_secret_key,
                business_slug=body.business,
                email=body.email,
                password=body.password,
            )
            refusal = _two_step_refusal(conn, staff, body.totp_code, now)
            # A token whose code was checked outlives a later "require two-step";
            # see sign_in.staff_token.
            checked = two_step.code_needed(service.get_business(conn, staff.business_id), staff)
    except Unauthorized:
        _settle(claimed, wrong=guard)
        raise
    except BaseException:
        _settle(claimed)
        raise
    if refusal is not None:
        # The password was right; only a refused code counts, against the code's limit.
        _settle(claimed, wrong=coded if refusal.code == "two_step_code_refused" else None)
        raise refusal
    _settle(claimed, right=True)
    if checked:
        token = sign_in.staff_token(settings.effective_secret_key, staff, two_step=True)
    return StaffToken(
        token=token, expires_in=settings.staff_token_hours * 3600, staff=staff_out(staff)
    )


@router.get("/business", response_model=BusinessOut)
def business(principal: CurrentPrincipal, db: Db, settings: AppSettings) -> BusinessOut:
    with db.read() as conn:
        return _business_out(
            service.get_business(conn, principal.business_id), settings.public_base_url
        )


@router.get("/locations", response_model=list[LocationOut])
def locations(principal: CurrentPrincipal, db: Db) -> list[LocationOut]:
    with db.read() as conn:
        rows = store.business_locations(conn, principal.business_id)
    return [LocationOut(id=r.id, name=r.name, timezone=r.timezone) for r in rows]


@router.post("/locations", response_model=LocationOut, status_code=201)
def create_location(body: LocationIn, principal: Manager, db: Db, now: Now) -> LocationOut:
    with db.transaction() as conn:
        location_id = service.create_location(
            conn, principal.business_id, name=body.name, timezone=body.timezone, now=now
        )
        row = service.get_location(conn, principal.business_id, location_id)
        service.audit(conn, principal, "location.create", f"location:{location_id}", now)
    return LocationOut(id=row.id, name=row.name, timezone=row.timezone)


@router.get("/locations/{location_id}", response_model=LocationOut)
def location(location_id: IdPath, principal: CurrentPrincipal, db: Db) -> LocationOut:
    with db.read() as conn:
        row = service.get_location(conn, principal.business_id, location_id)
    return LocationOut(id=row.id, name=row.name, timezone=row.timezone)


@router.get("/staff", response_model=list[StaffOut])
def staff(principal: Manager, db: Db) -> list[StaffOut]:
    with db.read() as conn:
        return [staff_out(r) for r in store.business_staff(conn, principal.business_id)]


@router.post("/staff", response_model=StaffOut, status_code=201)
def create_staff(body: StaffIn, principal: Manager, db: Db, now: Now) -> StaffOut:
    if not principal.role.allows(body.role):
        raise Forbidden("you cannot create an account above your own role", code="role_required")
    with db.transaction() as conn:
        staff_id = service.create_staff(
            conn,
            principal.business_id,
            email=body.email,
            name=body.name,
            role=body.role,
            password=body.password,
            location_id=body.location_id,
            now=now,
        )
        service.audit(
            conn, principal, "staff.create", f"staff:{staff_id}", now, role=body.role.value
        )
        return staff_out(service.get_staff(conn, principal.business_id, staff_id))


@router.get("/staff/{staff_id}", response_model=StaffOut)
def staff_member(staff_id: IdPath, principal: Manager, db: Db) -> StaffOut:
    with db.read() as conn:
        return staff_out(service.get_staff(conn, principal.business_id, staff_id))


@router.get("/api-keys", response_model=list[ApiKeyOut])
def api_keys(principal: Owner, db: Db) -> list[ApiKeyOut]:
    with db.read() as conn:
        rows = store.business_api_keys(conn, principal.business_id)
    return [ApiKeyOut.model_validate(r, from_attributes=True) for r in rows]


@router.post("/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(body: ApiKeyIn, principal: Owner, db: Db, now: Now) -> ApiKeyCreated:
    with db.transaction() as conn:
        key_id, key = service.create_api_key(
            conn,
            principal.business_id,
            name=body.name,
            role=body.role,
            location_id=body.location_id,
            now=now,
        )
        service.audit(
            conn, principal, "api_key.create", f"api_key:{key_id}", now, role=body.role.value
        )
        row = store.api_key(conn, principal.business_id, key_id)
    return ApiKeyCreated(
        **ApiKeyOut.model_validate(row, from_attributes=True).model_dump(), key=key
    )


@router.delete("/api-keys/{api_key_id}", status_code=204)
def revoke_api_key(api_key_id: IdPath, principal: Owner, db: Db, now: Now) -> None:
    with db.transaction() as conn:
        service.revoke_api_key(conn, principal, api_key_id, now)


AUDIT_FORMATS = ERROR_RESPONSES | {
    200: {"content": {"application/json": {}, "text/csv": {"schema": {"type": "string"}}}}
}
AuditText = Annotated[str | None, Query(max_length=100)]


@router.get("/audit-log", response_model=list[AuditEntryOut], responses=AUDIT_FORMATS)
def audit_log(
    principal: Manager,
    db: Db,
    limit: Limit = 50,
    before: Cursor = None,
    action: AuditText = None,
    actor: AuditText = None,
    since: Annotated[IsoDateTime | None, Query(description="from this instant on")] = None,
    until: Annotated[IsoDateTime | None, Query(description="before this instant")] = None,
    format: Annotated[
        Literal["json", "csv"], Query(description="csv: the whole filtered log as a file")
    ] = "json",
) -> Any:
    """Who changed what, before and after, when and from where; newest first. `format=csv`
    exports every matching entry (no paging) with times in UTC and the business's zone."""
    filters = audit_view.Filters(
        action, actor, naive_utc(since) if since else None, naive_utc(until) if until else None
    )
    if format == "csv":
        with db.read() as conn:
            zone = store.business(conn, principal.business_id).timezone
        return StreamingResponse(
            audit_view.csv_lines(db, principal.business_id, filters, zone),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )
    with db.read() as conn:
        rows = filters.rows(conn, principal.business_id, limit, before)
        known = audit_view.names(conn, principal.business_id)
    return [audit_view.entry(row, known) for row in rows]
