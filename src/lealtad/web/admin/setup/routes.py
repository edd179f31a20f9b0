"""The guided set-up's first three steps: the business and its brand, a program chosen from the
templates, its numbers. Each step saves on the server and sends the owner to the next; every
page works without a script. Steps 4 and 5 and the poster are in places.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from lealtad.branding.model import MAX_LOGO_BYTES
from lealtad.deps import Db, Now
from lealtad.errors import LealtadError
from lealtad.onboarding import service as onboarding
from lealtad.onboarding.numbers import NumberRefused
from lealtad.rules.templates import TEMPLATES, get_template
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage
from lealtad.web.admin.settings.business import ZONES
from lealtad.web.admin.setup import places
from lealtad.web.admin.setup.common import go, language_of, not_yet, page, state
from lealtad.web.admin.setup.forms import business_refusal, choices, number_fields, number_refusal
from lealtad.web.branding.routes import Logo, read_logo, save_brand
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
router.include_router(places.router)
Csrf = Annotated[str, Form(max_length=100)]
FormLang = Annotated[str, Form(max_length=5)]
CURRENCIES = ("EUR", "USD", "GBP", "MXN", "COP", "CLP", "ARS", "PEN")
NUMBER_FIELD_MAX = 100  # the longest value a field of the numbers step takes


@router.get("/admin/setup")
def setup_home(staff: CurrentManager, db: Db, lang: Lang = None) -> Response:
    found = state(db, staff)
    return go(f"/admin/setup/{'done' if found.finished else found.step}", lang)


def _business_page(
    request: Request,
    db: Db,
    staff: CurrentManager,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: object,
) -> HTMLResponse:
    found = state(db, staff)
    with db.read() as conn:
        business = tenancy.get_business(conn, staff.business_id)
    form = {
        "name": business.name,
        "currency": business.currency,
        "timezone": business.timezone,
        "locale": business.locale,
        "colour": "",
    } | dict(extra.pop("form", {}) or {})  # type: ignore[call-overload]
    return page(
        request,
        db,
        staff,
        "setup_business.html",
        "business",
        found,
        lang,
        accept_language,
        status,
        form=form,
        zones=ZONES,
        currencies=CURRENCIES,
        max_kb=MAX_LOGO_BYTES // 1024,
        **extra,
    )


@router.get("/admin/setup/business", response_class=HTMLResponse)
def business_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    return not_yet(state(db, staff), "business", lang) or _business_page(
        request, db, staff, lang, accept_language
    )


@router.post("/admin/setup/business", response_class=HTMLResponse)
def save_business_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    name: Annotated[str, Form(max_length=200)] = "",
    currency: Annotated[str, Form(max_length=3)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    locale: Annotated[str, Form(max_length=5)] = "",
    colour: Annotated[str, Form(max_length=7)] = "",
    logo: Logo = None,
    csrf: Csrf = "",
    lang: FormLang = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    found = state(db, staff)
    if found.finished:
        return go("/admin/setup/done", lang)
    form = {
        "name": name,
        "currency": currency,
        "timezone": timezone,
        "locale": locale,
        "colour": colour,
    }
    try:
        with db.transaction() as conn:
            save_brand(conn, staff.principal, now, colour=colour, logo=read_logo(logo))
            onboarding.save_business(
                conn,
                staff.principal,
                now,
                name=name,
                currency=currency,
                timezone=timezone.strip(),
                locale=locale,
            )
    except LealtadError as exc:
        error = business_refusal(language_of(db, staff, accept_language, lang), exc)
        return _business_page(
            request,
            db,
            staff,
            lang or None,
            accept_language,
            exc.http_status,
            error=error,
            form=form,
        )
    return go("/admin/setup/program", lang)


def _program_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    error: str | None = None,
) -> Response:
    found = state(db, staff)
    moved = not_yet(found, "program", lang)
    if moved is not None:
        return moved
    with db.read() as conn:
        currency = tenancy.get_business(conn, staff.business_id).currency
    language = language_of(db, staff, accept_language, lang)
    return page(
        request,
        db,
        staff,
        "setup_program.html",
        "program",
        found,
        lang,
        accept_language,
        status,
        choices=choices(language, currency),
        chosen=found.template,
        error=error,
    )


@router.get("/admin/setup/program", response_class=HTMLResponse)
def program_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    return _program_page(request, staff, db, lang, accept_language)


@router.post("/admin/setup/program", response_class=HTMLResponse)
def choose_program_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    template: Annotated[str, Form(max_length=40)] = "",
    csrf: Csrf = "",
    lang: FormLang = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    found = state(db, staff)
    moved = not_yet(found, "program", lang)
    if moved is not None:
        return moved
    if template not in TEMPLATES:
        _ = translator(language_of(db, staff, accept_language, lang))
        error = _("Program: choose one of the programs below.")
        return _program_page(request, staff, db, lang or None, accept_language, 422, error)
    with db.transaction() as conn:
        onboarding.choose_template(conn, staff.principal, now, template)
    return go("/admin/setup/numbers", lang)


def _numbers_page(
    request: Request,
    db: Db,
    staff: CurrentManager,
    lang: str | None,
    accept_language: str | None,
    typed: dict[str, str] | None = None,
    status: int = 200,
    error: str | None = None,
    wrong: str = "",
) -> Response:
    found = state(db, staff)
    moved = not_yet(found, "numbers", lang)
    if moved is not None or found.template is None:
        return moved or go("/admin/setup/program", lang)
    template = get_template(found.template)
    with db.read() as conn:
        currency = tenancy.get_business(conn, staff.business_id).currency
    language = language_of(db, staff, accept_language, lang)
    fields = number_fields(template, currency, language, typed or found.numbers)
    return page(
        request,
        db,
        staff,
        "setup_numbers.html",
        "numbers",
        found,
        lang,
        accept_language,
        status,
        fields=fields,
        template_name=template.name,
        error=error,
        wrong=wrong,
        field_max=NUMBER_FIELD_MAX,
    )


@router.get("/admin/setup/numbers", response_class=HTMLResponse)
def numbers_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> Response:
    return _numbers_page(request, db, staff, lang, accept_language)


@router.post("/admin/setup/numbers", response_class=HTMLResponse)
async def save_numbers_step(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    accept_language: AcceptLanguage = None,
) -> Response:
    # The fields are the chosen template's own (stamps_coffee, tier_gold...), so the form is
    # read whole, each value cut at the longest any field takes before anything reads it.
    raw = await request.form()
    typed = {k[:40]: str(v)[: NUMBER_FIELD_MAX + 1] for k, v in raw.items() if isinstance(v, str)}
    sessions.require_csrf(staff.csrf, typed.get("csrf", ""))
    return _save_numbers(request, db, staff, now, accept_language, typed)


def _save_numbers(
    request: Request,
    db: Db,
    staff: CurrentManager,
    now: object,
    accept_language: str | None,
    typed: dict[str, str],
) -> Response:
    lang = typed.get("lang", "")
    found = state(db, staff)
    moved = not_yet(found, "numbers", lang)
    if moved is not None or found.template is None:
        return moved or go("/admin/setup/program", lang)
    try:
        with db.transaction() as conn:
            onboarding.save_numbers(conn, staff.principal, now, typed)  # type: ignore[arg-type]
    except NumberRefused as exc:
        template = get_template(found.template)
        language = language_of(db, staff, accept_language, lang)
        with db.read() as conn:
            currency = tenancy.get_business(conn, staff.business_id).currency
        key, error = number_refusal(template, currency, language, exc)
        return _numbers_page(
            request, db, staff, lang or None, accept_language, typed, 422, error, key
        )
    return go("/admin/setup/places", lang)
