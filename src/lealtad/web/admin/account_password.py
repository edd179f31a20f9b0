"""A staff member changes their own password from their account page: the current password
and, with two-step on, a code. Every other session and token of theirs ends; this browser's
session is renewed so the person stays signed in here."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.security import limits
from lealtad.tenancy import own_password, two_step
from lealtad.web import limit_pages, sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.two_step import Code, Csrf, account_page
from lealtad.web.i18n import translator
from lealtad.web.refusals import said
from lealtad.web.sessions import CurrentStaff

router = APIRouter(include_in_schema=False)
Password = Annotated[str, Form(max_length=200)]


def _messages(language: str) -> dict[str, str]:
    _ = translator(language)
    return {
        "invalid_credentials": _("Your current password is not right."),
        "two_step_code_required": _("Type the code of your authenticator app too."),
        "two_step_code_refused": _("That code is not right, or it was already used."),
        "weak_password": _("The new password needs at least 10 characters."),
        "password_mismatch": _("The two new passwords are not the same."),
        "password_unchanged": _("The new password is the one you have now."),
    }


@router.post("/admin/account/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    staff: CurrentStaff,
    db: Db,
    settings: AppSettings,
    now: Now,
    current: Password = "",
    new: Password = "",
    repeat: Password = "",
    code: Code = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    with db.read() as conn:
        _business, _me, language = console(conn, staff, None, accept_language)
    try:
        me = own_password.change_guarded(
            db,
            lambda email: limits.staff_attempt(
                db, request, settings, staff.principal.business_id, email, now
            ),
            staff.principal,
            current=current,
            new=new,
            repeated=repeat,
            totp_code=code or None,
            now=now,
        )
    except limits.TooManyAttempts as exc:
        error = limit_pages.message(language, exc)
        page = account_page(request, db, staff, None, accept_language, 429, password_error=error)
        return limit_pages.with_retry_after(page, exc)
    except LealtadError as exc:
        error = _messages(language).get(exc.code) or said(exc, translator(language))
        return account_page(
            request, db, staff, None, accept_language, exc.http_status, password_error=error
        )
    notice = translator(language)("Your password is changed. You are signed out everywhere else.")
    page = account_page(request, db, staff, None, accept_language, notice=notice)
    # The change ended every session of this person, this one too: renew it, same form token.
    # With two-step on, this request passed a code.
    sessions.start_staff(page, settings, me, two_step=two_step.is_on(me), csrf=staff.csrf)
    return page
