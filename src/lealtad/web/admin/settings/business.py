"""Business settings and locations in the admin console. Owners change the settings, managers
see them; managers and owners add and change locations (as in the JSON API)."""

from __future__ import annotations

from typing import Annotated, Any
from zoneinfo import available_timezones

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Conflict, Forbidden, Invalid, LealtadError
from lealtad.kit.ids import IdPath
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.tenancy.model import Role
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Name = Annotated[str, Form(max_length=200)]
Zone = Annotated[str, Form(max_length=64)]
ZONES = sorted(available_timezones())


def error_message(language: str, exc: LealtadError) -> str:
    """A service's refusal in the page's language; an unforeseen one keeps its own words."""
    _ = translator(language)
    known = {
        "unknown_timezone": _("That time zone is not known. Use a name like Europe/Madrid."),
        "invalid_name": _("Please give a name."),
        "unknown_locale": _("Choose Spanish or English."),
        "role_required": _("Your role does not allow this."),
        "own_account": _("You cannot change your own role or deactivate yourself."),
        "last_owner": _("The business must keep at least one active owner."),
        "duplicate_staff": _("That e-mail already has a staff account here."),
        "weak_password": _("The password needs at least 10 characters."),
        "location_not_found": _("There is no such location."),
        "staff_not_found": _("There is no such staff member."),
        "api_key_not_found": _("There is no such API key."),
        "invalid_role": _("Choose a role."),
        "invalid_email": _("That e-mail address does not look right."),
        "two_step_first": _(
            "Turn on two-step verification for your own account first (My account), then "
            "require it for everyone."
        ),
    }
    return known.get(exc.code) or said(exc, _)


def owner_only(staff: StaffSession) -> None:
    if staff.role is not Role.owner:
        raise Forbidden("this needs the owner role", code="role_required")


def _settings_page(
    request: Request,
    db: Db,
    staff: StaffSession,
    base_url: str,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        locations = tenancy_store.business_locations(conn, staff.business_id)
    form = {
        "name": business.name,
        "locale": business.locale,
        "timezone": business.timezone,
        "two_step_required": business.two_step_required,
    }
    context = {"error": None, "notice": None, "form": form} | extra
    return render_page(
        request,
        "admin_settings.html",
        language,
        status,
        business=business,
        staff=staff,
        locations=locations,
        signup_url=f"{base_url.rstrip('/')}/join/{business.slug}",
        zones=ZONES,
        can_edit=staff.role is Role.owner,
        **context,
    )


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _settings_page(request, db, staff, settings.public_base_url, lang, accept_language)


@router.post("/admin/settings", response_class=HTMLResponse)
def save_settings(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    name: Name = "",
    locale: Annotated[str, Form(max_length=5)] = "",
    timezone: Zone = "",
    two_step_required: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    form = {
        "name": name,
        "locale": locale,
        "timezone": timezone,
        "two_step_required": two_step_required,
    }
    base = settings.public_base_url
    try:
        with db.transaction() as conn:
            me = tenancy.get_staff(conn, staff.business_id, staff.staff_id)
            # Requiring two-step ends every session opened without a code: the owner who turns
            # it on must have it, or they would lock themselves out with the same click.
            if two_step_required and not two_step.is_on(me):
                business = tenancy.get_business(conn, staff.business_id)
                if not business.two_step_required:
                    raise Conflict(
                        "turn on two-step verification for yourself first",
                        code="two_step_first",
                    )
            changes = tenancy.update_business(
                conn,
                staff.principal,
                now,
                name=name,
                locale=locale,
                timezone=timezone.strip(),
                two_step_required=two_step_required,
            )
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        error = error_message(language, exc)
        return _settings_page(
            request, db, staff, base, None, accept_language, exc.http_status, error=error, form=form
        )
    with db.read() as conn:
        language = console(conn, staff, None, accept_language)[2]
    _ = translator(language)
    notice = _("The settings are saved.") if changes else _("Nothing was changed.")
    return _settings_page(request, db, staff, base, None, accept_language, notice=notice)


def _locations_page(
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
        locations = tenancy_store.business_locations(conn, staff.business_id)
    context = {"error": None, "notice": None, "form": {}} | extra
    return render_page(
        request,
        "admin_settings_locations.html",
        language,
        status,
        business=business,
        staff=staff,
        locations=locations,
        zones=ZONES,
        **context,
    )


@router.get("/admin/settings/locations", response_class=HTMLResponse)
def locations_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _locations_page(request, db, staff, lang, accept_language)


def _location_refused(
    request: Request, db: Db, staff: StaffSession, accept: str | None, exc: LealtadError, form: Any
) -> HTMLResponse:
    with db.read() as conn:
        language = console(conn, staff, None, accept)[2]
    return _locations_page(
        request,
        db,
        staff,
        None,
        accept,
        exc.http_status,
        error=error_message(language, exc),
        form=form,
    )


@router.post("/admin/settings/locations", response_class=HTMLResponse)
def add_location(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Name = "",
    timezone: Zone = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    form = {"name": name, "timezone": timezone}
    try:
        if not name.strip():
            raise Invalid("a location needs a name", code="invalid_name")
        with db.transaction() as conn:
            location_id = tenancy.create_location(
                conn, staff.business_id, name=name, timezone=timezone.strip() or None, now=now
            )
            tenancy.audit(
                conn, staff.principal, "location.create", f"location:{location_id}", now, name=name
            )
    except LealtadError as exc:
        return _location_refused(request, db, staff, accept_language, exc, form)
    return RedirectResponse(f"/admin/settings/locations#location-{location_id}", status_code=303)


@router.post("/admin/settings/locations/{location_id}", response_class=HTMLResponse)
def change_location(
    request: Request,
    location_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Name = "",
    timezone: Zone = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    try:
        with db.transaction() as conn:
            tenancy.update_location(
                conn, staff.principal, location_id, name=name, timezone=timezone.strip(), now=now
            )
    except LealtadError as exc:
        return _location_refused(request, db, staff, accept_language, exc, {})
    return RedirectResponse(f"/admin/settings/locations#location-{location_id}", status_code=303)
