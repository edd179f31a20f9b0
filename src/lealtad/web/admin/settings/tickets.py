"""Ticket scanning in the console, for owners (as in the JSON API): each location's receipt-signing
keys (a new one shown once, retiring an old one) and the ticket rules: the tax id VERI*FACTU
invoices must carry, the age limit, the daily limits and the amount above which an invoice
waits for approval."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import MAX_ID
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tickets import keys, service
from lealtad.tickets.schemas import KeyOut, TicketSettingsIO
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message, owner_only
from lealtad.web.counter.forms import FormError, parse_amount
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Small = Annotated[str, Form(max_length=20)]
KeyId = Annotated[str, Path(min_length=1, max_length=16, pattern=r"^[a-z0-9]+$")]
PAGE = "/admin/settings/tickets"


def _page(
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
        made = keys.listing(conn, staff.business_id)
        locations = tenancy_store.business_locations(conn, staff.business_id)
        rules = service.settings_of(conn, staff.business_id)
    context = {"error": None, "notice": None, "new_key": None, "form": None} | extra
    if context["form"] is None:
        above = rules.approval_above
        context["form"] = rules.__dict__ | {
            "approval_above": "" if above is None else f"{above / 100:.2f}".replace(".", ",")
        }
    return render_page(
        request,
        "admin_settings_tickets.html",
        language,
        status,
        business=business,
        staff=staff,
        keys=list(reversed(made)),
        locations=locations,
        location_names={row.id: row.name for row in locations},
        **context,
    )


@router.get(PAGE, response_class=HTMLResponse)
def tickets_settings(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    owner_only(staff)
    return _page(request, db, staff, lang, accept_language)


def _language(db: Db, staff: StaffSession, accept_language: str | None) -> str:
    with db.read() as conn:
        return console(conn, staff, None, accept_language)[2]


@router.post(f"{PAGE}/keys", response_class=HTMLResponse)
def make_key(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    location: Small = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    where = int(location) if location.isdigit() and 0 < int(location) <= MAX_ID else 0
    try:
        with db.transaction() as conn:
            made: KeyOut = keys.make(conn, staff.business_id, where, staff.principal.actor, now)
            target = f"ticket_key:{made.key_id}"
            tenancy.audit(
                conn, staff.principal, "ticket_key.create", target, now, location_id=where
            )
    except LealtadError as exc:
        error = error_message(_language(db, staff, accept_language), exc)
        return _page(request, db, staff, None, accept_language, exc.http_status, error=error)
    # The only time the secret is shown; the till keeps it, the database keeps it encrypted.
    answer = _page(request, db, staff, None, accept_language, 201, new_key=made)
    answer.headers["Cache-Control"] = "no-store"
    return answer


@router.post(f"{PAGE}/keys/{{key_id}}/retire", response_class=HTMLResponse)
def retire_key(
    request: Request,
    key_id: KeyId,
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
            keys.retire(conn, staff.business_id, key_id, now)
            tenancy.audit(conn, staff.principal, "ticket_key.retire", f"ticket_key:{key_id}", now)
    except LealtadError as exc:
        error = error_message(_language(db, staff, accept_language), exc)
        return _page(request, db, staff, None, accept_language, exc.http_status, error=error)
    return RedirectResponse(f"{PAGE}#key-{key_id}", status_code=303)


def _whole(text: str, low: int, high: int) -> int | None:
    value = text.strip()
    return int(value) if value.isdigit() and low <= int(value) <= high else None


@router.post(f"{PAGE}/rules", response_class=HTMLResponse)
def save_rules(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    tax_id: Small = "",
    max_age_days: Small = "",
    member_daily_claims: Small = "",
    device_daily_claims: Small = "",
    approval_above: Small = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    language = _language(db, staff, accept_language)
    _ = translator(language)
    form = {
        "tax_id": tax_id,
        "max_age_days": max_age_days,
        "member_daily_claims": member_daily_claims,
        "device_daily_claims": device_daily_claims,
        "approval_above": approval_above,
    }
    numbers = {
        "max_age_days": _whole(max_age_days, 0, 365),
        "member_daily_claims": _whole(member_daily_claims, 0, 1000),
        "device_daily_claims": _whole(device_daily_claims, 0, 1000),
    }

    def again(status: int, error: str) -> HTMLResponse:
        return _page(request, db, staff, None, accept_language, status, error=error, form=form)

    if any(value is None for value in numbers.values()):
        return again(422, _("Days and limits are whole numbers from 0."))
    try:
        above = parse_amount(approval_above, "EUR", _, allow_zero=True) if approval_above else None
    except FormError as exc:
        return again(422, str(exc))
    wanted = TicketSettingsIO(
        tax_id=tax_id.strip() or None, approval_above=above, **{k: v for k, v in numbers.items()}
    )
    try:
        with db.transaction() as conn:
            before = TicketSettingsIO(**service.settings_of(conn, staff.business_id).__dict__)
            saved = service.save_settings(
                conn, staff.business_id, service.TicketSettings(**wanted.model_dump()), now
            )
            after = TicketSettingsIO(**saved.__dict__)
            tenancy.audit_change(
                conn,
                staff.principal,
                "ticket_settings.update",
                "ticket_settings",
                now,
                before,
                after,
            )
    except LealtadError as exc:
        if exc.code == "tax_id_invalid":
            return again(422, _("A Spanish tax id has 9 letters and digits, like B12345674."))
        return again(exc.http_status, error_message(language, exc))
    return _page(request, db, staff, None, accept_language, notice=_("Ticket rules saved."))
