"""Two-step verification pages: the code after the password, setting two-step up (at login when
the business requires it, or from one's own account page), and one's own console language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.security import limits
from lealtad.tenancy import service as tenancy
from lealtad.tenancy import store as tenancy_store
from lealtad.tenancy import two_step
from lealtad.tenancy.two_step import Check
from lealtad.web import limit_pages, pending, sessions
from lealtad.web.admin.console import AcceptLanguage, console, landing
from lealtad.web.i18n import LANGUAGES, pick_language, translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentStaff

router = APIRouter(include_in_schema=False)
Code = Annotated[str, Form(max_length=20)]
Csrf = Annotated[str, Form(max_length=100)]


def setup_view(secret: str, account: str, business_name: str) -> dict[str, Any]:
    """What the set-up screen shows: a QR of the otpauth:// address for the camera, and the
    secret in groups of four for typing it in by hand."""
    uri = two_step.otpauth_uri(secret, account, business_name)
    import segno  # only for this page: a worker serving the API never draws a code (P6)

    qr = segno.make(uri, error="m", micro=False).png_data_uri(scale=5, border=4)
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    return {"secret": secret, "grouped": grouped, "qr": qr, "uri": uri}


def _messages(language: str) -> dict[Check, str]:
    _ = translator(language)
    return {
        Check.wrong: _("That code is not right. Check that your phone's clock is set right."),
        Check.used: _("That code has already been used. Wait for the next one."),
        Check.too_many: _("Too many wrong codes. Log in again with your password."),
    }


def _restart(request: Request, language: str, error: str, status: int = 401) -> Response:
    response = render_page(
        request, "admin_login.html", language, status, error=error, next="", form={}
    )
    pending.end(response)
    return response


def _guard(
    request: Request, db: Db, settings: Any, now: Any, started: pending.PendingLogin
) -> limits.Attempt:
    """Wrong codes count per staff account and address (security/limits.py), like passwords."""
    with db.read() as conn:
        staff = tenancy_store.staff(conn, started.business_id, started.staff_id)
    account = limits.account_key("staff", staff.email) if staff is not None else None
    return limits.attempt(
        db, request, settings, started.business_id, limits.TWO_STEP_CODE, account, now
    )


def _pending_staff(db: Db, started: pending.PendingLogin) -> tuple[Any, Any]:
    with db.read() as conn:
        business = tenancy_store.business(conn, started.business_id)
        staff = tenancy_store.staff(conn, started.business_id, started.staff_id)
    return business, staff


def _finish(settings: Any, started: pending.PendingLogin, staff: Any) -> Response:
    response = RedirectResponse(landing(staff.role, started.next), status_code=303)
    pending.end(response)
    sessions.start_staff(response, settings, staff, two_step=True)
    return response


def _expired(request: Request, lang: str | None, accept_language: str | None) -> Response:
    language = pick_language(lang, accept_language, "es")
    return _restart(
        request, language, translator(language)("Your login has expired. Please log in again.")
    )


@router.get("/admin/login/code", response_class=HTMLResponse)
def code_form(
    request: Request,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    started = pending.read(request, settings)
    if started is None:
        return RedirectResponse("/admin/login", status_code=303)
    _business, staff = _pending_staff(db, started)
    if staff is None or not staff.active:
        return _expired(request, lang, accept_language)
    if not two_step.is_on(staff):
        return RedirectResponse("/admin/login/setup", status_code=303)
    language = pick_language(lang, None, staff.locale or started.lang)
    return render_page(request, "admin_two_step_code.html", language, csrf=started.csrf, error=None)


@router.post("/admin/login/code", response_class=HTMLResponse)
def code(
    request: Request,
    db: Db,
    settings: AppSettings,
    now: Now,
    code: Code = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    return _check(request, db, settings, now, code, csrf, accept_language, setting_up=False)


def _check(
    request: Request,
    db: Db,
    settings: Any,
    now: Any,
    code: str,
    csrf: str,
    accept_language: str | None,
    *,
    setting_up: bool,
) -> Response:
    started = pending.read(request, settings)
    if started is None:
        return _expired(request, None, accept_language)
    sessions.require_csrf(started.csrf, csrf)
    guard = _guard(request, db, settings, now, started)
    try:
        guard.claim()
    except limits.TooManyAttempts as exc:
        language = pick_language(None, accept_language, started.lang)
        return limit_pages.with_retry_after(
            _restart(request, language, limit_pages.message(language, exc), 429), exc
        )
    try:
        with db.transaction() as conn:
            staff = tenancy_store.staff(conn, started.business_id, started.staff_id)
            if staff is None or not staff.active:
                outcome = Check.too_many
            else:
                outcome = two_step.check_code(
                    conn,
                    two_step.principal_of(staff),
                    code,
                    now,
                    attempt=started.attempt,
                    setting_up=setting_up,
                )
                # Read again: a first code that turns two-step on moves the session version.
                staff = tenancy_store.staff(conn, started.business_id, started.staff_id)
    except BaseException:
        guard.released()
        raise
    language = pick_language(staff.locale if staff else None, None, started.lang)
    if outcome is Check.ok:
        guard.succeeded()
        return _finish(settings, started, staff)
    guard.failed()
    error = _messages(language)[outcome]
    if outcome is Check.too_many:
        return _restart(request, language, error)
    with db.read() as conn:
        tries_left = two_step.MAX_WRONG_CODES - two_step.wrong_tries(
            conn, two_step.principal_of(staff), started.attempt, now
        )
    context: dict[str, Any] = {"csrf": started.csrf, "error": error, "tries_left": tries_left}
    if setting_up and staff.totp_secret is None:
        # Reset by an owner meanwhile: the set-up page makes a new secret.
        return RedirectResponse("/admin/login/setup", status_code=303)
    if setting_up:
        business, _staff = _pending_staff(db, started)
        context |= setup_view(staff.totp_secret, staff.email, business.name)
    page = "admin_two_step_setup.html" if setting_up else "admin_two_step_code.html"
    return render_page(request, page, language, 401, **context)


@router.get("/admin/login/setup", response_class=HTMLResponse)
def setup_form(
    request: Request,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    """Right after the password, when the business requires two-step and this person has none
    yet: no page of the console opens before it is set up."""
    started = pending.read(request, settings)
    if started is None:
        return RedirectResponse("/admin/login", status_code=303)
    business, staff = _pending_staff(db, started)
    if staff is None or not staff.active:
        return _expired(request, lang, accept_language)
    if two_step.is_on(staff):
        return RedirectResponse("/admin/login/code", status_code=303)
    with db.transaction() as conn:
        secret = two_step.secret_for_setup(conn, staff.business_id, staff.id)
    language = pick_language(lang, None, staff.locale or started.lang)
    return render_page(
        request,
        "admin_two_step_setup.html",
        language,
        csrf=started.csrf,
        error=None,
        **setup_view(secret, staff.email, business.name),
    )


@router.post("/admin/login/setup", response_class=HTMLResponse)
def setup(
    request: Request,
    db: Db,
    settings: AppSettings,
    now: Now,
    code: Code = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    return _check(request, db, settings, now, code, csrf, accept_language, setting_up=True)


def account_page(
    request: Request,
    db: Db,
    staff: sessions.StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.transaction() as conn:
        business, me, language = console(conn, staff, lang, accept_language)
        setup = None
        if not two_step.is_on(me):
            secret = two_step.secret_for_setup(conn, staff.business_id, staff.staff_id)
            setup = setup_view(secret, me.email, business.name)
    context = {"error": None, "notice": None, "password_error": None, "setup": setup} | extra
    return render_page(
        request,
        "admin_two_step.html",
        language,
        status,
        business=business,
        staff=staff,
        me=me,
        **context,
    )


@router.get("/admin/two-step", response_class=HTMLResponse)
def account(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """One's own account: two-step verification and the language the console speaks."""
    return account_page(request, db, staff, lang, accept_language)


