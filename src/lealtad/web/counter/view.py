"""What the counter screen shows: the desk (business, location, language), the member's
recognition panel, what a purchase earned and why, and every refusal in the page's language.
A request from HTMX gets the work area alone; a plain form post gets the whole page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal, get_decimal_symbol
from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import Connection

from lealtad.comms import channel_store
from lealtad.db.engine import Database
from lealtad.errors import LealtadError
from lealtad.kit.clock import as_utc
from lealtad.kit.money import Money, minor_exponent
from lealtad.ledger import service as ledger
from lealtad.members import pin as card_pin
from lealtad.members import service as members
from lealtad.products import service as products
from lealtad.rewards import service as rewards
from lealtad.rewards import store as reward_store
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules.names import ProgramNames, in_phrase, reward_title
from lealtad.tenancy import store as tenancy_store
from lealtad.tiers import service as tiers
from lealtad.web.counter import paying
from lealtad.web.counter.forms import Translate, new_key
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import render_page
from lealtad.web.refusals import said
from lealtad.web.sessions import StaffSession
from lealtad.web.times import Times


@dataclass(frozen=True)
class Desk:
    """Where and in which language this counter works."""

    staff: StaffSession
    business: Any
    location: Any
    lang: str
    # SMS and WhatsApp as the business has switched them on: the enrolment offers their consent.
    phone_channels: tuple[str, ...] = ()

    @property
    def _(self) -> Translate:
        return translator(self.lang)


def open_desk(db: Database, staff: StaffSession, lang: str | None, accept: str | None) -> Desk:
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
        location = (
            tenancy_store.location(conn, staff.business_id, staff.location_id)
            if staff.location_id
            else None
        )
        phone_channels = tuple(channel_store.enabled(conn, staff.business_id))
    language = pick_language(lang, accept, business.locale)
    return Desk(staff, business, location, language, phone_channels)


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def show(
    request: Request, desk: Desk, status: int = 200, *, here: str = "/counter", **context: Any
) -> HTMLResponse:
    """The work area (scan box, panel, tools) with fresh form keys; inside the page unless HTMX
    asked. `here` is the address a reload or a language switch comes back to."""
    page = {
        "business": desk.business,
        "staff": desk.staff,
        "location": desk.location,
        "here": here,
        "new_key": new_key,
        "errors": {},
        "forms": {},
        "open_tool": None,
        "focus": "scan",
        "view": None,
        "phone_channels": desk.phone_channels,
    } | context
    template = "counter_work.html" if is_htmx(request) else "counter.html"
    response = render_page(request, template, desk.lang, status, **page)
    if is_htmx(request) and status < 300 and here != "/counter":
        response.headers["HX-Push-Url"] = here
    return response


def member_url(member_id: int) -> str:
    return f"/counter/members/{member_id}"


def show_member(
    request: Request,
    desk: Desk,
    db: Database,
    member_id: int,
    now: datetime,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """The member's panel with the purchase form ready for the amount."""
    with db.read() as conn:
        member = members.get(conn, desk.business.id, member_id)
        panel = member_panel(conn, desk, member, now)
        panel["card_pin"] = card_pin.has_pin(conn, desk.business.id, member_id)
    context: dict[str, Any] = {"view": "member", "focus": "amount"} | panel | extra
    return show(request, desk, status, here=member_url(member_id), **context)


def money(amount: int, currency: str, lang: str) -> str:
    return format_currency(Money(amount, currency).major(), currency, locale=lang)


def _money_of(desk: Desk) -> Any:
    """Amounts in the business's currency, written for the desk's language."""
    return lambda minor: money(minor, desk.business.currency, desk.lang)


def when(at: datetime, business: Any, lang: str) -> str:
    return Times(business.timezone, lang).moment(at)


def program(conn: Connection, business_id: int, now: datetime) -> Any:
    try:
        return programs.in_force(conn, business_id, now).definition
    except LealtadError:
        return None


def balance_texts(held: dict[str, int], names: ProgramNames) -> list[str]:
    """Points (when the program has any), cashback, the cards' stamps, then full-card rewards."""
    shown = [names.amount("points", held["points"])] if held.get("points") else []
    if held.get("cashback"):
        shown.append(names.amount("cashback", held["cashback"]))
    shown += [names.award(u, n) for u, n in sorted(held.items()) if u.startswith("stamps.") and n]
    shown += [names.ready(u, n) for u, n in sorted(held.items()) if u.startswith("reward.") and n]
    return shown


