"""Pages of wallet passes: the owner's upload of the Apple (and Google) credentials in the console,
and the member's `.pkpass` download from the wallet."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from lealtad.comms import wallet_links
from lealtad.config import Settings
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import Invalid, LealtadError
from lealtad.members import store as members_store
from lealtad.passes import google, service, signing
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message, owner_only
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, business_or_404, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Upload = Annotated[UploadFile | None, File()]
# The welcome e-mail's signed link (comms/wallet_links.py); a longer one is not ours.
LinkToken = Annotated[str | None, Query(alias=wallet_links.TOKEN_PARAM)]
MAX_LINK_TOKEN = 300
PAGE = "/admin/settings/wallet-passes"

# Apple's Team ID is ten letters and digits; a Pass Type ID is reverse-DNS under "pass.".
TEAM_ID = re.compile(r"^[A-Z0-9]{10}$")
PASS_TYPE_ID = re.compile(r"^pass\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


def _read(upload: UploadFile | None) -> bytes:
    if upload is None or not upload.filename:
        return b""
    data = upload.file.read(signing.MAX_UPLOAD_BYTES + 1)
    if len(data) > signing.MAX_UPLOAD_BYTES:
        raise Invalid("the file is too large", code="pass_file_too_large")
    return data


def refusal(language: str, exc: LealtadError) -> str:
    _ = translator(language)
    known = {
        "pass_team_id": _(
            "The Team ID is ten letters and digits, as Apple's developer account shows it."
        ),
        "pass_type_id": _(
            "The Pass Type ID starts with pass. and is written like pass.com.example.loyalty."
        ),
        "pass_certificate": _("That file is not the pass certificate (a .pem, .cer or .p12 file)."),
        "pass_key": _("That file is not the certificate's private key."),
        "pass_password": _("The password does not open the certificate or its key."),
        "pass_mismatch": _("The private key does not belong to that certificate."),
        "pass_wwdr": _("That file is not Apple's WWDR intermediate certificate."),
        "pass_file_too_large": _("That file is too large for a certificate."),
        "google_account": _("That file is not a Google Cloud service-account key (JSON)."),
        "google_issuer": _("The issuer ID is the number the Google Pay & Wallet Console shows."),
    }
    return known.get(exc.code) or error_message(language, exc)


def _page(
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
        apple = service.apple_credentials(conn, staff.business_id)
        found = google.credentials(conn, staff.business_id)
    google_set = (
        {"issuer_id": found[0], "client_email": found[1]["client_email"]} if found else None
    )
    context = {"error": None, "notice": None, "form": {}} | extra
    return render_page(
        request,
        "admin_settings_passes.html",
        language,
        status,
        business=business,
        staff=staff,
        apple=apple,
        google=google_set,
        **context,
    )


@router.get(PAGE, response_class=HTMLResponse)
def passes_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    owner_only(staff)
    return _page(request, db, staff, lang, accept_language)


def _apple_upload(
    team_id: str, pass_type_id: str, certificate: bytes, key: bytes, password: str, wwdr: bytes
) -> tuple[signing.PassCertificate, str]:
    if not TEAM_ID.match(team_id):
        raise Invalid("not an Apple Team ID", code="pass_team_id")
    if not PASS_TYPE_ID.match(pass_type_id):
        raise Invalid("not a Pass Type ID", code="pass_type_id")
    try:
        if not certificate:
            raise signing.BadCredentials("certificate")
        if key:
            pair = signing.read_pem(certificate, key, password)
        elif b"-----BEGIN" in certificate:
            raise signing.BadCredentials("key")
        else:
            pair = signing.read_pkcs12(certificate, password)
        return pair, signing.read_wwdr(wwdr)
    except signing.BadCredentials as exc:
        raise Invalid(f"refused: {exc.reason}", code=f"pass_{exc.reason}") from exc


@router.post(f"{PAGE}/apple", response_class=HTMLResponse)
def save_apple(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    team_id: Annotated[str, Form(max_length=20)] = "",
    pass_type_id: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    certificate: Upload = None,
    private_key: Upload = None,
    wwdr: Upload = None,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    team, kind = team_id.strip().upper(), pass_type_id.strip()
    try:
        pair, wwdr_pem = _apple_upload(
            team, kind, _read(certificate), _read(private_key), password, _read(wwdr)
        )
        with db.transaction() as conn:
            service.save_apple(conn, staff.principal, team, kind, pair, wwdr_pem, now)
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        form = {"team_id": team_id, "pass_type_id": pass_type_id}
        return _page(
            request,
            db,
            staff,
            None,
            accept_language,
            exc.http_status,
            error=refusal(language, exc),
            form=form,
        )
    return RedirectResponse(f"{PAGE}?saved=apple", status_code=303)


@router.post(f"{PAGE}/apple/remove", response_class=HTMLResponse)
def remove_apple(staff: CurrentManager, db: Db, now: Now, csrf: Csrf = "") -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    with db.transaction() as conn:
        service.remove_apple(conn, staff.principal, now)
    return RedirectResponse(f"{PAGE}?removed=apple", status_code=303)


def _holder(
    request: Request, db: Db, settings: Settings, business: Any, link: str | None, now: datetime
) -> int | None:
    """The member whose card is asked for: the one the e-mail's link names while it is in date
    and their card has not been reissued since, else the signed-in member; None sends the
    visitor to sign in."""
    named = (
        wallet_links.read(settings.effective_secret_key, link, now)
        if link and len(link) <= MAX_LINK_TOKEN
        else None
    )
    if named is not None and named[0] == business.id:
        with db.read() as conn:
            member = members_store.member(conn, business.id, named[1])
        if member is not None and member.card_version == named[2] and member.status == "active":
            return int(member.id)
    session = sessions.member_session(request, db, settings, business.slug)
    return session.member_id if session is not None else None


@router.get("/w/{slug}/card.pkpass")
def member_pass(
    request: Request, slug: str, db: Db, settings: AppSettings, now: Now, t: LinkToken = None
) -> Response:
    """The member's Apple Wallet pass, for the signed-in member or the holder of the welcome
    e-mail's link; 404 when the business has not set Apple up."""
    business = business_or_404(db, slug)
    member_id = _holder(request, db, settings, business, t, now)
    if member_id is None:
        return RedirectResponse(f"/w/{slug}/login", status_code=303)
    with db.transaction() as conn:
        apple = service.apple_credentials(conn, business.id)
        if apple is None:
            raise service.no_apple()
        member = service.member_or_404(conn, business.id, member_id)
        data, _updated_at = service.build(
            conn,
            settings.effective_secret_key,
            settings.public_base_url,
            business,
            member,
            apple,
            now,
        )
    return Response(
        data,
        media_type="application/vnd.apple.pkpass",
        headers={
            "Content-Disposition": f'attachment; filename="{slug}.pkpass"',
            "Cache-Control": "no-store",
        },
    )


