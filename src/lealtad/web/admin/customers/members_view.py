"""What the member page of the admin console shows, gathered from the domain services: profile,
consent, balances, tier, the explained ledger, purchases, vouchers and messages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal
from sqlalchemy import Connection

from lealtad.analytics import segments as analytics_segments
from lealtad.comms import delivery_log
from lealtad.errors import NotFound
from lealtad.kit.catalog import ngettext
from lealtad.kit.dates import in_zone
from lealtad.kit.money import Money
from lealtad.ledger import explained as explained_ledger
from lealtad.ledger import service as ledger
from lealtad.ledger import store as ledger_store
from lealtad.ledger.model import CASHBACK_ACCOUNT, PENDING_POINTS_ACCOUNT, POINTS_ACCOUNT
from lealtad.members import previous_store
from lealtad.members import service as members
from lealtad.members import store as member_store
from lealtad.members.model import CHANNELS
from lealtad.purchases import store as purchase_store
from lealtad.rewards import store as reward_store
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules.names import ProgramNames
from lealtad.tenancy import store as tenancy_store
from lealtad.tiers.api import tier_out as tier_of
from lealtad.web.i18n import translator
from lealtad.web.segment_labels import segment_label
from lealtad.web.sessions import StaffSession
from lealtad.web.times import Times

LOCALES = {"es": "es_ES", "en": "en_GB"}


class Formats:
    """Money in the business's currency, numbers and times in the page's language and the
    business's time zone."""

    def __init__(self, business: Any, lang: str) -> None:
        self.currency = business.currency
        self.lang = lang
        self.locale = LOCALES.get(lang, "en_GB")
        self.tz = ZoneInfo(business.timezone)
        self.times = Times(self.tz, lang)

    def money(self, minor: int) -> str:
        major = Money(int(minor), self.currency).major()
        return str(format_currency(major, self.currency, locale=self.locale))

    def number(self, value: Any) -> str:
        return str(format_decimal(value, locale=self.locale))

    def plural(self, singular: str, plural: str, n: float | None) -> str:
        """The catalog's form for a count: "1 visit" / "2 visits" ("1,5 visits" is plural)."""
        count = int(n) if n is not None and n == int(n) else 2
        return ngettext(self.lang)(singular, plural, count)

    def when(self, value: datetime | None) -> str:
        return self.times.moment(value)

    def labelled(self, value: datetime | None) -> str:
        return self.times.labelled(value)

    def iso(self, value: datetime | None) -> str:
        """Local time with its offset, for files read by other programs."""
        return in_zone(value, self.tz).isoformat(timespec="seconds") if value else ""

    def stamp(self, value: str | None) -> str:
        """An ISO time kept in JSON (consent), in the business's zone."""
        try:
            return self.when(datetime.fromisoformat(value)) if value else "–"
        except ValueError:
            return value or "–"

    def day(self, value: date | datetime | None) -> str:
        return self.times.day(value)

    def amount(self, code: str, value: int, signed: bool = False) -> str:
        text = self.money(abs(value)) if code == CASHBACK_ACCOUNT else self.number(abs(value))
        if not signed:
            return ("-" if value < 0 else "") + text
        return ("+" if value > 0 else "-" if value < 0 else "") + text


def program_definition(conn: Connection, business_id: int, now: datetime) -> Any:
    try:
        return programs.in_force(conn, business_id, now).definition
    except NotFound:
        return None


def account_labels(names: ProgramNames) -> Callable[[str], str]:
    """A ledger account by what it holds, in the page's language: cards and rewards by their
    titles (rules.names)."""
    return names.unit


def actor_labels(conn: Connection, business_id: int, lang: str) -> Callable[[str], str]:
    _ = translator(lang)
    staff = {
        f"staff:{s.id}": s.name or s.email for s in tenancy_store.business_staff(conn, business_id)
    }
    keys = {
        f"api_key:{k.id}": f"{_('API key')} {k.name}"
        for k in tenancy_store.business_api_keys(conn, business_id)
    }
    plain = {"system": _("System"), "self": _("The member"), "profile": _("The member")}

    def label(actor: str) -> str:
        return staff.get(actor) or keys.get(actor) or plain.get(actor) or actor

    return label


