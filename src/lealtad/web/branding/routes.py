"""The console's brand screen (Settings > Brand: logo and colour) and the public address of a
business's logo, which the wallet, the join page, the counter and the e-mails show."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.branding.model import MAX_LOGO_BYTES
from lealtad.deps import Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.tenancy.model import Principal
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message, owner_only
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, business_or_404, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Colour = Annotated[str, Form(max_length=7)]
Logo = Annotated[UploadFile | None, File()]
YEAR = 365 * 24 * 3600


def read_logo(upload: UploadFile | None) -> bytes | None:
    """The uploaded file's bytes (one past the limit at most, enough to refuse it), or None
    when no file was chosen."""
    if upload is None or not upload.filename:
        return None
    return upload.file.read(MAX_LOGO_BYTES + 1)


def brand_refusal(language: str, exc: LealtadError) -> str:
    """A refused logo or colour in words, in the page's language."""
    _ = translator(language)
    known = {
        "invalid_colour": _("The brand colour must be written like #5b3a29."),
        "logo_empty": _("The logo file is empty."),
        "logo_too_large": _("The logo is too large: at most %(size)s KB.")
        % {"size": MAX_LOGO_BYTES // 1024},
        "logo_svg": _(
            "SVG logos are not accepted, because they can carry script. Upload a PNG, JPEG or "
            "WebP image."
        ),
        "logo_unknown_type": _("That file is not a PNG, JPEG or WebP image."),
    }
    return known.get(exc.code) or error_message(language, exc)


def save_brand(
    conn: Connection,
    principal: Principal,
    now: Any,
    *,
    colour: str,
    logo: bytes | None,
    remove_logo: bool = False,
) -> bool:
    """The brand form of the settings and of the set-up; True when something changed."""
    changed = branding.set_colour(conn, principal, colour, now)
    if remove_logo:
        branding.remove_logo(conn, principal, now)
        return True
    if logo is not None:
        branding.set_logo(conn, principal, logo, now)
        return True
    return changed


def _brand_page(
    request: Request,
    db: Db,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        brand = branding.brand(conn, business)
    context = {"error": None, "notice": None} | extra
    form = {"colour": brand.colour if brand.chosen_colour else ""} | context.pop("form", {})
    return render_page(
        request,
        "admin_settings_brand.html",
        language,
        status,
        business=business,
        brand=brand,
        staff=staff,
        form=form,
        can_edit=staff.role.value == "owner",
        max_kb=MAX_LOGO_BYTES // 1024,
        **context,
    )


@router.get("/admin/settings/brand", response_class=HTMLResponse)
def brand_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return _brand_page(request, db, staff, lang, accept_language)


@router.post("/admin/settings/brand", response_class=HTMLResponse)
def save_brand_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    colour: Colour = "",
    logo: Logo = None,
    remove_logo: Annotated[bool, Form()] = False,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    try:
        with db.transaction() as conn:
            changed = save_brand(
                conn,
                staff.principal,
                now,
                colour=colour,
                logo=read_logo(logo),
                remove_logo=remove_logo,
            )
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        return _brand_page(
            request,
            db,
            staff,
            None,
            accept_language,
            exc.http_status,
            error=brand_refusal(language, exc),
            form={"colour": colour},
        )
    with db.read() as conn:
        language = console(conn, staff, None, accept_language)[2]
    _ = translator(language)
    notice = _("The brand is saved.") if changed else _("Nothing was changed.")
    return _brand_page(request, db, staff, None, accept_language, notice=notice)


def _logo_response(image: bytes, kind: str, hashed: str) -> Response:
    return Response(
        image,
        media_type=kind,
        headers={
            "ETag": f'"{hashed}"',
            # The address carries the image's hash: a new logo is a new address.
            "Cache-Control": f"public, max-age={YEAR}, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


@router.get("/b/{slug}/logo")
@router.get("/b/{slug}/logo/{token}")
def logo(
    slug: str,
    db: Db,
    token: str = "",
    if_none_match: Annotated[str | None, Header(max_length=200)] = None,
) -> Response:
    """Public: the logo shows on the join page, in the wallet and in e-mails."""
    business = business_or_404(db, slug)
    with db.read() as conn:
        found = branding.logo(conn, business.id)
    if found is None:
        raise NotFound("this business has no logo", code="logo_not_found")
    image, kind, current = found
    # The token is the image's hash: the address changes with the logo.
    if token != current:
        # An old or a bare address: to the current logo's address, which caches for long.
        return RedirectResponse(f"/b/{business.slug}/logo/{current}", status_code=307)
    if if_none_match is not None and f'"{current}"' in if_none_match:
        return Response(status_code=304, headers={"ETag": f'"{current}"'})
    return _logo_response(image, kind, current)