@router.post(f"{PAGE}/google", response_class=HTMLResponse)
def save_google(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    issuer_id: Annotated[str, Form(max_length=40)] = "",
    service_account: Upload = None,
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    try:
        account = google.read_service_account(_read(service_account))
        with db.transaction() as conn:
            google.save(conn, staff.principal, issuer_id.strip(), account, now)
    except LealtadError as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        return _page(
            request,
            db,
            staff,
            None,
            accept_language,
            exc.http_status,
            error=refusal(language, exc),
            form={"issuer_id": issuer_id},
        )
    return RedirectResponse(f"{PAGE}?saved=google", status_code=303)


@router.post(f"{PAGE}/google/remove", response_class=HTMLResponse)
def remove_google(staff: CurrentManager, db: Db, now: Now, csrf: Csrf = "") -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    with db.transaction() as conn:
        google.remove(conn, staff.principal, now)
    return RedirectResponse(f"{PAGE}?removed=google", status_code=303)


@router.get("/w/{slug}/google-wallet")
def member_google_link(
    request: Request, slug: str, db: Db, settings: AppSettings, now: Now, t: LinkToken = None
) -> Response:
    """Sends the member (signed in, or holding the welcome e-mail's link) to Google's save page
    with their card; 404 without the business's Google credentials."""
    business = business_or_404(db, slug)
    member_id = _holder(request, db, settings, business, t, now)
    if member_id is None:
        return RedirectResponse(f"/w/{slug}/login", status_code=303)
    with db.transaction() as conn:
        member = service.member_or_404(conn, business.id, member_id)
        link = google.member_link(
            conn, settings.effective_secret_key, settings.public_base_url, business, member, now
        )
    if link is None:
        raise google.no_google()
    return RedirectResponse(link, status_code=303, headers={"Cache-Control": "no-store"})
