"""The admin console for owners and managers: logging in and out, and what every console page
needs (the business, the signed-in person, the language). The home is admin_home.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.onboarding import service as onboarding
from lealtad.security import devices, limits
from lealtad.tenancy import sign_in, two_step
from lealtad.tenancy import store as tenancy_store
from lealtad.web import limit_pages, pending, sessions
from lealtad.web.i18n import LANGUAGES, pick_language, translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.same_site import SAME_SITE
from lealtad.web.sessions import StaffSession

router = APIRouter(include_in_schema=False)
AcceptLanguage = Annotated[str | None, Header(max_length=200)]


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
            _token, staff = sign_in.staff_login(
                conn,
                settings.effective_secret_key,
                business_slug=business.strip().lower(),
                email=email,
                password=password,
            )
            shop = tenancy_store.business(conn, staff.business_id)
            setting_up = onboarding.pending(conn, staff.business_id)
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
    response = _signed_in(settings, staff, shop, next, language, setting_up)
    devices.remember(response, request, settings, staff.business_id, email)
    return response


def _signed_in(
    settings: Any, staff: Any, shop: Any, next: str, language: str, setting_up: bool = False
) -> Response:
    if two_step.code_needed(shop, staff):
        # No session yet: the code (or setting two-step up) comes first.
        where = "/admin/login/code" if two_step.is_on(staff) else "/admin/login/setup"
        response = RedirectResponse(where, status_code=303)
        pending.start(response, settings, staff, next, language)
        return response
    where = landing(staff.role, next, setting_up)
    if where == "/admin/setup":
        where += f"?lang={language}"  # the set-up speaks the language the login page spoke
    response = RedirectResponse(where, status_code=303)
    sessions.start_staff(response, settings, staff)
    return response


def landing(role: str, next: str, setting_up: bool = False) -> str:
    """Staff go to the counter, managers and owners to the console, unless a page sent them;
    the owner of a business still being set up, to the set-up."""
    if next:
        return _safe_next(next)
    if setting_up and role == "owner":
        return "/admin/setup"
    return "/counter" if role == "staff" else "/admin"


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
