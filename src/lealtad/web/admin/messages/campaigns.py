"""Campaigns in the console: the list, the composer with a live preview of the message as a real
member would get it (comms.preview) and how many members the audience holds, scheduling or
sending now, cancelling a scheduled one, and each campaign's delivery results. Writes go through
comms.campaigns and are audited as the JSON API's are."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.comms import campaigns, preview, render
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError, NotFound
from lealtad.kit.ids import IdPath
from lealtad.members import store as member_store
from lealtad.members.model import normalise_card_number
from lealtad.tenancy import service as tenancy
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.customers.members_view import Formats
from lealtad.web.admin.messages.campaigns_forms import DEFAULTS, Values, choices, labels, read
from lealtad.web.admin.program.fields import FieldError, Fields, PostedForm
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
# The member's fields a campaign may name (comms.personal.PLACEHOLDERS), the likeliest first.
PLACEHOLDERS = ", ".join(
    "{{ " + name + " }}"
    for name in ("name", "points", "next_reward", "next_reward_missing", "offer")
)


def _member(conn: Connection, business_id: int, card: str) -> Any:
    """The member whose card is given, else the latest one: whose figures the preview shows."""
    number = normalise_card_number(card) if card else ""
    found = member_store.member_by(conn, business_id, "card_number", number) if number else None
    if found is not None:
        return found
    latest = member_store.latest_id(conn, business_id, active_only=True)
    return member_store.member(conn, business_id, latest) if latest else None


def _preview(
    conn: Connection, business: Any, f: Fields, now: datetime, base_url: str
) -> dict[str, Any]:
    """The message in both languages with one member's figures, as e-mail and as a push."""
    member = _member(conn, business.id, f.get("pv_card"))
    texts: dict[str, Any] = {
        "subject": {"es": f.get("subject_es") or "…", "en": f.get("subject_en") or "…"},
        "body": {"es": f.raw("body_es").strip() or "…", "en": f.raw("body_en").strip() or "…"},
    }
    if f.get("survey"):
        texts["survey_url"] = f"{base_url}/s/preview"
    shown = {}
    if member is not None:
        for lang in ("es", "en"):
            mail = preview.preview(
                conn, business, member, "campaign", lang, now, base_url, example=texts
            )
            push = render.Notification(mail.subject, mail.text.split("\n\n")[0])
            shown[lang] = {"mail": mail, "push": push}
    asked = f.get("pv_card")
    return {
        "member": member,
        "shown": shown,
        "card_missing": bool(asked) and (member is None or member.card_number != asked.upper()),
        "push": f.get("channel") in ("all", "push"),
    }


def _audience(conn: Connection, business_id: int, f: Fields, now: datetime) -> int | None:
    """How many members the audience holds now; None while the form does not describe one."""
    try:
        # Only the audience matters here: a half-written message must not hide the count.
        data = campaigns.CampaignIn(
            name="-",
            subject=campaigns.Texts(es="-", en="-"),
            body=campaigns.Texts(es="-", en="-"),
            tiers=f.all("tier"),
            tags=[t.strip() for t in f.get("tags").split(",") if t.strip()],
            segments=f.all("segment"),
        )
    except ValueError:
        return None
    return campaigns.audience_size(conn, business_id, data, now)


def _compose(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    business: Any,
    lang: str,
    now: datetime,
    base_url: str,
    values: Values,
    errors: list[FieldError],
    status: int = 200,
    shown: bool = False,
) -> HTMLResponse:
    _ = translator(lang)
    f = Fields((k, v) for k, vs in values.items() for v in vs)
    return render_page(
        request,
        "admin_campaign_new.html",
        lang,
        status,
        business=business,
        staff=staff,
        values=values,
        errors=errors,
        labels=labels(_),
        choices=choices(conn, business.id, lang, now, _),
        preview=_preview(conn, business, f, now, base_url),
        audience=_audience(conn, business.id, f, now) if shown else None,
        zone=business.timezone,
        placeholders=PLACEHOLDERS,
    )