def title(reward: Any, lang: str) -> str:
    return reward_title(reward.title if isinstance(reward.title, dict) else None, lang)


def product_buttons(conn: Connection, desk: Desk) -> list[dict[str, Any]]:
    """The products the counter sells, as buttons that add one to the sale."""
    return [
        {
            "id": p.id,
            "title": p.title_in(desk.lang),
            "price": p.price,
            "price_text": money(p.price, desk.business.currency, desk.lang),
        }
        for p in products.listing(conn, desk.business.id)
    ]


def _birthday_today(birthday: date | None, business: Any, now: datetime) -> bool:
    if birthday is None:
        return False
    today = as_utc(now).astimezone(ZoneInfo(business.timezone)).date()
    return (birthday.month, birthday.day) == (today.month, today.day)


def member_panel(conn: Connection, desk: Desk, member: Any, now: datetime) -> dict[str, Any]:
    """Who this is and what they can do now: tier, balances, rewards their balance covers,
    vouchers still open, and whether it is their birthday where the business is."""
    bid = desk.business.id
    definition = program(conn, bid, now)
    names = program_names(conn, desk.business, definition, desk.lang)
    held = ledger.balances(conn, bid, member.id)
    tier_id = None
    if definition and definition.tiers:
        zone = ZoneInfo(desk.business.timezone)
        tier_id, _metric = tiers.standing(conn, bid, member.id, definition.tiers, now, zone)
    cards = [
        {
            "name": names.card(card.id),
            "progress": names.have_of(held.get(f"stamps.{card.id}", 0), card.stamps_required),
            "ready": held.get(f"reward.{card.reward}", 0),
            "reward": names.reward(card.reward),
        }
        for card in (definition.stamp_cards if definition else [])
    ]
    catalog = rewards.for_member(conn, bid, member.id, now)
    slugs = {r.id: r for r in reward_store.catalog(conn, bid, active_only=False)}
    vouchers = [
        {"code": v.code, "title": title(slugs[v.reward_id], desk.lang), "expires_at": v.expires_at}
        for v in reward_store.member_vouchers(conn, bid, member.id, 50)
        if v.status == "issued"
        and (v.expires_at is None or as_utc(v.expires_at) > as_utc(now))
        and v.reward_id in slugs
    ]
    return {
        "member": member,
        "tier": names.tier(tier_id),
        "points": format_decimal(held.get("points", 0), locale=desk.lang),
        "points_label": names.unit("points"),
        "earns_points": _earns_points(definition),
        "shows_cashback": _earns_cashback(definition) or bool(held.get("cashback")),
        "pending_points": held.get("points.pending", 0),
        "cashback": money(held.get("cashback", 0), desk.business.currency, desk.lang),
        "stamp_cards": cards,
        "redeemable": [
            {
                "id": r.id,
                "title": title(r, desk.lang),
                "cost": names.quantity(r.cost_unit, r.cost),
            }
            for r in catalog
            if r.affordable
        ],
        "vouchers": [
            v
            | {
                "expires": when(v["expires_at"], desk.business, desk.lang)
                if v["expires_at"]
                else None
            }
            for v in vouchers
        ],
        "birthday": _birthday_today(member.birthday, desk.business, now),
        "products": product_buttons(conn, desk),
        "pay_with": paying.offer(definition, held, names, _money_of(desk), desk._),
        # For the script that fills the amount in from the products' prices.
        "exponent": minor_exponent(desk.business.currency),
        "decimal_mark": get_decimal_symbol(desk.lang),
    }


def _earns_points(definition: Any) -> bool:
    """Whether the program gives points or cashback at all: a stamps-only card shows neither."""
    if definition is None:
        return True
    return bool(definition.tiers) or any(r.action.type != "stamps" for r in definition.rules)


def _earns_cashback(definition: Any) -> bool:
    """Whether any rule gives cashback: a points card does not show "Cashback 0.00" to staff,
    who would offer the customer what the program does not have."""
    if definition is None:
        return True
    return any(r.action.type in ("cashback_percent", "cashback_fixed") for r in definition.rules)


