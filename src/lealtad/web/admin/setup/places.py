"""The set-up's last steps: locations and staff (optional), the review with "Go live", and the
poster to print once the program is live."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lealtad.branding.promise import promise
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError
from lealtad.onboarding import service as onboarding
from lealtad.rules.names import ProgramNames, name_in
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy.model import Role
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage
from lealtad.web.admin.settings.posters import draw_poster
from lealtad.web.admin.settings.staff import parse_role
from lealtad.web.admin.setup.common import go, language_of, not_yet, page, state
from lealtad.web.admin.setup.forms import place_refusal, template_title
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]


def _places_page(
    request: Request,
    db: Db,
    staff: CurrentManager,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> Response:
    found = state(db, staff)
    moved = not_yet(found, "places", lang)
    if moved is not None:
        return moved
    with db.read() as conn:
        locations = tenancy_store.business_locations(conn, staff.business_id)
        people = tenancy_store.business_staff(conn, staff.business_id)
    return page(
        request,
        db,
        staff,
        "setup_places.html",
        "places",
        found,
        lang,
        accept_language,
        status,
        locations=locations,
        people=[p for p in people if p.id != staff.staff_id],
        **extra,
    )


@router.get("/admin/setup/places", response_class=HTMLResponse)
def places_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    return _places_page(request, db, staff, lang, accept_language)


@router.post("/admin/setup/places/location", response_class=HTMLResponse)
def add_location(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    csrf: Csrf = "",
    lang: FormLang = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    state(db, staff)  # owners only
    try:
        if not name.strip():
            raise Invalid("a location needs a name", code="invalid_name")
        with db.transaction() as conn:
            location_id = tenancy.create_location(
                conn, staff.business_id, name=name, timezone=None, now=now
            )
            tenancy.audit(
                conn, staff.principal, "location.create", f"location:{location_id}", now, name=name
            )
    except LealtadError as exc:
        lang = language_of(db, staff, accept_language, lang)
        labels = {"invalid_name": translator(lang)("Location name")}
        error = place_refusal(lang, exc, labels)
        form = {"location": name}
        return _places_page(
            request,
            db,
            staff,
            lang or None,
            accept_language,
            exc.http_status,
            error=error,
            form=form,
        )
    return go("/admin/setup/places#locations", lang)


@router.post("/admin/setup/places/staff", response_class=HTMLResponse)
def invite_staff(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    role: Annotated[str, Form(max_length=10)] = "staff",
    csrf: Csrf = "",
    lang: FormLang = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    """A staff account with a first password made here and shown once, to hand over; they
    change it under My account."""
    sessions.require_csrf(staff.csrf, csrf)
    state(db, staff)
    lang = language_of(db, staff, accept_language, lang)
    _ = translator(lang)
    password = secrets.token_urlsafe(9)
    try:
        chosen = parse_role(role)
        if chosen is Role.owner:
            raise Invalid("invite owners from Settings > Staff", code="invalid_role")
        if not name.strip():
            raise Invalid("a staff member needs a name", code="invalid_name")
        address = email.strip()
        if "@" not in address.strip("@") or any(c.isspace() for c in address):
            raise Invalid("that e-mail address does not look right", code="invalid_email")
        with db.transaction() as conn:
            location = tenancy_store.business_locations(conn, staff.business_id)
            staff_id = tenancy.create_staff(
                conn,
                staff.business_id,
                email=address,
                name=name,
                role=chosen,
                password=password,
                location_id=location[0].id if location else None,
                now=now,
            )
            tenancy.audit(
                conn, staff.principal, "staff.create", f"staff:{staff_id}", now, role=chosen.value
            )
    except LealtadError as exc:
        labels = {
            "invalid_name": _("Their name"),
            "invalid_email": _("Their e-mail"),
            "duplicate_staff": _("Their e-mail"),
            "invalid_role": _("Role"),
        }
        error = place_refusal(lang, exc, labels)
        form = {"name": name, "email": email, "role": role}
        return _places_page(
            request,
            db,
            staff,
            lang or None,
            accept_language,
            exc.http_status,
            error=error,
            form=form,
        )
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
    invited = {"name": name.strip(), "email": address.lower(), "password": password}
    return _places_page(
        request,
        db,
        staff,
        lang or None,
        accept_language,
        invited=invited,
        business_slug=business.slug,
    )


@router.post("/admin/setup/places", response_class=HTMLResponse)
def places_done(
    staff: CurrentManager, db: Db, now: Now, csrf: Csrf = "", lang: FormLang = ""
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    found = state(db, staff)
    moved = not_yet(found, "places", lang)
    if moved is not None:
        return moved
    with db.transaction() as conn:
        onboarding.places_done(conn, staff.principal, now)
    return go("/admin/setup/review", lang)


def _summary(db: Db, staff: CurrentManager, lang: str) -> dict[str, Any]:
    """What the review shows: the business, the program in words, places and people."""
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
        planned = onboarding.planned(conn, staff.business_id)
        locations = tenancy_store.business_locations(conn, staff.business_id)
        people = tenancy_store.business_staff(conn, staff.business_id)
    if planned is None:
        return {}
    definition, template, rewards = planned
    titles = {r.slug: r.title.model_dump() for r in rewards}
    names = ProgramNames.of(definition, titles, lang, business.currency)
    return {
        "program_title": template_title(template.name, lang),
        "promise": promise(definition, names),
        "rules": [name_in(r, lang) for r in definition.rules],
        "tiers": [name_in(t, lang) for t in definition.tiers.levels] if definition.tiers else [],
        "locations": locations,
        "people": [p for p in people if p.id != staff.staff_id],
    }


@router.get("/admin/setup/review", response_class=HTMLResponse)
def review_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = state(db, staff)
    moved = not_yet(found, "review", lang)
    if moved is not None:
        return moved
    language = language_of(db, staff, accept_language, lang)
    return page(
        request,
        db,
        staff,
        "setup_review.html",
        "review",
        found,
        lang,
        accept_language,
        summary=_summary(db, staff, language),
    )


@router.post("/admin/setup/live", response_class=HTMLResponse)
def go_live(
    staff: CurrentManager, db: Db, now: Now, csrf: Csrf = "", lang: FormLang = ""
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    found = state(db, staff)
    moved = not_yet(found, "review", lang)
    if moved is not None:
        return moved
    with db.transaction() as conn:
        onboarding.go_live(conn, staff.principal, now)
    return go("/admin/setup/done", lang)


@router.get("/admin/setup/done", response_class=HTMLResponse)
def setup_done(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """The end of the set-up: the program is live, here is the poster to print."""
    found = state(db, staff)
    if not found.finished:
        return go(f"/admin/setup/{found.step}", lang)
    return draw_poster(request, staff, db, now, settings, lang, accept_language, just_live=True)
