"""Connectors in the admin console: each till or shop connected, the address its vendor posts
to, what happens to a buyer the business does not know, and its last deliveries (recorded,
duplicate, ignored, refused or failed). Managers and owners; configured through the JSON API."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from lealtad.connectors import service as connectors
from lealtad.deps import AppSettings, Db
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
SHOWN = 10

# The catalog's English message for each vendor and each outcome of a delivery.
VENDORS = {"standard": "Generic signed webhook", "square": "Square", "shopify": "Shopify"}
OUTCOMES = {
    "recorded": "Recorded",
    "duplicate": "Already recorded",
    "ignored": "Ignored",
    "refused": "Refused",
    "failed": "Not applied",
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
        business=business,
        staff=staff,
        connected=connected,
        deliveries=deliveries,
        base_url=settings.public_base_url.rstrip("/"),
        location_names={row.id: row.name for row in locations},
        vendor_names=VENDORS,
        outcomes=OUTCOMES,
        error=None,
        notice=None,
    )
