"""The one-click unsubscribe page, in the member's language."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse

from lealtad.comms import unsubscribe
from lealtad.deps import AppSettings, Db, Now
from lealtad.members import store as member_store
from lealtad.web.i18n import pick_language
from lealtad.web.pages import render_page

router = APIRouter(include_in_schema=False)


@router.get("/u/{value}", response_class=HTMLResponse)
def confirm(
    request: Request,
    value: str,
    db: Db,
    settings: AppSettings,
    accept_language: Annotated[str | None, Header(max_length=200)] = None,
) -> HTMLResponse:
    """Shows what the link does, with one button; mail clients that follow links do not unsubscribe."""
    business_id, member_id, _channel, _ = unsubscribe.read(
        settings.effective_secret_key, value[:500]
    )
    with db.read() as conn:
        member = member_store.member(conn, business_id, member_id)
    lang = pick_language(member.locale if member else None, accept_language, "es")
    return render_page(request, "unsubscribe.html", lang, value=value, done=False)


@router.post("/u/{value}", response_class=HTMLResponse)
def confirm_post(
    request: Request, value: str, db: Db, settings: AppSettings, now: Now
) -> HTMLResponse:
    """RFC 8058 one-click: a POST to the link unsubscribes at once."""
    with db.transaction() as conn:
        member = unsubscribe.unsubscribe(conn, settings.effective_secret_key, value[:500], now)
    lang = pick_language(member.locale, None, "es")
    return render_page(request, "unsubscribe.html", lang, value=value, done=True)