@router.post("/admin/two-step", response_class=HTMLResponse)
def turn_on(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    settings: AppSettings,
    code: Code = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    with db.transaction() as conn:
        # Wrong tries here are counted per session, so a stolen session cannot guess forever.
        outcome = two_step.check_code(
            conn, staff.principal, code, now, attempt=f"session:{staff.csrf}", setting_up=True
        )
        # Read after the change: turning two-step on ends the person's other sessions.
        _business, me, language = console(conn, staff, None, accept_language)
    _ = translator(language)
    if outcome is Check.ok:
        page = account_page(
            request, db, staff, None, accept_language, notice=_("Two-step verification is on.")
        )
        # This session has just shown a code: it carries on under the new rule.
        sessions.start_staff(page, settings, me, two_step=True, csrf=staff.csrf)
        return page
    error = {**_messages(language), Check.too_many: _("Too many wrong codes. Try again later.")}
    return account_page(request, db, staff, None, accept_language, 422, error=error[outcome])


@router.post("/admin/two-step/language", response_class=HTMLResponse)
def language(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    now: Now,
    locale: Annotated[str, Form(max_length=5)] = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    chosen = locale if locale in LANGUAGES else None
    if locale and chosen is None:
        with db.read() as conn:
            _business, _me, language = console(conn, staff, None, accept_language)
        error = translator(language)("Choose Spanish, English or your browser's language.")
        return account_page(request, db, staff, None, accept_language, 422, error=error)
    with db.transaction() as conn:
        tenancy.set_staff_locale(conn, staff.principal, chosen, now)
        _business, _me, language = console(conn, staff, None, accept_language)
    notice = translator(language)("Your language is saved.")
    return account_page(request, db, staff, None, accept_language, notice=notice)
