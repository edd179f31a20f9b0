"""What the wallet's first screen shows: the rotating card code, balances, stamp cards drawn as
stamps, the tier and the way to the next one. Also the two fragments the open wallet refreshes
(the card every minute, the balances every few seconds) and the web app manifest."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup
from sqlalchemy import Connection

from lealtad.branding import service as branding
from lealtad.comms import personal
from lealtad.config import Settings
from lealtad.deps import AppSettings, Db, Now
from lealtad.errors import LealtadError
from lealtad.kit.money import Money
from lealtad.members import cards, model, service
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules.names import ProgramNames, name_in
from lealtad.tiers import service as tiers
from lealtad.web import sessions
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import Lang, business_or_404, render_page
from lealtad.web.wallet.common import when

router = APIRouter(include_in_schema=False)

# The card refreshes a little before each minute turns; balances often enough to feel live.
CARD_REFRESH_SECONDS = 50
BALANCE_REFRESH_SECONDS = 3


def card_code(
    settings: Settings, business_id: int, member: Any, now: datetime
) -> tuple[str, Markup]:
    """The wallet's code for this minute, and its QR."""
    token = model.rotating_token(
        settings.effective_secret_key, business_id, member.id, member.card_version, now.timestamp()
    )
    return token, Markup(cards.qr_svg(token))  # noqa: S704  (segno's SVG)


def _money(amount: int, currency: str, lang: str) -> str:
    return format_currency(Money(amount, currency).major(), currency, locale=lang)


# Actions that put points, or cashback, on a member's balance: a program without any shows no
# box for it (a stamps-only café has no "Points 0").
POINT_ACTIONS = frozenset({"points_per_unit", "fixed_points", "multiplier"})
CASHBACK_ACTIONS = frozenset({"cashback_percent", "cashback_fixed"})


def program_units(definition: Any) -> set[str]:
    """The balances the program in force gives: "points", "cashback" or neither."""
    kinds = {rule.action.type for rule in definition.rules} if definition else set()
    units = set()
    if kinds & POINT_ACTIONS:
        units.add("points")
    if kinds & CASHBACK_ACTIONS:
        units.add("cashback")
    return units


def balances(
    held: dict[str, int],
    currency: str,
    lang: str,
    units: set[str] | None = None,
    points_label: str | None = None,
) -> list[dict[str, Any]]:
    """Points and cashback, each when the program gives it or the member holds some (a
    balance from before a program change stays visible); stamp cards and ready rewards are
    drawn apart (`stamp_cards`)."""
    _ = translator(lang)
    given = {"points", "cashback"} if units is None else units
    shown = []
    if "points" in given or held.get("points"):
        shown.append(
            {
                "unit": "points",
                "label": points_label or _("Points"),
                "value": format_decimal(held.get("points", 0), locale=lang),
            }
        )
    if "cashback" in given or held.get("cashback"):
        shown.append(
            {
                "unit": "cashback",
                "label": _("Cashback"),
                "value": _money(held.get("cashback", 0), currency, lang),
            }
        )
    return shown


def stamp_cards(definition: Any, held: dict[str, int], names: ProgramNames) -> list[dict[str, Any]]:
    """Each card of the program as boxes, filled for the stamps the member has, and how many
    full-card rewards are waiting to be redeemed, by their names in the member's language."""
    drawn = []
    for card in definition.stamp_cards:
        have = held.get(f"stamps.{card.id}", 0)
        need = card.stamps_required
        ready = held.get(f"reward.{card.reward}", 0)
        drawn.append(
            {
                "id": card.id,
                "name": names.card(card.id),
                "have": min(have, need),
                "need": need,
                "per_row": stamps_per_row(need),
                "progress": names.have_of(min(have, need), need),
                "ready": ready,
                "ready_text": names.amount(f"reward.{card.reward}", ready) if ready else "",
            }
        )
    return drawn


