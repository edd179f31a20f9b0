"""What every form on a member's console page starts and ends with: the session's CSRF token
checked first, the page's language, and the way back to the member's page, either with a
notice after the change or with the error beside the form that caused it. Shared by
admin_members_actions.py (tags, adjustments, card) and admin_members_privacy.py (data copy,
erasure)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from lealtad.db.engine import Database
from lealtad.web import sessions
from lealtad.web.admin.customers.members import detail_page
from lealtad.web.i18n import LANGUAGES, pick_language, translator
from lealtad.web.sessions import StaffSession

Csrf = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]


def fresh(form: dict[str, str] | None = None) -> dict[str, str]:
    """The page's forms with a new key (a double tap replays; a new form does not)."""
    return {"unit": "points", "key": secrets.token_urlsafe(12)} | (form or {})


@dataclass(frozen=True)
class MemberForm:
    request: Request
    staff: StaffSession
    db: Database
    now: datetime
    member_id: int
    lang: str

    @property
    def page_lang(self) -> str | None:
        """The language the form was sent from; None lets the page pick (browser, business)."""
        return self.lang if self.lang in LANGUAGES else None

    @property
    def _(self) -> Callable[[str], str]:
        return translator(pick_language(self.lang, None, "es"))

    def page(self) -> HTMLResponse:
        """The member's page as it is now (or the list with a 404 if there is no such member)."""
        return detail_page(
            self.request, self.staff, self.db, self.now, self.member_id, self.page_lang, None
        )

    def refused(
        self, error: str | None, at: str, form: dict[str, str] | None = None, status: int = 422
    ) -> HTMLResponse:
        """The member's page with `error` beside the form `at`, the typed values kept."""
        return detail_page(
            self.request,
            self.staff,
            self.db,
            self.now,
            self.member_id,
            self.page_lang,
            None,
            status_code=status,
            error=error,
            error_at=at,
            form=form,
        )

    def back(self, done: str, anchor: str = "") -> RedirectResponse:
        """After the change: the member's page with its notice (a GET, so a reload repeats
        nothing)."""
        query = f"?done={done}" + (f"&lang={self.lang}" if self.page_lang else "")
        where = f"#{anchor}" if anchor else ""
        return RedirectResponse(f"/admin/members/{self.member_id}{query}{where}", 303)


def open_form(
    request: Request,
    staff: StaffSession,
    db: Database,
    now: datetime,
    member_id: int,
    csrf: str,
    lang: str,
) -> MemberForm:
    """Refuses a form without the session's token (403) before anything else is read."""
    sessions.require_csrf(staff.csrf, csrf)
    return MemberForm(request, staff, db, now, member_id, lang)
