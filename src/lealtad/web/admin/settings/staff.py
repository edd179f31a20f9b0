"""Staff accounts in the admin console: list, add, change a role, deactivate and reactivate, and
(owners) reset someone's two-step verification. The rules that protect owners and the last
owner live in tenancy.service, so the JSON API and these pages cannot disagree."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import Db, Now
from lealtad.errors import Forbidden, Invalid, LealtadError
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.tenancy.model import Role
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
RoleField = Annotated[str, Form(max_length=10)]
LocationField = Annotated[str, Form(max_length=20)]


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid("choose a role", code="invalid_role") from None


def parse_location(value: str) -> int | None:
    if not value.strip():
        return None
    if not value.strip().isdigit() or len(value.strip()) > 18:
        raise Invalid("no such location", code="location_not_found")
    return int(value)


def _staff_page(
    request: Request,
    db: Db,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        people = tenancy_store.business_staff(conn, staff.business_id)
        locations = tenancy_store.business_locations(conn, staff.business_id)
    # A manager may hand out the roles up to their own; owners all three.
    roles = [role.value for role in Role if staff.role.allows(role)]
    context = {"error": None, "notice": None, "form": {}} | extra
    return render_page(
        request,
        "admin_settings_staff.html",
        language,
        status,
        business=business,
        staff=staff,
        people=people,
        locations=locations,
        location_names={row.id: row.name for row in locations},
        roles=roles,
        two_step_on={row.id: two_step.is_on(row) for row in people},
        **context,
    )


def _refused(
    request: Request,
    db: Db,
    staff: StaffSession,
    accept: str | None,
    exc: LealtadError,
    form: Any = None,
) -> HTMLResponse:
    with db.read() as conn:
        language = console(conn, staff, None, accept)[2]
    return _staff_page(
        request,
        db,
        staff,
        None,
        accept,
        exc.http_status,
        error=error_message(language, exc),
        form=form or {},
    )


@router.get("/admin/settings/staff", response_class=HTMLResponse)
def staff_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _staff_page(request, db, staff, lang, accept_language)


@router.post("/admin/settings/staff", response_class=HTMLResponse)
def add_staff(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    role: RoleField = "staff",
    location: LocationField = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    form = {"name": name, "email": email, "role": role, "location": location}
    try:
        chosen = parse_role(role)
        if not staff.role.allows(chosen):
            raise Forbidden(
                "you cannot create an account above your own role", code="role_required"
            )
        if not name.strip():
            raise Invalid("a staff member needs a name", code="invalid_name")
        address = email.strip()
        if "@" not in address.strip("@") or any(c.isspace() for c in address):
            raise Invalid("that e-mail address does not look right", code="invalid_email")
        with db.transaction() as conn:
            staff_id = tenancy.create_staff(
                conn,
                staff.business_id,
                email=address,
                name=name,
                role=chosen,
                password=password,
                location_id=parse_location(location),
                now=now,
            )
            tenancy.audit(
                conn, staff.principal, "staff.create", f"staff:{staff_id}", now, role=chosen.value
            )
    except LealtadError as exc:
        return _refused(request, db, staff, accept_language, exc, form)
    return RedirectResponse(f"/admin/settings/staff#staff-{staff_id}", status_code=303)


@router.post("/admin/settings/staff/{staff_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    staff_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    role: RoleField = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    try:
        with db.transaction() as conn:
            tenancy.change_staff_role(conn, staff.principal, staff_id, parse_role(role), now)
    except LealtadError as exc:
        return _refused(request, db, staff, accept_language, exc)
    return RedirectResponse(f"/admin/settings/staff#staff-{staff_id}", status_code=303)


@router.post("/admin/settings/staff/{staff_id}/active", response_class=HTMLResponse)
def set_active(
    request: Request,
    staff_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    active: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    try:
        with db.transaction() as conn:
            tenancy.set_staff_active(conn, staff.principal, staff_id, active, now)
    except LealtadError as exc:
        return _refused(request, db, staff, accept_language, exc)
    return RedirectResponse(f"/admin/settings/staff#staff-{staff_id}", status_code=303)


@router.post("/admin/settings/staff/{staff_id}/two-step/reset", response_class=HTMLResponse)
def reset_two_step(
    request: Request,
    staff_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    try:
        with db.transaction() as conn:
            two_step.reset(conn, staff.principal, staff_id, now)
    except LealtadError as exc:
        return _refused(request, db, staff, accept_language, exc)
    return RedirectResponse(f"/admin/settings/staff#staff-{staff_id}", status_code=303)
