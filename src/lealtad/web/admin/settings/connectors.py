"""Connectors in the admin console: each till or shop connected, the address its vendor posts
to, what happens to a buyer the business does not know, and its last deliveries (recorded,
duplicate, ignored, refused or failed). Managers and owners; configured through the JSON API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from lealtad.config import Settings
from lealtad.connectors import service as connectors
from lealtad.connectors.schemas import ConnectorIn
from lealtad.connectors.vendors import VENDORS as CONNECTABLE
from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
SHOWN = 10
Field = Annotated[str, Form(max_length=200)]

# The catalog's English message for each vendor and each outcome of a delivery.
VENDORS = {
    "standard": "Generic signed webhook",
    "square": "Square",
    "shopify": "Shopify",
    "woocommerce": "WooCommerce",
    "loyverse": "Loyverse",
}
OUTCOMES = {
    "recorded": "Recorded",
    "duplicate": "Already recorded",
    "ignored": "Ignored",
    "refused": "Refused",
    "failed": "Not applied",
    "linked": "Customer linked",
}


@router.get("/admin/settings/connectors", response_class=HTMLResponse)
def connectors_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _page(request, db, settings, staff, lang, accept_language)


@router.post("/admin/settings/connectors", response_class=HTMLResponse)
def save_connector(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    vendor: Field = "",
    secret: Field = "",
    unknown_customer: Field = "anonymous",
    location: Field = "",
    csrf: Field = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    """Sets a connector up, or changes it; the vendor's own location ids stay as the API set
    them, and a blank secret keeps the one already given."""
    sessions.require_csrf(staff.csrf, csrf)
    form = {"vendor": vendor, "unknown_customer": unknown_customer, "location": location}
    try:
        if vendor not in CONNECTABLE:
            raise Invalid("choose a vendor", code="connector_not_found")
        with db.transaction() as conn:
            kept = {c.vendor: c.locations for c in connectors.connectors(conn, staff.business_id)}
            try:
                data = ConnectorIn(
                    secret=secret.strip() or None,
                    locations=kept.get(vendor, {}),
                    location_id=int(location) if location.isdigit() else None,
                    unknown_customer=unknown_customer,
                )
            except ValidationError as exc:
                raise Invalid("check the form", code="invalid_connector") from exc
            connectors.configure(conn, staff.principal, vendor, data, now)
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        error = _said(language, exc)
        return _page(
            request, db, settings, staff, None, accept_language, exc.http_status, error, form
        )
    return RedirectResponse(f"/admin/settings/connectors#connector-{vendor}", status_code=303)


def _said(language: str, exc: LealtadError) -> str:
    _ = translator(language)
    known = {
        "connector_not_found": _("Choose the till or shop to connect."),
        "secret_required": _("Give the secret the vendor signs with."),
        "invalid_connector": _("Check the secret (8 to 200 characters) and the choices."),
        "secret_too_short": _("For Loyverse, make the secret at least 24 characters long."),
    }
    return known.get(exc.code) or error_message(language, exc)


def _page(
    request: Request,
    db: Database,
    settings: Settings,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    error: str | None = None,
    form: dict[str, Any] | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        connected = connectors.connectors(conn, staff.business_id)
        deliveries = {
            c.vendor: connectors.deliveries(conn, staff.business_id, c.vendor, SHOWN)
            for c in connected
        }
        locations = tenancy_store.business_locations(conn, staff.business_id)
    return render_page(
        request,
        "admin_settings_connectors.html",
        language,
        status,
        business=business,
        staff=staff,
        connected=connected,
        deliveries=deliveries,
        base_url=settings.public_base_url.rstrip("/"),
        locations=locations,
        location_names={row.id: row.name for row in locations},
        # The registry decides what can be connected; every vendor in it has a label here.
        vendor_names={name: VENDORS.get(name, name) for name in CONNECTABLE},
        outcomes=OUTCOMES,
        form=form or {},
        error=error,
        notice=None,
    )
