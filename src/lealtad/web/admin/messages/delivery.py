"""Messages in the console: the delivery log (how the last 30 days of messages went, the latest
ones, the failed ones on their own) and a preview of every message in both languages with a
real member's figures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from lealtad.comms import delivery_log, preview
from lealtad.deps import AppSettings, Db, Now
from lealtad.members import store as member_store
from lealtad.members.model import normalise_card_number
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.customers.members_view import Formats
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
LATEST = 30
# The log's filter: everything, or only what went wrong.
SHOWN = {"": (), "problems": delivery_log.PROBLEMS}


def kind_names(_: Callable[[str], str]) -> dict[str, str]:
    """Each kind of message as the owner would call it."""
    return {
        "welcome": _("Welcome"),
        "tier_changed": _("New tier"),
        "card_complete": _("Stamp card complete"),
        "voucher": _("Voucher"),
        "program_changed": _("Program change"),
        "expiring": _("Points about to expire"),
        "winback": _("We miss you"),
        "monthly": _("Monthly summary"),
        "birthday": _("Birthday"),
        "anniversary": _("Anniversary"),
        "points_earned": _("Points earned"),
        "campaign": _("Campaign"),
        "login_code": _("Sign-in code"),
        "join_code": _("Sign-up code"),
        "member_again_code": _("Code for an existing member"),
        "contact_changed": _("Contact details changed"),
    }


@router.get("/admin/messages", response_class=HTMLResponse)
def delivery(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    show: Annotated[str, Query(max_length=20)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """The delivery log: counts by channel and status over 30 days, and the latest messages."""
    bid = staff.business_id
    shown = show if show in SHOWN else ""
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        totals = delivery_log.status_counts(conn, bid, now - timedelta(days=30))
        latest = delivery_log.latest(conn, bid, LATEST, SHOWN[shown])
    channels = sorted({channel for channel, _status in totals}) or ["email"]
    return render_page(
        request,
        "admin_delivery_log.html",
        language,
        business=business,
        staff=staff,
        channels=channels,
        statuses=delivery_log.STATUSES,
        totals=totals,
        latest=latest,
        show=shown,
        kinds=kind_names(translator(language)),
        when=Formats(business, language).when,
        zone=business.timezone,
    )


@router.get("/admin/messages/preview", response_class=HTMLResponse)
def message_preview(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    settings: AppSettings,
    template: Annotated[str, Query(max_length=64)] = "welcome",
    language: Annotated[str, Query(max_length=5, alias="in")] = "",
    card: Annotated[str, Query(max_length=40)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """A message as a member would get it: with the member whose card is given, or the latest
    member when none is."""
    bid = staff.business_id
    with db.read() as conn:
        business, _me, page_lang = console(conn, staff, lang, accept_language)
        _ = translator(page_lang)
        error = None
        if template not in preview.templates():
            error, template = _("There is no message of that kind."), "welcome"
        number = normalise_card_number(card) if card else ""
        member = member_store.member_by(conn, bid, "card_number", number) if number else None
        if card and member is None:
            error = _("No member has that card number; showing the latest member instead.")
        if member is None:
            latest = member_store.latest_id(conn, bid)
            member = member_store.member(conn, bid, latest) if latest else None
        message_lang = language if language in ("es", "en") else page_lang
        shown = (
            preview.preview(
                conn, business, member, template, message_lang, now, settings.public_base_url
            )
            if member is not None
            else None
        )
    return render_page(
        request,
        "admin_preview.html",
        page_lang,
        404 if shown is None else 200,
        business=business,
        staff=staff,
        templates=preview.templates(),
        kinds=kind_names(_),
        template=template,
        message_lang=message_lang,
        member=member,
        shown=shown,
        error=error if shown is not None else _("There are no members yet to preview with."),
    )
