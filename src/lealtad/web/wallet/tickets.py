"""The member scans the QR on their receipt (the business's signed receipt code, or a VERI*FACTU
invoice QR) with the wallet's camera, or pastes it, or opens the link the till printed; the
answer says what happened: points earned, waiting for the shop's approval, or why not."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.tickets import service
from lealtad.web.numbers import money, number
from lealtad.web.pages import Lang, render_page
from lealtad.web.wallet.common import Gettext, Visit, expired_form, to_login, visit

router = APIRouter(include_in_schema=False)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
DEVICE_COOKIE = "lealtad_device"
DEVICE_LIFE = timedelta(days=400)


def refusal_text(code: str, _: Gettext) -> str:
    sentences = {
        "ticket_already_claimed": _("This ticket has already been claimed."),
        "ticket_not_this_business": _("This ticket is not from this business."),
        "ticket_too_old": _("This ticket is too old to claim."),
        "ticket_in_future": _("This ticket is dated in the future."),
        "ticket_bad_signature": _("This ticket's code does not check out."),
        "ticket_unreadable": _("This code is not a ticket we can read."),
        "ticket_limit_reached": _("You have claimed as many tickets as you can today."),
    }
    return sentences.get(code, _("That did not work. Please try again."))


def _device(request: Request) -> str | None:
    value = request.cookies.get(DEVICE_COOKIE, "")
    if 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    return None


def _page(found: Visit, request: Request, status: int, **context: Any) -> HTMLResponse:
    defaults = {"code": "", "outcome": None, "error": None, "claim": None, "tab": "tickets"}
    page = render_page(
        request, "wallet_tickets.html", found.lang, status, **found.page(**(defaults | context))
    )
    if _device(request) is None:
        # One id per phone's browser, for the daily limit per device; it names no one.
        page.set_cookie(
            DEVICE_COOKIE,
            secrets.token_urlsafe(18),
            max_age=int(DEVICE_LIFE.total_seconds()),
            path=f"/w/{found.business.slug}",
            httponly=True,
            secure=request.url.scheme == "https",
            samesite="lax",
        )
    return page


@router.get("/w/{slug}/tickets", response_class=Response)
def ticket_form(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    t: Annotated[str, Query(max_length=600)] = "",
) -> Response:
    """The scanner and the field; a receipt's printed link fills the field (`t=`) and the member
    confirms with one tap: opening a link claims nothing by itself."""
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _page(found, request, 200, code=t.strip())


@router.post("/w/{slug}/tickets", response_class=Response)
def claim_ticket(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    code: Annotated[str, Form(max_length=600)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    found = visit(request, db, settings, slug, lang or None)
    if found is None:
        return to_login(slug)
    _ = found._
    if not found.csrf_ok(csrf):
        return _page(found, request, 403, code=code, error=expired_form(_))
    if not code.strip():
        return _page(found, request, 422, error=_("Scan the QR on your receipt or paste its code."))
    try:
        with db.transaction() as conn:
            claim = service.claim(
                conn,
                found.principal,
                found.member.id,
                code,
                device_id=_device(request),
                secret_key=settings.effective_secret_key,
                now=now,
            )
    except LealtadError as exc:
        return _page(
            found,
            request,
            exc.http_status,
            code=code,
            outcome="refused",
            error=refusal_text(exc.code, _),
        )
    return _page(
        found,
        request,
        201,
        outcome=claim.status,
        claim=claim,
        amount=money(claim.amount, claim.currency, found.lang),
        points=number(claim.points, found.lang),
    )
