"""What every set-up page shares: owners only, the set-up's state, the page with its progress."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.branding import service as branding
from lealtad.deps import Db
from lealtad.onboarding import service as onboarding
from lealtad.onboarding.service import STEPS, Setup
from lealtad.web.admin.console import console
from lealtad.web.admin.settings.business import owner_only
from lealtad.web.admin.setup.forms import progress, step_titles
from lealtad.web.i18n import LANGUAGES
from lealtad.web.pages import render_page
from lealtad.web.sessions import StaffSession


def state(db: Db, staff: StaffSession) -> Setup:
    """The set-up of the signed-in owner's business; a business made another way (the demo,
    the API) starts at the first step when its owner opens it."""
    owner_only(staff)
    with db.read() as conn:
        found = onboarding.current(conn, staff.business_id)
    return found or Setup(STEPS[0])


def go(path: str, lang: str | None = None) -> RedirectResponse:
    """To another step, keeping the language the owner chose for these pages (`?lang=`)."""
    if lang in LANGUAGES:
        where, _hash, fragment = path.partition("#")
        path = f"{where}?lang={lang}" + (f"#{fragment}" if fragment else "")
    return RedirectResponse(path, status_code=303)


def not_yet(found: Setup, step: str, lang: str | None = None) -> Response | None:
    """A step not reached yet, or a set-up already finished, sends the owner where they are."""
    if found.finished:
        return go("/admin/setup/done", lang)
    if not found.reached(step):
        return go(f"/admin/setup/{found.step}", lang)
    return None


def page(
    request: Request,
    db: Db,
    staff: StaffSession,
    name: str,
    step: str,
    found: Setup,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        brand = branding.brand(conn, business)
    context = {"error": None, "notice": None, "form": {}} | context
    return render_page(
        request,
        name,
        language,
        status,
        business=business,
        brand=brand,
        staff=staff,
        setup=found,
        step=step,
        step_title=step_titles(language)[step] if step in STEPS else "",
        steps=progress(language, step, found.step) if step in STEPS else [],
        **context,
    )


def language_of(
    db: Db, staff: StaffSession, accept_language: str | None, lang: str | None = None
) -> str:
    if lang in LANGUAGES:
        return str(lang)
    with db.read() as conn:
        return console(conn, staff, None, accept_language)[2]