def stamps_per_row(need: int) -> int:
    """Up to ten stamps in one row; more in even rows (12 as 6 + 6), never a lone one below."""
    rows = -(-need // 10)
    return -(-need // rows)


def tier_progress(
    conn: Connection, business: Any, member_id: int, definition: Any, lang: str, now: datetime
) -> dict[str, Any] | None:
    policy = definition.tiers
    if policy is None:
        return None
    zone = ZoneInfo(business.timezone)
    current, value = tiers.standing(conn, business.id, member_id, policy, now, zone)
    levels = policy.levels
    names = {level.id: name_in(level, lang) for level in levels}
    ahead = [level for level in levels if level.threshold > value]
    upcoming = ahead[0] if ahead else None
    if upcoming is None:
        percent = 100
    else:
        percent = (
            int(min(Decimal(100), value * 100 / upcoming.threshold)) if upcoming.threshold else 0
        )

    def shown(amount: Decimal) -> str:
        # Spend is money in minor units; the other metrics are counts.
        if policy.metric == "spend":
            return _money(int(amount), business.currency, lang)
        return f"{amount:.0f}"

    return {
        "name": names.get(current or "", current or ""),
        "next": name_in(upcoming, lang) if upcoming else None,
        "metric": policy.metric,
        "have": shown(value),
        "need": shown(upcoming.threshold) if upcoming else None,
        "percent": percent,
    }


def card_context(
    conn: Connection, settings: Settings, business: Any, member: Any, lang: str, now: datetime
) -> dict[str, Any]:
    about = personal.member_context(conn, business, member, lang, now)
    try:
        definition = programs.in_force(conn, business.id, now).definition
    except LealtadError:
        definition = None
    progress = (
        tier_progress(conn, business, member.id, definition, lang, now) if definition else None
    )
    names = program_names(conn, business, definition, lang)
    return {
        "about": about,
        "balances": balances(
            about["balances"],
            business.currency,
            lang,
            program_units(definition),
            names.unit("points"),
        ),
        "stamp_cards": stamp_cards(definition, about["balances"], names) if definition else [],
        "tier": progress,
        **dict(
            zip(("token", "qr_svg"), card_code(settings, business.id, member, now), strict=True)
        ),
        "card_refresh": CARD_REFRESH_SECONDS,
        "balance_refresh": BALANCE_REFRESH_SECONDS,
        # Shown by the service worker when it serves this page from its copy, offline.
        "as_of": when(now, ZoneInfo(member.time_zone or business.timezone), lang),
    }


def _session_member(request: Request, db: Db, settings: AppSettings, slug: str) -> Any:
    business = business_or_404(db, slug)
    session = sessions.member_session(request, db, settings, slug)
    if session is None:
        return business, None
    with db.read() as conn:
        return business, service.get(conn, business.id, session.member_id)


@router.get("/w/{slug}/card", response_class=HTMLResponse)
def card_fragment(
    request: Request, slug: str, db: Db, settings: AppSettings, now: Now, lang: Lang = None
) -> Response:
    """The card code alone, fetched again every minute so that the QR on screen stays valid."""
    business, member = _session_member(request, db, settings, slug)
    if member is None:
        return Response(status_code=401)
    language = pick_language(lang, None, member.locale)
    token, svg = card_code(settings, business.id, member, now)
    return render_page(
        request,
        "wallet_card_code.html",
        language,
        member=member,
        token=token,
        qr_svg=svg,
        business=business,
    )


@router.get("/w/{slug}/balance", response_class=HTMLResponse)
def balance_fragment(
    request: Request, slug: str, db: Db, settings: AppSettings, now: Now, lang: Lang = None
) -> Response:
    """Balances, stamps and tier, polled by the open wallet: a purchase at the counter shows
    on the phone within seconds, without a reload."""
    business, member = _session_member(request, db, settings, slug)
    if member is None:
        return Response(status_code=401)
    language = pick_language(lang, None, member.locale)
    with db.read() as conn:
        context = card_context(conn, settings, business, member, language, now)
    return render_page(
        request, "wallet_balance.html", language, business=business, member=member, **context
    )


@router.get("/w/{slug}/manifest.webmanifest")
def manifest(slug: str, db: Db, lang: Lang = None) -> JSONResponse:
    """Makes the wallet installable: on the home screen it opens straight to the card."""
    business = business_or_404(db, slug)
    language = pick_language(lang, None, business.locale)
    _ = translator(language)
    with db.read() as conn:
        colour = branding.brand(conn, business).colour
    return JSONResponse(
        {
            "name": f"{business.name} · {_('Your card')}",
            "short_name": business.name[:12],
            "lang": language,
            "start_url": f"/w/{slug}",
            "scope": f"/w/{slug}",
            "display": "standalone",
            "background_color": "#f6f3ee",
            "theme_color": colour,
            "icons": [
                {"src": "/static/icon.svg", "sizes": "any", "type": "image/svg+xml"},
                {"src": "/static/icon-192.png", "sizes": "192x192", "type": "image/png"},
                {"src": "/static/icon-512.png", "sizes": "512x512", "type": "image/png"},
            ],
        },
        media_type="application/manifest+json",
    )
