"""The admin console for owners and managers: log in, the message delivery log and a preview of
every message in both languages with a real member's figures."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select

from lealtad.comms import preview
from lealtad.comms.tables import messages
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.clock import naive_utc
from lealtad.members import store as member_store
from lealtad.members.model import normalise_card_number
from lealtad.members.tables import members
from lealtad.security import devices, limits
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.web import limit_pages, pending, sessions
from lealtad.web.i18n import LANGUAGES, pick_language, translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.same_site import SAME_SITE
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
STATUSES = ("queued", "sent", "failed", "bounced", "suppressed", "unsubscribed")


def _safe_next(value: str) -> str:
    # Only back into the console or the counter: a crafted link must not send staff elsewhere.
    inside = value.startswith(("/admin", "/counter"))
    ok = inside and "//" not in value and "\\" not in value
    return value if ok else "/admin"


@router.get("/admin/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    next: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    language = pick_language(lang, accept_language, "es")
    return render_page(
        request,
        "admin_login.html",
        language,
        error=None,
        next=_safe_next(next) if next else "",
        form={},
    )


@router.post("/admin/login", response_class=HTMLResponse, dependencies=SAME_SITE)
def login(
    request: Request,
    db: Db,
    settings: AppSettings,
    now: Now,
    business: Annotated[str, Form(max_length=64)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    language = pick_language(lang, accept_language, "es")
    form = {"business": business, "email": email}
    guard = limits.staff_login_attempt(db, request, settings, business, email, now)
    try:
        if guard is not None:
            guard.claim()
        with db.read() as conn:
            _token, staff = tenancy.staff_login(
                conn,
                settings.effective_secret_key,
                business_slug=business.strip().lower(),
                email=email,
                password=password,
            )
            shop = tenancy_store.business(conn, staff.business_id)
    except limits.TooManyAttempts as exc:
        error = limit_pages.message(language, exc)
        page = render_page(
            request, "admin_login.html", language, 429, error=error, next=next, form=form
        )
        return limit_pages.with_retry_after(page, exc)
    except LealtadError:
        if guard is not None:
            guard.failed()
        error = translator(language)("Wrong business, e-mail or password.")
        return render_page(
            request, "admin_login.html", language, 401, error=error, next=next, form=form
        )
    except BaseException:
        if guard is not None:
            guard.released()
        raise
    if guard is not None:
        guard.succeeded()
    response = _signed_in(settings, staff, shop, next, language)
    devices.remember(response, request, settings, staff.business_id, email)
    return response


def _signed_in(settings: Any, staff: Any, shop: Any, next: str, language: str) -> Response:
    if two_step.code_needed(shop, staff):
        # No session yet: the code (or setting two-step up) comes first.
        where = "/admin/login/code" if two_step.is_on(staff) else "/admin/login/setup"
        response = RedirectResponse(where, status_code=303)
        pending.start(response, settings, staff, next, language)
        return response
    response = RedirectResponse(landing(staff.role, next), status_code=303)
    sessions.start_staff(response, settings, staff)
    return response


def landing(role: str, next: str) -> str:
    """Staff go to the counter, managers and owners to the console, unless a page sent them."""
    return _safe_next(next) if next else ("/counter" if role == "staff" else "/admin")


@router.post("/admin/logout")
def logout(
    staff: sessions.CurrentStaff, db: Db, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    # Signing out signs out everywhere: a copy of this cookie, or a token, must not live on.
    with db.transaction() as conn:
        tenancy_store.end_staff_sessions(conn, staff.business_id, staff.staff_id)
    response = RedirectResponse("/admin/login", status_code=303)
    sessions.end(response, sessions.STAFF_COOKIE)
    return response


def console_language(lang: str | None, accept_language: str | None, business: Any, me: Any) -> str:
    """`?lang=` for one page, else the person's own setting, else the browser, else the
    business's language."""
    own = me.locale if me is not None and me.locale in LANGUAGES else None
    if own:
        return pick_language(lang, None, own)
    return pick_language(lang, accept_language, business.locale)


def console(
    conn: Any, staff: StaffSession, lang: str | None, accept_language: str | None
) -> tuple[Any, Any, str]:
    """What every console page needs: the business, the signed-in person's row, the language."""
    business = tenancy_store.business(conn, staff.business_id)
    me = tenancy_store.staff(conn, staff.business_id, staff.staff_id)
    return business, me, console_language(lang, accept_language, business, me)


@router.get("/admin", response_class=HTMLResponse)
def home(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The delivery log: how the last 30 days of messages went, and the latest ones."""
    since = naive_utc(now - timedelta(days=30))
    bid = staff.business_id
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        counted = conn.execute(
            select(messages.c.channel, messages.c.status, func.count())
            .where(messages.c.business_id == bid, messages.c.created_at >= since)
            .group_by(messages.c.channel, messages.c.status)
        ).all()
        latest = conn.execute(
            select(messages, members.c.name, members.c.card_number)
            .join(members, members.c.id == messages.c.member_id)
            .where(messages.c.business_id == bid)
            .order_by(messages.c.id.desc())
            .limit(30)
        ).all()
    channels = sorted({row.channel for row in counted}) or ["email"]
    totals = {(row.channel, row.status): row[2] for row in counted}
    return render_page(
        request,
        "admin_home.html",
        language,
        business=business,
        staff=staff,
        channels=channels,
        statuses=STATUSES,
        totals=totals,
        latest=latest,
        templates=preview.templates(),
    )


@router.get("/admin/messages/preview", response_class=HTMLResponse)
def message_preview(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    template: Annotated[str, Query(max_length=64)] = "welcome",
    language: Annotated[str, Query(max_length=5, alias="in")] = "",
    card: Annotated[str, Query(max_length=40)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """A message as a member would get it: with the member whose card is given, or the latest
    member when none is."""
    bid = staff.business_id
    with db.read() as conn:
        business, _me, page_lang = console(conn, staff, lang, accept_language)
        _ = translator(page_lang)
        error = None
        if template not in preview.templates():
            error, template = _("There is no message of that kind."), "welcome"
        number = normalise_card_number(card) if card else ""
        member = member_store.member_by(conn, bid, "card_number", number) if number else None
        if card and member is None:
            error = _("No member has that card number; showing the latest member instead.")
        if member is None:
            latest = conn.execute(
                select(members.c.id)
                .where(members.c.business_id == bid)
                .order_by(members.c.id.desc())
                .limit(1)
            ).scalar()
            member = member_store.member(conn, bid, latest) if latest else None
        message_lang = language if language in ("es", "en") else page_lang
        shown = (
            preview.preview(
                conn, business, member, template, message_lang, now, settings.public_base_url
            )
            if member is not None
            else None
        )
    return render_page(
        request,
        "admin_preview.html",
        page_lang,
        404 if shown is None else 200,
        business=business,
        staff=staff,
        templates=preview.templates(),
        template=template,
        message_lang=message_lang,
        member=member,
        shown=shown,
        error=error if shown is not None else _("There are no members yet to preview with."),
    )
