"""HTML pages. For now the landing page and the self-service sign-up reached from a business's
link or QR poster; the wallet, counter and admin pages come with the web app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import MAX_ID
from lealtad.members import service
from lealtad.members.schemas import Consent, MemberIn
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.i18n import pick_language, translator
from lealtad.web.same_site import SAME_SITE

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)

Lang = Annotated[str | None, Query(max_length=5)]
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Ref = Annotated[str, Query(max_length=64)]


def render_page(
    request: Request, name: str, lang: str, status: int = 200, **context: Any
) -> HTMLResponse:
    context |= {"_": translator(lang), "lang": lang}
    return templates.TemplateResponse(request, name, context, status_code=status)


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
    }
    return render_page(request, "join.html", language, business=business, form=form, error=None)


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
    name: Annotated[str, Form(max_length=200)] = "",
    contact: Annotated[str, Form(max_length=320)] = "",
    accept_terms: Annotated[bool, Form()] = False,
    consent_email: Annotated[bool, Form()] = False,
    lang: Annotated[str, Form(max_length=5)] = "es",
    ref: Annotated[str, Form(max_length=16, pattern=r"^[A-Za-z0-9]*$")] = "",
    loc: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
) -> Response:
    business = business_or_404(db, slug)
    language = pick_language(lang, None, business.locale)
    _ = translator(language)
    form = {"name": name, "contact": contact, "ref": ref.upper(), "loc": loc or ""}
    error = None
    if not name.strip():
        error = _("Please tell us your name.")
    elif not contact.strip():
        error = _("Please give an e-mail address or a phone number.")
    elif not accept_terms:
        error = _("Please accept the program terms to join.")
    if error:
        return render_page(
            request, "join.html", language, 422, business=business, form=form, error=error
        )
    is_email = "@" in contact
    data = MemberIn(
        name=name,
        email=contact if is_email else None,
        phone=None if is_email else contact,
        locale="es" if language == "es" else "en",
        consent=Consent(email=consent_email and is_email),
        referral_code=ref or None,
    )
    try:
        with db.transaction() as conn:
            member_id = service.enrol(
                conn, business.id, data, channel="self", now=now, location_id=loc
            )
            member = service.get(conn, business.id, member_id)
    except LealtadError as exc:
        messages = {
            "duplicate_email": _(
                "This e-mail is already a member. Ask at the counter for your card."
            ),
            "duplicate_phone": _(
                "This phone is already a member. Ask at the counter for your card."
            ),
            "invalid_email": _("That e-mail address does not look right."),
            "invalid_phone": _("That phone number does not look right."),
            "referral_not_found": _("That invitation code is not valid. You can join without it."),
        }
        error = messages.get(exc.code, exc.message)
        return render_page(
            request,
            "join.html",
            language,
            exc.http_status,
            business=business,
            form=form,
            error=error,
        )
    # The phone that filled the form is the member's: it opens straight into the new wallet.
    response = RedirectResponse(f"/w/{business.slug}?welcome=1&lang={language}", status_code=303)
    sessions.start_member(response, settings, business.id, member.id, member.card_version)
    return response
