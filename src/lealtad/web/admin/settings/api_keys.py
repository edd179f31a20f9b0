"""API keys in the admin console, for owners (as in the JSON API): the list, a new key shown
once (only its hash is kept), and revoking one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Role
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message, owner_only
from lealtad.web.admin.settings.staff import LocationField, RoleField, parse_location, parse_role
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]


def _keys_page(
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
        keys = tenancy_store.business_api_keys(conn, staff.business_id)
        locations = tenancy_store.business_locations(conn, staff.business_id)
    context = {"error": None, "notice": None, "form": {}, "new_key": None} | extra
    return render_page(
        request,
        "admin_settings_keys.html",
        language,
        status,
        business=business,
        staff=staff,
        keys=list(reversed(keys)),
        locations=locations,
        location_names={row.id: row.name for row in locations},
        roles=[role.value for role in Role],
        **context,
    )


@router.get("/admin/settings/api-keys", response_class=HTMLResponse)
def keys_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    owner_only(staff)
    return _keys_page(request, db, staff, lang, accept_language)


@router.post("/admin/settings/api-keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    role: RoleField = "staff",
    location: LocationField = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    try:
        chosen = parse_role(role)
        with db.transaction() as conn:
            key_id, key = tenancy.create_api_key(
                conn,
                staff.business_id,
                name=name,
                role=chosen,
                location_id=parse_location(location),
                now=now,
            )
            tenancy.audit(
                conn, staff.principal, "api_key.create", f"api_key:{key_id}", now, role=chosen.value
            )
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        form = {"name": name, "role": role, "location": location}
        error = error_message(language, exc)
        return _keys_page(
            request, db, staff, None, accept_language, exc.http_status, error=error, form=form
        )
    # The only time the whole key is ever shown: it is not kept, only its hash.
    response = _keys_page(
        request, db, staff, None, accept_language, 201, new_key={"id": key_id, "key": key}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@router.post("/admin/settings/api-keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_key(
    request: Request,
    key_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    try:
        with db.transaction() as conn:
            tenancy.revoke_api_key(conn, staff.principal, key_id, now)
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        error = error_message(language, exc)
        return _keys_page(request, db, staff, None, accept_language, exc.http_status, error=error)
    return RedirectResponse(f"/admin/settings/api-keys#key-{key_id}", status_code=303)