def earned(conn: Connection, desk: Desk, answer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """A recorded purchase as staff read it out: each award with the rule that gave it, the
    balances after, full stamp cards, and the rewards this purchase brought within reach."""
    bid = desk.business.id
    definition = program(conn, bid, now)
    names = program_names(conn, desk.business, definition, desk.lang)
    member_id = answer.get("member_id")
    own = [a for a in answer["awards"] if a["member_id"] == member_id]
    awards = [
        {
            "text": "+" + names.award(a["account"], a["amount"]),
            "rule": names.rule(a["rule_id"]),
            "unlocks": when(datetime.fromisoformat(a["unlocks_at"]), desk.business, desk.lang)
            if a.get("unlocks_at")
            else None,
        }
        for a in own
    ]
    after = dict(answer.get("balances") or {})
    before = dict(after)
    for a in own:
        before[a["account"]] = before.get(a["account"], 0) - a["amount"]
    unlocked = []
    if member_id is not None:
        unlocked = [
            title(r, desk.lang)
            for r in rewards.for_member(conn, bid, member_id, now)
            if before.get(r.cost_unit, 0) < r.cost <= after.get(r.cost_unit, 0)
        ]
    balances = balance_texts(after, names) if answer.get("balances") else []
    return {
        "receipt": answer["receipt_id"],
        "amount": money(answer["amount"], answer["currency"], desk.lang),
        "paid": paying.paid_texts(answer, names, _money_of(desk), desk._),
        "awards": awards,
        "balances": balances,
        "unlocked": unlocked,
        "cards_completed": [
            {
                "card": in_phrase(names.card(c["card"])),
                "reward": names.reward(c["reward"]),
                "count": c["cards"],
            }
            for c in answer.get("cards_completed") or []
        ],
        # Announced by its name, as the member's wallet shows it, never by its id.
        "tier": names.tier(answer.get("tier")) if answer.get("tier_changed") else None,
    }


def explain(exc: LealtadError, _: Translate) -> str:
    """A refusal from a service, said the way staff can act on it."""
    messages = {
        "card_token_expired": _(
            "This card code has expired. Ask the member to refresh the card on their phone, "
            "or type the card number."
        ),
        "card_code_invalid": _(
            "This card code is not valid here: it may be copied, altered or from another "
            "business. Ask for the card number."
        ),
        "member_not_found": _("No member matches. Check it, or enrol the customer."),
        "member_erased": _(
            "This member's data was erased: their card no longer earns or spends points."
        ),
        "nothing_found": _("No member or voucher matches. Check it, or enrol the customer."),
        "voucher_not_found": _("There is no voucher with this code."),
        "voucher_expired": _("This voucher has expired."),
        "voucher_cancelled": _("This voucher was cancelled."),
        "insufficient_balance": _("The member's balance does not cover this reward."),
        "cashback_exceeds_amount": _("Cashback cannot pay more than the purchase."),
        "below_redemption_minimum": _(
            "That is less cashback than the program lets a member use at once."
        ),
        "points_not_payment": _("This program's points do not pay at the till."),
        "below_points_minimum": _(
            "That is fewer points than the program lets a member use at once."
        ),
        "above_points_maximum": _("That is more points than the program lets one purchase take."),
        "points_exceed_amount": _("Those points are worth more than the purchase."),
        "out_of_stock": _("This reward is out of stock."),
        "redemption_limit_reached": _(
            "The member has already redeemed this reward as often as allowed."
        ),
        "reward_not_available": _("This reward is not available now."),
        "reward_not_for_member": _("This reward is not offered to this member's tier."),
        "reward_not_found": _("There is no such reward."),
        "purchase_not_found": _("There is no purchase with this receipt number."),
        "refund_exceeds_purchase": _("That is more than is left to refund on this receipt."),
        "duplicate_receipt": _("This receipt number was already recorded."),
        "duplicate_refund": _("This refund was already recorded."),
        "idempotency_key_reused": _(
            "This form was already sent with other values. It has been refreshed: check it "
            "and send it again."
        ),
        "duplicate_email": _("This e-mail already belongs to a member: find them by it."),
        "duplicate_phone": _("This phone already belongs to a member: find them by it."),
        "invalid_email": _("That e-mail address does not look right."),
        "invalid_phone": _("That phone number does not look right."),
        "csrf_token_invalid": _("This form has expired. Reload the page and try again."),
        "program_not_found": _("The program is not set up yet: ask a manager."),
    }
    return messages.get(exc.code) or said(exc, _)
