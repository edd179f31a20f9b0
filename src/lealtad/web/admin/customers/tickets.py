"""The console's queue of ticket claims (/admin/tickets): the claims waiting for approval, each
approved (the purchase is recorded, dated as the ticket) or refused with one button, and the
latest decided ones; the ticket rules (tax id, age, daily limits, approval amount) for the owner."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.ids import IdPath
from lealtad.members import store as member_store
from lealtad.tenancy import service as tenancy
from lealtad.tickets import service
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.i18n import translator
from lealtad.web.numbers import money
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]


def _who(conn: Any, business_id: int, member_id: int) -> str:
    row = member_store.member(conn, business_id, member_id)
    if row is None:
        return f"#{member_id}"
    return f"{row.name or ''} · {row.card_number}".strip(" ·")


def _page(
    request: Request,
    db: Db,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    notice: str = "",
    problem: str = "",
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        pending = service.listing(conn, staff.business_id, "pending")
        latest = [
            c for c in service.listing(conn, staff.business_id, None, 50) if c.status != "pending"
        ]
        rules = service.settings_of(conn, staff.business_id)
        names = {
            c.member_id: _who(conn, staff.business_id, c.member_id) for c in [*pending, *latest]
        }
    shown = {c.id: money(c.amount, c.currency, language) for c in [*pending, *latest]}
    _ = translator(language)
    notices = {
        "approved": _("Claim approved: the purchase is recorded."),
        "refused": _("Claim refused: it earns nothing."),
    }
    problems = {
        "ticket_claim_decided": _("That claim was already decided."),
        "ticket_claim_not_found": _("There is no such claim."),
        "ticket_already_claimed": _("This purchase was already recorded: refuse the claim."),
    }
    return render_page(
        request,
        "admin_tickets.html",
        language,
        status,
        business=business,
        staff=staff,
        pending=pending,
        latest=latest,
        names=names,
        amounts=shown,
        rules=rules,
        approval_text=money(rules.approval_above, "EUR", language)
        if rules.approval_above is not None
        else "",
        notice=notices.get(notice, ""),
        error=problems.get(problem, _("That did not work. Please try again.")) if problem else None,
    )


@router.get("/admin/tickets", response_class=HTMLResponse)
def tickets_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    done: str = "",
) -> HTMLResponse:
    return _page(request, db, staff, lang, accept_language, notice=done[:10])


def _decide(
    request: Request,
    claim_id: int,
    approve: bool,
    staff: StaffSession,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: str,
    accept_language: str | None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    try:
        with db.transaction() as conn:
            service.decide(
                conn,
                staff.principal,
                claim_id,
                approve,
                secret_key=settings.effective_secret_key,
                now=now,
            )
            action = "ticket_claim.approve" if approve else "ticket_claim.refuse"
            tenancy.audit(conn, staff.principal, action, f"ticket_claim:{claim_id}", now)
    except LealtadError as exc:
        return _page(request, db, staff, None, accept_language, exc.http_status, problem=exc.code)
    done = "approved" if approve else "refused"
    return RedirectResponse(f"/admin/tickets?done={done}", status_code=303)


@router.post("/admin/tickets/{claim_id}/approve", response_class=Response)
def approve_claim(
    request: Request,
    claim_id: IdPath,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    """Records the claim's purchase now, dated as the ticket."""
    return _decide(request, claim_id, True, staff, db, settings, now, csrf, accept_language)


@router.post("/admin/tickets/{claim_id}/refuse", response_class=Response)
def refuse_claim(
    request: Request,
    claim_id: IdPath,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    return _decide(request, claim_id, False, staff, db, settings, now, csrf, accept_language)
