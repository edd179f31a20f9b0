"""HTML pages: the landing page and the self-service sign-up reached from a business's link or
QR poster; the wallet, counter and admin pages have modules of their own."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates

from lealtad.branding import service as branding
from lealtad.branding.model import Brand
from lealtad.comms import channel_store, login_codes
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.kit.ids import MAX_ID
from lealtad.members import signup
from lealtad.members.schemas import Consent
from lealtad.security import limits
from lealtad.tenancy import store as tenancy_store
from lealtad.web import delivery_reasons, limit_pages, numbers, times, value_reasons
from lealtad.web.admin import nav as admin_nav
from lealtad.web.i18n import pick_language, plural_translator, translator
from lealtad.web.refusals import said
from lealtad.web.same_site import SAME_SITE

# Each surface and console section keeps its templates beside its routes (wallet/templates,
# admin/program/templates...); one loader searches them all, so a name is found wherever it
# lives and names stay unique across the layer (tests/unit/test_web_layout.py).
TEMPLATE_DIRS = sorted(str(d) for d in Path(__file__).parent.rglob("templates") if d.is_dir())
templates = Jinja2Templates(directory=TEMPLATE_DIRS)
# The console's sections, for the navigation every console page draws (admin_base.html).
templates.env.globals["admin_sections"] = admin_nav.SECTIONS
templates.env.globals["admin_section_of"] = admin_nav.current_section
times.install(templates.env)
numbers.install(templates.env)
templates.env.globals["delivery_reason"] = delivery_reasons.said
templates.env.globals["value_reason"] = value_reasons.said
STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)

Lang = Annotated[str | None, Query(max_length=5)]
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Ref = Annotated[str, Query(max_length=64)]


def render_page(
    request: Request, name: str, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    context |= {"_": translator(lang), "ngettext": plural_translator(lang), "lang": lang}
    if "brand" not in context and getattr(context.get("business"), "slug", None):
        context["brand"] = _brand(request, context["business"])
    return templates.TemplateResponse(request, name, context, status_code=status)


def _brand(request: Request, business: Any) -> Brand:
    """Every page about a business wears its brand (one read by key; the logo is not loaded)."""
    with request.app.state.db.read() as conn:
        return branding.brand(conn, business)


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request, lang: Lang = None, accept_language: AcceptLanguage = None
) -> HTMLResponse:
    return render_page(request, "home.html", pick_language(lang, accept_language, "es"))


def business_or_404(db: Db, slug: str) -> Any:
    with db.read() as conn:
        business = tenancy_store.business_by_slug(conn, slug[:64])
    if business is None:
        raise NotFound("no such business", code="business_not_found")
    return business


@router.get("/join/{slug}", response_class=HTMLResponse)
def join_form(
    request: Request,
    slug: str,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    ref: Ref = "",
    loc: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    business = business_or_404(db, slug)
    language = pick_language(lang, accept_language, business.locale)
    # A friend's referral code from a shared link rides along; a mangled one is dropped. So is
    # the poster's location when it is not one of this business's.
    form = {
        "ref": ref.upper() if ref.isascii() and ref.isalnum() and len(ref) <= 16 else "",
        "loc": _own_location(db, business.id, loc),
        "offered": _phone_channels(db, business.id),
    }
    return render_page(request, "join.html", language, business=business, form=form, error=None)


def _phone_channels(db: Db, business_id: int) -> list[str]:
    """SMS and WhatsApp consent is asked for only where the business has switched them on."""
    with db.read() as conn:
        return channel_store.enabled(conn, business_id)


def _own_location(db: Db, business_id: int, value: str) -> int | str:
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        return ""
    with db.read() as conn:
        found = tenancy_store.location(conn, business_id, int(value))
    return int(value) if found is not None else ""


@router.post("/join/{slug}", response_class=HTMLResponse, dependencies=SAME_SITE)
def join(
    request: Request,
    slug: str,
    db: Db,
    now: Now,
    settings: AppSettings,
    tasks: BackgroundTasks,
    name: Annotated[str, Form(max_length=200)] = "",
    email: Annotated[str, Form(max_length=320)] = "",
    phone: Annotated[str, Form(max_length=32)] = "",
    accept_terms: Annotated[bool, Form()] = False,
    consent_email: Annotated[bool, Form()] = False,
    consent_sms: Annotated[bool, Form()] = False,
    consent_whatsapp: Annotated[bool, Form()] = False,
    lang: Annotated[str, Form(max_length=5)] = "es",
    ref: Annotated[str, Form(max_length=16, pattern=r"^[A-Za-z0-9]*$")] = "",
    loc: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    """The poster's sign-up (members/signup.py): the same code page whether or not the e-mail
    is already a member's; the code sent there opens the wallet."""
    business = business_or_404(db, slug)
    language = pick_language(lang, None, business.locale)
    offered = _phone_channels(db, business.id)
    by_phone = {
        "sms": consent_sms and "sms" in offered,
        "whatsapp": consent_whatsapp and "whatsapp" in offered,
    }
    form: dict[str, Any] = {
        "name": name,
        "email": email,
        "phone": phone,
        "ref": ref.upper(),
        "loc": loc or "",
    }
    form |= {"offered": offered, "consent_email": consent_email} | {
        f"consent_{c}": v for c, v in by_phone.items()
    }
    try:
        if any(by_phone.values()) and not phone.strip():
            raise Invalid("SMS and WhatsApp need a mobile number", code="phone_needed")
        asked = signup.prepare(
            name=name,
            email=email,
            phone=phone,
            accept_terms=accept_terms,
            locale="es" if language == "es" else "en",
            consent=Consent(email=consent_email, **by_phone),
            referral_code=ref or None,
            location_id=loc,
        )
        signup.count(db, request, settings, business.id, asked.email, now)
        sent = signup.join(db, settings, business, asked, now)
    except limits.TooManyAttempts as exc:
        error = translator(language)(
            "Too many sign-ups were asked for from here or for this address. Try again in "
            "%(minutes)s minutes."
        ) % {"minutes": exc.minutes}
        page = render_page(
            request, "join.html", language, 429, business=business, form=form, error=error
        )
        return limit_pages.with_retry_after(page, exc)
    except LealtadError as exc:
        return render_page(
            request,
            "join.html",
            language,
            exc.http_status,
            business=business,
            form=form,
            error=_refusal(language, exc),
        )
    if sent.message_id is not None:
        tasks.add_task(login_codes.deliver_code, db, settings, business.id, sent.message_id, now)
    return render_page(
        request,
        "wallet_code.html",
        language,
        business=business,
        email=asked.email,
        joined=True,
        demo_code=sent.shown_code,
        error=None,
    )


def _refusal(language: str, exc: LealtadError) -> str:
    _ = translator(language)
    messages = {
        "name_required": _("Please tell us your name."),
        "email_required": _(
            "Please give your e-mail address: we send you a code there to open your card. "
            "To join with a phone number only, ask at the counter."
        ),
        "terms_not_accepted": _("Please accept the program terms to join."),
        "invalid_email": _("That e-mail address does not look right."),
        "invalid_phone": _("That phone number does not look right."),
        "phone_needed": _("To get messages by SMS or WhatsApp, give your mobile number."),
        "referral_not_found": _("That invitation code is not valid. You can join without it."),
    }
    return messages.get(exc.code) or said(exc, _)
