"""The member wallet: log in with a code sent by e-mail, then the card, balances, tier, the next
reward, open surveys and the member's own message preferences."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Header, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from lealtad.comms import login_codes, push
from lealtad.config import Settings
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError, Unauthorized
from lealtad.kit.clock import naive_utc
from lealtad.members import login, model, service
from lealtad.members.schemas import Consent, MemberPatch
from lealtad.passes import google as google_wallet
from lealtad.passes import service as wallet_passes
from lealtad.security import limits
from lealtad.surveys import links
from lealtad.surveys import service as surveys
from lealtad.tickets import service as tickets
from lealtad.web import limit_pages, sessions
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import STATIC, Lang, business_or_404, render_page
from lealtad.web.same_site import SAME_SITE
from lealtad.web.wallet import card as wallet_card
from lealtad.web.wallet import preferences

router = APIRouter(include_in_schema=False)

AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Email = Annotated[str, Form(max_length=320)]
Csrf = Annotated[str, Form(max_length=100)]


# A member who opens the wallet with the sign-up's code this soon after joining is welcomed.
JUST_JOINED = timedelta(hours=1)


def _wallet_url(slug: str) -> str:
    return f"/w/{slug}"


@router.get("/w/{slug}/login", response_class=HTMLResponse)
def login_form(
    request: Request, slug: str, db: Db, lang: Lang = None, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    business = business_or_404(db, slug)
    language = pick_language(lang, accept_language, business.locale)
    return render_page(request, "wallet_login.html", language, business=business, error=None)


@router.post("/w/{slug}/login", response_class=HTMLResponse)
def ask_for_code(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    tasks: BackgroundTasks,
    email: Email = "",
    lang: Annotated[str, Form(max_length=5)] = "",
) -> HTMLResponse:
    business = business_or_404(db, slug)
    language = pick_language(lang, None, business.locale)
    if not model.normalise_email(email):
        error = translator(language)("That e-mail address does not look right.")
        return render_page(
            request, "wallet_login.html", language, 422, business=business, error=error
        )
    # Every request counts against the address, so that no one can mail-bomb members from it.
    asking = limits.attempt(db, request, settings, business.id, limits.CODE_REQUEST, None, now)
    try:
        asking.claim()
    except limits.TooManyAttempts as exc:
        error = limit_pages.message(language, exc)
        page = render_page(
            request, "wallet_login.html", language, 429, business=business, error=error
        )
        return limit_pages.with_retry_after(page, exc)
    # The claim counted this request; it stays counted whatever the address.
    with db.transaction() as conn:
        message_id = login.request_code(
            conn, business.id, email, settings.effective_secret_key, now
        )
    if message_id is not None:
        tasks.add_task(login_codes.deliver_code, db, settings, business.id, message_id, now)
    # The same answer whether or not the address is a member's.
    return render_page(
        request, "wallet_code.html", language, business=business, email=email, error=None
    )


@router.post("/w/{slug}/login/code", response_class=HTMLResponse, dependencies=SAME_SITE)
def enter_code(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    email: Email = "",
    code: Annotated[str, Form(max_length=20)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
    joined: Annotated[bool, Form()] = False,
) -> Response:
    business = business_or_404(db, slug)
    language = pick_language(lang, None, business.locale)
    account = limits.account_key("member", model.normalise_email(email) or email)
    guard = limits.attempt(db, request, settings, business.id, limits.MEMBER_CODE, account, now)
    try:
        guard.claim()
    except limits.TooManyAttempts as exc:
        error = limit_pages.message(language, exc)
        page = render_page(
            request,
            "wallet_code.html",
            language,
            429,
            business=business,
            email=email,
            joined=joined,
            error=error,
        )
        return limit_pages.with_retry_after(page, exc)
    try:
        with db.transaction() as conn:
            member = login.check_code(
                conn, business.id, email, code, settings.effective_secret_key, now
            )
    except BaseException:
        guard.released()
        raise
    if member is None:
        guard.failed()
        error = translator(language)("That code is wrong or has expired. Ask for a new one.")
        return render_page(
            request,
            "wallet_code.html",
            language,
            401,
            business=business,
            email=email,
            joined=joined,
            error=error,
        )
    guard.succeeded()
    response = RedirectResponse(_landing(slug, member, joined, language, now), status_code=303)
    sessions.start_member(response, settings, business.id, member.id, member.card_version)
    return response


def _landing(slug: str, member: Any, joined: bool, language: str, now: datetime) -> str:
    """The wallet; with its welcome when the code came from the sign-up form and the member
    has just joined (the code page looks the same for a new and an existing member, so only
    the signed-in member's own record can tell)."""
    fresh = naive_utc(now) - member.enrolled_at < JUST_JOINED
    if joined and fresh and member.enrolment_channel == "self":
        return f"{_wallet_url(slug)}?welcome=1&lang={language}"
    return _wallet_url(slug)


@router.post("/w/{slug}/logout")
def logout(request: Request, slug: str, db: Db, settings: AppSettings, csrf: Csrf = "") -> Response:
    session = sessions.member_session(request, db, settings, slug)
    if session is not None:
        sessions.require_csrf(session.csrf, csrf)
    response = RedirectResponse(f"{_wallet_url(slug)}/login", status_code=303)
    sessions.end(response, sessions.MEMBER_COOKIE)
    return response


@router.get("/w/{slug}", response_class=HTMLResponse)
def wallet(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    business = business_or_404(db, slug)
    session = sessions.member_session(request, db, settings, slug)
    if session is None:
        return RedirectResponse(f"{_wallet_url(slug)}/login", status_code=303)
    return _wallet_page(request, db, settings, now, business, session, lang, accept_language)


def _wallet_page(
    request: Request,
    db: Db,
    settings: Settings,
    now: datetime,
    business: Any,
    session: sessions.MemberSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    refused: LealtadError | None = None,
    prefs_form: dict[str, Any] | None = None,
) -> HTMLResponse:
    with db.read() as conn:
        member = service.get(conn, business.id, session.member_id)
        language = pick_language(lang, accept_language, member.locale)
        shown = wallet_card.card_context(conn, settings, business, member, language, now)
        open_surveys = _open_surveys(conn, settings, business.id, member.id, language, now)
        # Only with the business's own credentials: nothing is offered without them.
        apple_pass = wallet_passes.apple_credentials(conn, business.id) is not None
        google_pass = google_wallet.credentials(conn, business.id) is not None
        phones = preferences.shown(conn, business.id, member)
        tickets_on = tickets.takes_tickets(conn, business)
    return render_page(
        request,
        "wallet.html",
        language,
        status,
        business=business,
        member=member,
        **shown,
        surveys=open_surveys,
        csrf=session.csrf,
        consent=member.consent,
        vapid_key=push.public_key_b64(settings),
        apple_pass=apple_pass,
        google_pass=google_pass,
        tickets_on=tickets_on,
        prefs_error=preferences.refusal(language, refused) if refused else None,
        prefs_form=prefs_form or {},
        **phones,
    )


def _open_surveys(
    conn: Any, settings: Settings, business_id: int, member_id: int, lang: str, now: datetime
) -> list[dict[str, str]]:
    return [
        {
            "title": row.title.get(lang) or row.title.get("en") or row.name,
            "url": links.member_url(settings, business_id, member_id, row.id),
        }
        for row in surveys.open_for_member(conn, business_id, member_id, now)
    ]


@router.post("/w/{slug}/preferences", response_class=HTMLResponse)
def preferences_form(
    request: Request,
    slug: str,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Csrf = "",
    email: Annotated[bool, Form()] = False,
    push: Annotated[bool, Form()] = False,
    sms: Annotated[bool, Form()] = False,
    whatsapp: Annotated[bool, Form()] = False,
    phone: Annotated[str, Form(max_length=32)] = "",
    lang: Annotated[str | None, Form(max_length=5)] = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """The member's own consent per channel; the wallet is the place to change one's mind."""
    session = sessions.member_session(request, db, settings, slug)
    if session is None:
        return RedirectResponse(f"{_wallet_url(slug)}/login", status_code=303)
    sessions.require_csrf(session.csrf, csrf)
    chosen = {"email": email, "push": push, "sms": sms, "whatsapp": whatsapp}
    try:
        with db.transaction() as conn:
            preferences.save(conn, session.business_id, session.member_id, chosen, phone, now)
    except LealtadError as exc:
        business = business_or_404(db, slug)
        form = {**chosen, "phone": phone}
        return _wallet_page(
            request,
            db,
            settings,
            now,
            business,
            session,
            lang,
            accept_language,
            exc.http_status,
            refused=exc,
            prefs_form=form,
        )
    suffix = f"&lang={lang}" if lang in ("es", "en") else ""
    return RedirectResponse(f"{_wallet_url(slug)}?saved=1{suffix}", status_code=303)


@router.get("/w/{slug}/wallet.js")
def wallet_script(slug: str) -> Response:
    return Response((STATIC / "wallet.js").read_text(), media_type="text/javascript")


@router.get("/w/{slug}/sw.js")
def service_worker(slug: str) -> Response:
    # Served under the wallet's path so that its scope is this business's wallet only; the
    # header lets it also control the wallet's own address, /w/<slug>, which has no slash.
    return Response(
        (STATIC / "sw.js").read_text(),
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": f"/w/{slug}"},
    )


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(min_length=1, max_length=200)
    auth: str = Field(min_length=1, max_length=100)


class PushSubscriptionIn(BaseModel):
    """What the browser's PushSubscription.toJSON() gives."""

    model_config = ConfigDict(extra="ignore")

    endpoint: str = Field(min_length=1, max_length=1000)
    keys: PushKeys


@router.post("/w/{slug}/push", status_code=201)
def subscribe_push(
    request: Request,
    slug: str,
    body: PushSubscriptionIn,
    db: Db,
    settings: AppSettings,
    now: Now,
    csrf: Annotated[str, Header(alias="X-CSRF-Token", max_length=100)] = "",
    user_agent: Annotated[str, Header(max_length=1000)] = "",
) -> dict[str, str]:
    session = sessions.member_session(request, db, settings, slug)
    if session is None:
        raise Unauthorized("log in to the wallet first", code="login_required")
    sessions.require_csrf(session.csrf, csrf)
    with db.transaction() as conn:
        push.subscribe(
            conn,
            session.business_id,
            session.member_id,
            body.endpoint,
            body.keys.p256dh,
            body.keys.auth,
            user_agent[:300] or None,
            now,
        )
        # Subscribing is the member saying yes to notifications on this channel.
        member = service.get(conn, session.business_id, session.member_id)
        kept = {
            k: bool(member.consent.get(k, {}).get("granted")) for k in ("email", "sms", "whatsapp")
        }
        patch = MemberPatch(consent=Consent(push=True, **kept))
        service.update(conn, session.business_id, session.member_id, patch, now)
    return {"status": "subscribed"}
