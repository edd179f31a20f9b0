"""Who receives the daily, weekly and monthly summaries, in the admin console (managers and
owners), and a test send of the latest daily summary to oneself."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from lealtad.analytics import preferences, reports
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError
from lealtad.members.model import normalise_email
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Addresses = Annotated[str, Form(max_length=10_000)]
MAX_RECIPIENTS = 20
_SEPARATORS = re.compile(r"[\s,;]+")


def parse_addresses(text: str) -> list[str]:
    """Addresses separated by new lines, commas or semicolons, each checked and lowercased;
    Invalid names the first one that is not an address."""
    found: list[str] = []
    for part in _SEPARATORS.split(text.strip()):
        if not part:
            continue
        address = normalise_email(part)
        if address is None:
            raise Invalid(f"{part!r} is not an e-mail address", code="invalid_email", details=part)
        if address not in found:
            found.append(address)
    if len(found) > MAX_RECIPIENTS:
        raise Invalid(f"at most {MAX_RECIPIENTS} addresses", code="too_many_recipients")
    return found


def _error(language: str, exc: LealtadError) -> str:
    _ = translator(language)
    if exc.code == "invalid_email":
        return _("This is not an e-mail address: %(address)s") % {"address": exc.details}
    known = {
        "too_many_recipients": _("At most 20 addresses for each report."),
        "smtp_not_configured": _("E-mail is not set up on this server, so nothing can be sent."),
        "mail_not_sent": _("The mail server did not take the e-mail. Try again later."),
    }
    return known.get(exc.code) or said(exc, _)


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
        business, me, language = console(conn, staff, lang, accept_language)
        prefs = preferences.get(conn, staff.business_id)
    form = {f: "\n".join(prefs.reports.get(f, [])) for f in preferences.REPORT_FREQUENCIES}
    context = {"error": None, "notice": None, "form": form} | extra
    return render_page(
        request,
        "admin_reports.html",
        language,
        status,
        business=business,
        staff=staff,
        my_email=me.email,
        sent=prefs.reports_sent,
        **context,
    )


@router.get("/admin/reports", response_class=HTMLResponse)
def reports_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _page(request, db, staff, lang, accept_language)


@router.post("/admin/reports", response_class=HTMLResponse)
def save_recipients(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    daily: Addresses = "",
    weekly: Addresses = "",
    monthly: Addresses = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    form = {"daily": daily, "weekly": weekly, "monthly": monthly}
    try:
        chosen = {frequency: parse_addresses(text) for frequency, text in form.items()}
        with db.transaction() as conn:
            prefs = preferences.get(conn, staff.business_id)
            before = {f: prefs.reports.get(f, []) for f in form}
            prefs.reports = {f: found for f, found in chosen.items() if found}
            preferences.save(conn, staff.business_id, prefs)
            changed = {
                f: {"before": before[f], "after": chosen[f]} for f in form if before[f] != chosen[f]
            }
            if changed:
                tenancy.audit(
                    conn, staff.principal, "reports.recipients", "analytics", now, **changed
                )
            language = console(conn, staff, None, accept_language)[2]
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        error = _error(language, exc)
        return _page(
            request, db, staff, None, accept_language, exc.http_status, error=error, form=form
        )
    notice = translator(language)("The report recipients are saved.")
    return _page(request, db, staff, None, accept_language, notice=notice)


@router.post("/admin/reports/test", response_class=HTMLResponse)
def send_test(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    with db.read() as conn:
        language = console(conn, staff, None, accept_language)[2]
    try:
        with db.read() as conn:
            address = reports.send_test(conn, staff.business_id, staff.staff_id, now, settings)
    except LealtadError as exc:
        error = _error(language, exc)
        return _page(request, db, staff, None, accept_language, exc.http_status, error=error)
    notice = translator(language)("The latest daily summary was sent to %(address)s.")
    return _page(request, db, staff, None, accept_language, notice=notice % {"address": address})
