"""SMS and WhatsApp in the admin console, for owners (as in the JSON API): the provider's
account, the sender, the approved WhatsApp templates, and the callback addresses to give the
provider. Tokens are write-only: a blank field keeps the stored one."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from lealtad.comms import channel_settings
from lealtad.comms.channel_settings import TEMPLATE_KINDS, SmsIn, WhatsAppIn
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.settings.business import error_message, owner_only
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Csrf = Annotated[str, Form(max_length=100)]
Field = Annotated[str, Form(max_length=300)]
Secret = Annotated[str, Form(max_length=1000)]
Lines = Annotated[str, Form(max_length=5000)]


def _page(
    request: Request,
    db: Db,
    settings: AppSettings,
    staff: StaffSession,
    lang: str | None,
    accept_language: str | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        found = {
            c.channel: c
            for c in channel_settings.describe_all(conn, staff.business_id, business.slug)
        }
    context = {"error": None, "notice": None, "form": None, "failed": None} | extra
    return render_page(
        request,
        "admin_settings_channels.html",
        language,
        status,
        business=business,
        staff=staff,
        sms=found.get("sms"),
        whatsapp=found.get("whatsapp"),
        base=settings.public_base_url,
        kinds=TEMPLATE_KINDS,
        **context,
    )


@router.get("/admin/settings/channels", response_class=HTMLResponse)
def channels_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    owner_only(staff)
    return _page(request, db, settings, staff, lang, accept_language)


def _templates(text: str) -> dict[str, str]:
    """ "welcome = bienvenida_socio" lines; blank lines and lines without "=" are skipped."""
    found = {}
    for line in text.splitlines():
        kind, sep, name = line.partition("=")
        if sep and kind.strip() and name.strip():
            found[kind.strip()] = name.strip()
    return found


def _refusal(language: str, exc: Exception) -> str:
    _ = translator(language)
    if isinstance(exc, ValidationError):
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e.get("loc")}))
        return _("Please check these fields: %(fields)s") % {"fields": fields}
    assert isinstance(exc, LealtadError)
    known = {
        "channel_secret_missing": _("The first time, fill in every token and secret."),
        "invalid_base_url": _("The provider's address must be an https URL."),
        "invalid_whatsapp_templates": _(
            "Each template line is a message kind, =, and a template name in a-z, 0-9 and _."
        ),
        "invalid_whatsapp_languages": _("Language codes look like es, es_ES or en_US."),
    }
    return known.get(exc.code) or error_message(language, exc)


def _save(
    request: Request,
    db: Db,
    settings: AppSettings,
    staff: StaffSession,
    now: Any,
    channel: str,
    form: dict[str, Any],
    accept_language: str | None,
) -> Response:
    try:
        with db.transaction() as conn:
            allow = settings.private_addresses_allowed
            if channel == "sms":
                data = SmsIn(**form)
                channel_settings.save_sms(conn, staff.business_id, data, now, allow_private=allow)
            else:
                wa = WhatsAppIn(**form)
                channel_settings.save_whatsapp(
                    conn, staff.business_id, wa, now, allow_private=allow
                )
            tenancy.audit(conn, staff.principal, "channel.update", f"channel:{channel}", now)
    except (ValidationError, LealtadError) as exc:
        with db.read() as conn:
            language = console(conn, staff, None, accept_language)[2]
        status = 422 if isinstance(exc, ValidationError) else exc.http_status
        return _page(
            request,
            db,
            settings,
            staff,
            None,
            accept_language,
            status,
            error=_refusal(language, exc),
            failed=channel,
        )
    return RedirectResponse(f"/admin/settings/channels#{channel}", status_code=303)


def _blank(value: str) -> str | None:
    return value.strip() or None


@router.post("/admin/settings/channels/sms", response_class=HTMLResponse)
def save_sms(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    enabled: Annotated[str, Form(max_length=10)] = "",
    base_url: Field = "",
    account_sid: Field = "",
    sender: Field = "",
    country_code: Annotated[str, Form(max_length=10)] = "",
    auth_token: Secret = "",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    form = {
        "enabled": enabled == "true",
        "base_url": base_url.strip(),
        "account_sid": account_sid.strip(),
        "sender": sender.strip(),
        "country_code": country_code.strip(),
        "auth_token": _blank(auth_token),
    }
    return _save(request, db, settings, staff, now, "sms", form, accept_language)


@router.post("/admin/settings/channels/whatsapp", response_class=HTMLResponse)
def save_whatsapp(
    request: Request,
    staff: CurrentManager,
    db: Db,
    settings: AppSettings,
    now: Now,
    enabled: Annotated[str, Form(max_length=10)] = "",
    base_url: Field = "",
    api_version: Annotated[str, Form(max_length=16)] = "",
    phone_number_id: Field = "",
    country_code: Annotated[str, Form(max_length=10)] = "",
    access_token: Secret = "",
    app_secret: Secret = "",
    verify_token: Secret = "",
    templates: Lines = "",
    language_es: Annotated[str, Form(max_length=10)] = "es",
    language_en: Annotated[str, Form(max_length=10)] = "en",
    csrf: Csrf = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    sessions.require_csrf(staff.csrf, csrf)
    owner_only(staff)
    form = {
        "enabled": enabled == "true",
        "base_url": base_url.strip(),
        "api_version": api_version.strip(),
        "phone_number_id": phone_number_id.strip(),
        "country_code": country_code.strip(),
        "access_token": _blank(access_token),
        "app_secret": _blank(app_secret),
        "verify_token": _blank(verify_token),
        "templates": _templates(templates),
        "languages": {"es": language_es.strip(), "en": language_en.strip()},
    }
    return _save(request, db, settings, staff, now, "whatsapp", form, accept_language)