@router.get("/admin/campaigns", response_class=HTMLResponse)
def campaign_list(
    request: Request,
    staff: CurrentManager,
    db: Db,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        found = campaigns.listing(conn, staff.business_id)
    return render_page(
        request,
        "admin_campaigns.html",
        language,
        business=business,
        staff=staff,
        campaigns=found,
        when=Formats(business, language).when,
        zone=business.timezone,
    )


@router.get("/admin/campaigns/new", response_class=HTMLResponse)
def compose(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    survey: Annotated[str, Query(max_length=20)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """An empty campaign; `?survey=` starts one that links that survey."""
    values = dict(DEFAULTS) | ({"survey": [survey]} if survey.isdigit() else {})
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        return _compose(
            request, conn, staff, business, language, now, settings.public_base_url, values, []
        )


def _posted(conn: Connection, staff: StaffSession, form: Fields) -> tuple[Any, str]:
    business, _me, language = console(conn, staff, form.get("lang") or None, None)
    return business, language


@router.post("/admin/campaigns/preview", response_class=HTMLResponse)
def preview_campaign(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    form: PostedForm,
) -> HTMLResponse:
    """The message as members would get it, as it is typed. HTMX asks for the preview alone;
    without JavaScript the whole composer comes back with it and the audience's size."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _posted(conn, staff, form)
        if request.headers.get("HX-Request") == "true":
            shown = _preview(conn, business, form, now, settings.public_base_url)
            return render_page(request, "admin_campaign_preview.html", language, preview=shown)
        return _compose(
            request,
            conn,
            staff,
            business,
            language,
            now,
            settings.public_base_url,
            form.values,
            [],
            shown=True,
        )


@router.post("/admin/campaigns/audience", response_class=HTMLResponse)
def audience_size(
    request: Request, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> HTMLResponse:
    """How many members the chosen audience holds now (asked when the audience changes, not as
    the message is typed: for a big business it reads every member)."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _posted(conn, staff, form)
        size = _audience(conn, business.id, form, now)
    return render_page(request, "admin_campaign_audience.html", language, audience=size)


def _refusal(_: Any, exc: LealtadError) -> FieldError:
    if exc.code in ("survey_closed", "survey_not_found"):
        return ("survey", _("That survey is not open; open it first or choose another."))
    if exc.code == "send_at_out_of_range":
        return ("send_at", _("That date is out of range."))
    if exc.code == "channel_not_set_up":
        return ("channel", _("That channel is not switched on: set it up under SMS and WhatsApp."))
    return ("", exc.message)


@router.post("/admin/campaigns/new", response_class=HTMLResponse)
def create(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    form: PostedForm,
) -> Response:
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _posted(conn, staff, form)
    _ = translator(language)
    data, errors = read(form, business.timezone, now, _)
    status = 422
    if data is not None:
        try:
            with db.transaction() as conn:
                campaign_id = campaigns.create(
                    conn, staff.business_id, data, staff.principal.actor, now
                )
                tenancy.audit(
                    conn,
                    staff.principal,
                    "campaign.create",
                    f"campaign:{campaign_id}",
                    now,
                    name=data.name,
                )
            return RedirectResponse(
                f"/admin/campaigns/{campaign_id}?saved=1&lang={language}", status_code=303
            )
        except LealtadError as exc:
            errors, status = [_refusal(_, exc)], exc.http_status
    with db.read() as conn:
        return _compose(
            request,
            conn,
            staff,
            business,
            language,
            now,
            settings.public_base_url,
            form.values,
            errors,
            status,
        )


def _campaign_page(
    request: Request,
    conn: Connection,
    staff: StaffSession,
    business: Any,
    lang: str,
    campaign_id: int,
    notice: str | None = None,
    status: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    found = campaigns.get(conn, staff.business_id, campaign_id)
    _ = translator(lang)
    with_choices = choices(conn, staff.business_id, lang, found.send_at, _)
    names = dict(with_choices.tiers) | dict(with_choices.segments) | dict(with_choices.arms)
    return render_page(
        request,
        "admin_campaign.html",
        lang,
        status,
        business=business,
        staff=staff,
        campaign=found,
        names=names,
        phone_channels=with_choices.phone_channels,
        when=Formats(business, lang).when,
        zone=business.timezone,
        notice=notice,
        error=error,
    )


@router.get("/admin/campaigns/{campaign_id}", response_class=HTMLResponse)
def campaign_page(
    request: Request,
    campaign_id: IdPath,
    staff: CurrentManager,
    db: Db,
    saved: Annotated[str, Query(max_length=10)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        _ = translator(language)
        notice = {"1": _("The campaign is saved."), "cancel": _("The campaign is cancelled.")}
        try:
            return _campaign_page(
                request, conn, staff, business, language, campaign_id, notice.get(saved)
            )
        except NotFound:
            return render_page(
                request,
                "admin_campaigns.html",
                language,
                404,
                business=business,
                staff=staff,
                campaigns=campaigns.listing(conn, staff.business_id),
                when=Formats(business, language).when,
                zone=business.timezone,
                error=_("There is no such campaign."),
            )


@router.post("/admin/campaigns/{campaign_id}/cancel", response_class=HTMLResponse)
def cancel(
    request: Request, campaign_id: IdPath, staff: CurrentManager, db: Db, now: Now, form: PostedForm
) -> Response:
    """Only a campaign still waiting for its time can be cancelled."""
    sessions.require_csrf(staff.csrf, form.get("csrf"))
    with db.read() as conn:
        business, language = _posted(conn, staff, form)
        campaigns.get(conn, staff.business_id, campaign_id)
    try:
        with db.transaction() as conn:
            before = campaigns.get(conn, staff.business_id, campaign_id)
            after = campaigns.cancel(conn, staff.business_id, campaign_id)
            tenancy.audit_change(
                conn,
                staff.principal,
                "campaign.cancel",
                f"campaign:{campaign_id}",
                now,
                before,
                after,
            )
    except LealtadError as exc:
        # Only a campaign that went out or was cancelled since the page was shown gets here.
        error = translator(language)("This campaign has already gone out or was cancelled.")
        with db.read() as conn:
            return _campaign_page(
                request, conn, staff, business, language, campaign_id, None, exc.http_status, error
            )
    return RedirectResponse(
        f"/admin/campaigns/{campaign_id}?saved=cancel&lang={language}", status_code=303
    )
