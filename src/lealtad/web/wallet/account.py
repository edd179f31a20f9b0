"""The wallet's history and the member's own page: every movement of their balance with its
reason, their referral link to share, badges and challenges, a copy of all their data, and
deleting their account."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Request
from fastapi.responses import HTMLResponse, Response

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.deps import AppSettings, Db, Now
from lealtad.kit.ids import Cursor
from lealtad.ledger import api as ledger_api
from lealtad.ledger.schemas import HistoryEntry
from lealtad.privacy import erasure, export
from lealtad.rewards import gamification_api
from lealtad.rules.names import ProgramNames
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.pages import Lang, render_page
from lealtad.web.wallet import pin as wallet_pin
from lealtad.web.wallet.common import (
    Gettext,
    Visit,
    amount,
    day,
    expired_form,
    local_text,
    program_names_now,
    to_login,
    visit,
    when,
)

router = APIRouter(include_in_schema=False)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Csrf = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]
PAGE = 25


def _kinds(_: Gettext) -> dict[str, str]:
    return {
        "earn": _("Earned"),
        "redeem": _("Redeemed"),
        "donate": _("Donated"),
        "refund": _("Refund"),
        "adjust": _("Adjustment"),
        "unlock": _("Points unlocked"),
        "expire": _("Expired"),
        "cancel": _("Given back"),
        "spend": _("Paid with your balance"),
        "opening": _("Balance brought from the previous program"),
        "opening_undo": _("Brought balance withdrawn"),
    }


def _entry(
    entry: HistoryEntry, visit: Visit, kinds: dict[str, str], names: ProgramNames
) -> dict[str, Any]:
    lang = visit.lang
    changes = [
        {
            "text": ("+" if value > 0 else "−") + names.award(code, abs(value)),
            "sign": "plus" if value > 0 else "minus",
        }
        for code, value in sorted(entry.changes.items())
        if value
    ]
    return {
        "id": entry.entry_id,
        "kind": entry.kind,
        "when": when(entry.occurred_at, visit.zone, lang),
        "what": kinds.get(entry.kind, entry.kind),
        "changes": changes,
        # The memo the system wrote, with rules, cards and rewards named in the member's words.
        "why": names.memo(entry.reason),
    }


@router.get("/w/{slug}/history", response_class=HTMLResponse)
def history(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    before: Cursor = None,
) -> Response:
    """Newest first, a page at a time, from the same history the JSON API gives."""
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    page = ledger_api.history(found.member.id, found.principal, db, limit=PAGE + 1, before=before)
    kinds = _kinds(found._)
    with db.read() as conn:
        names = program_names_now(conn, found.business, found.lang, now)
    entries = [_entry(e, found, kinds, names) for e in page[:PAGE]]
    older = found.url("/history", before=page[PAGE - 1].entry_id) if len(page) > PAGE else None
    return render_page(
        request,
        "wallet_history.html",
        found.lang,
        **found.page(
            tab="history",
            entries=entries,
            older=older,
            newest=found.url("/history") if before else None,
        ),
    )


def _challenge(row: gamification_api.MemberChallengeOut, visit: Visit) -> dict[str, Any]:
    _, lang, currency = visit._, visit.lang, visit.business.currency
    unit = "cashback" if row.metric == "spend" else "count"
    periods = {"week": _("This week"), "month": _("This month"), "year": _("This year")}
    return {
        "title": local_text(row.title, lang, row.slug),
        "done": row.done,
        "value": min(row.progress, row.target),
        "target": row.target,
        "progress": _("%(done)s of %(target)s")
        % {
            "done": amount(unit, int(row.progress), currency, lang),
            "target": amount(unit, row.target, currency, lang),
        },
        "period": periods.get(row.period, ""),
        "bonus": amount("points", row.bonus_points, currency, lang) if row.bonus_points else None,
    }


def _me_page(
    request: Request,
    db: Database,
    settings: Settings,
    visit: Visit,
    now: datetime,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    mid, principal, lang = visit.member.id, visit.principal, visit.lang
    referral = gamification_api.member_referral(mid, principal, db, settings)
    badges = [
        {
            "title": local_text(b.title or {}, lang, b.badge),
            "when": day(b.earned_at, visit.zone, lang),
        }
        for b in gamification_api.member_badges(mid, principal, db)
    ]
    challenges = [
        _challenge(c, visit) for c in gamification_api.member_challenges(mid, principal, db, now)
    ]
    share = visit._("Join %(business)s with my invitation") % {"business": visit.business.name}
    return render_page(
        request,
        "wallet_me.html",
        lang,
        status,
        **visit.page(
            tab="me",
            mode="home",
            error=error,
            referral=referral,
            share_text=share,
            badges=badges,
            challenges=challenges,
            card_pin=wallet_pin.has_pin(db, visit),
        ),
    )


me_page = _me_page


@router.get("/w/{slug}/me", response_class=HTMLResponse)
def me(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _me_page(request, db, settings, found, now)


@router.post("/w/{slug}/me/export")
def download(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    lang: FormLang = "",
) -> Response:
    """All the member's data as a JSON file; the audit log notes that it was taken."""
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    if not found.csrf_ok(csrf):
        return _me_page(request, db, settings, found, now, 403, expired_form(found._))
    mid = found.member.id
    with db.transaction() as conn:
        data = export.member_data(conn, found.business.id, mid, settings.effective_secret_key, now)
        tenancy.audit(conn, found.principal, "member.export", f"member:{mid}", now)
    name = f"{found.business.slug}-{found.member.card_number}.json"
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2, default=str),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _confirm_page(
    request: Request, visit: Visit, status: int = 200, error: str | None = None
) -> HTMLResponse:
    context = visit.page(tab="me", mode="confirm", error=error)
    return render_page(request, "wallet_me.html", visit.lang, status, **context)


@router.get("/w/{slug}/me/delete", response_class=HTMLResponse)
def confirm_deletion(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    found = visit(request, db, settings, slug, lang, accept_language)
    if found is None:
        return to_login(slug)
    return _confirm_page(request, found)


@router.post("/w/{slug}/me/delete", response_class=HTMLResponse)
def delete_account(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    lang: FormLang = "",
    confirm: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    found = visit(request, db, settings, slug, lang)
    if found is None:
        return to_login(slug)
    _ = found._
    if not found.csrf_ok(csrf):
        return _confirm_page(request, found, 403, expired_form(_))
    if confirm != "yes":
        error = _("Tick the box to confirm that you want to delete your account.")
        return _confirm_page(request, found, 422, error)
    with db.transaction() as conn:
        erasure.erase(conn, found.principal, found.member.id, now)
    page = render_page(
        request, "wallet_me.html", found.lang, business=found.business, mode="erased"
    )
    sessions.end(page, sessions.MEMBER_COOKIE)
    return page