def _balances(
    conn: Connection, business_id: int, member_id: int, definition: Any, names: ProgramNames
) -> dict[str, Any]:
    held = ledger.balances(conn, business_id, member_id)
    cards = [
        {
            "code": f"stamps.{c.id}",
            "name": names.card(c.id),
            "held": held.get(f"stamps.{c.id}", 0),
            "required": c.stamps_required,
            "progress": names.have_of(held.get(f"stamps.{c.id}", 0), c.stamps_required),
        }
        for c in (definition.stamp_cards if definition else [])
    ]
    expiry = ledger_store.next_expiry(conn, business_id, member_id, POINTS_ACCOUNT)
    return {
        "points": held[POINTS_ACCOUNT],
        "pending": held[PENDING_POINTS_ACCOUNT],
        "cashback": held[CASHBACK_ACCOUNT],
        "cards": cards,
        "rewards": [
            names.amount(code, n)
            for code, n in sorted(held.items())
            if code.startswith("reward.") and n > 0
        ],
        "next_expiry": expiry,
    }


def _tier(
    conn: Connection,
    staff: StaffSession,
    member_id: int,
    now: datetime,
    definition: Any,
    names: ProgramNames,
) -> Any:
    if definition is None or definition.tiers is None:
        return None
    tier = tier_of(conn, staff.principal, member_id, now)
    percent = None
    if tier.next_threshold:
        percent = max(0, min(100, int(tier.value * 100 / tier.next_threshold)))
    return {
        "out": tier,
        "name": names.tier(tier.tier),
        "next_name": names.tier(tier.next_tier),
        "percent": percent,
        "money": definition.tiers.metric == "spend",
    }


def _vouchers(conn: Connection, business_id: int, member_id: int, lang: str) -> list[Any]:
    titles = {
        r.id: r.title.get(lang) or r.title.get("es") or r.slug
        for r in reward_store.catalog(conn, business_id, active_only=False)
    }
    rows = reward_store.member_vouchers(conn, business_id, member_id, 20)
    return [{"row": r, "title": titles.get(r.reward_id, "")} for r in rows]


def _messages(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    return delivery_log.of_member(conn, business_id, member_id, 20)


def detail(
    conn: Connection,
    staff: StaffSession,
    member_id: int,
    now: datetime,
    lang: str,
    ledger_before: int | None,
) -> dict[str, Any]:
    """Everything the member page shows; NotFound for a member of another business."""
    bid = staff.business_id
    member = members.get(conn, bid, member_id)
    business = tenancy_store.business(conn, bid)
    definition = program_definition(conn, bid, now)
    names = program_names(conn, business, definition, lang)
    locations = {loc.id: loc.name for loc in tenancy_store.business_locations(conn, bid)}
    actor = actor_labels(conn, bid, lang)
    referrer = (
        member_store.member(conn, bid, member.referred_by_member_id)
        if member.referred_by_member_id
        else None
    )
    lines, older = explained_ledger.explained(
        conn, bid, member_id, before=ledger_before, limit=50, lang=lang
    )
    purchases = purchase_store.member_purchases(conn, bid, member_id, 20)
    return {
        "business": business,
        "member": member,
        "consent": [(c, (member.consent or {}).get(c) or {}) for c in CHANNELS],
        "enrolled_by": actor(f"staff:{member.enrolled_by_staff_id}")
        if member.enrolled_by_staff_id
        else None,
        "location_names": locations,
        "referrer": referrer,
        "balances": _balances(conn, bid, member_id, definition, names),
        "value": analytics_segments.member_value(conn, bid, member_id),
        # Shown beside the value, never mixed into it (D68).
        "previous": previous_store.latest(conn, bid, member_id),
        "tier": _tier(conn, staff, member_id, now, definition, names),
        "lines": lines,
        "older": older,
        "ledger_before": ledger_before,
        "purchases": purchases,
        "vouchers": _vouchers(conn, bid, member_id, lang),
        "messages": _messages(conn, bid, member_id),
        "account": account_labels(names),
        "names": names,
        "actor": actor,
        "fmt": Formats(business, lang),
        "segment": partial(segment_label, _=translator(lang)),
    }
