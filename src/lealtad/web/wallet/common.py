"""What the wallet's rewards, history and account pages share: the signed-in member as a
principal for the shared services, their language and time zone, and amounts and errors put
in words."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_currency, format_decimal
from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy import Connection

from lealtad.config import Settings
from lealtad.db.engine import Database
from lealtad.errors import Forbidden, LealtadError
from lealtad.kit.money import Money
from lealtad.members import service as members
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules.names import ProgramNames
from lealtad.tenancy.model import Principal, Role
from lealtad.tickets import service as tickets
from lealtad.web import sessions
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import business_or_404
from lealtad.web.times import Times

Gettext = Callable[[str], str]


@dataclass(frozen=True, slots=True)
class MemberPrincipal(Principal):
    """A member acting for themselves in the wallet: the lowest role, and their own name in the
    journal's actor column and the audit log."""

    member_id: int = 0

    @property
    def actor(self) -> str:
        return f"member:{self.member_id}"


@dataclass(frozen=True)
class Visit:
    """One request by a signed-in member: who, of which business, in which language."""

    business: Any
    member: Any
    session: sessions.MemberSession
    lang: str
    now: datetime
    # Whether the business takes scanned tickets: the wallet shows that tab only then.
    tickets_on: bool = False

    @property
    def principal(self) -> MemberPrincipal:
        return MemberPrincipal(
            business_id=self.business.id, role=Role.staff, member_id=self.member.id
        )

    @property
    def _(self) -> Gettext:
        return translator(self.lang)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.member.time_zone or self.business.timezone)

    def url(self, path: str = "", **query: object) -> str:
        """A wallet address that keeps the language the member chose."""
        params = "&".join(f"{k}={v}" for k, v in {**query, "lang": self.lang}.items())
        return f"/w/{self.business.slug}{path}?{params}"

    def csrf_ok(self, presented: str) -> bool:
        try:
            sessions.require_csrf(self.session.csrf, presented)
        except Forbidden:
            return False
        return True

    def page(self, **context: Any) -> dict[str, Any]:
        shared = {
            "business": self.business,
            "member": self.member,
            "csrf": self.session.csrf,
            "as_of": when(self.now, self.zone, self.lang),
            "tickets_on": self.tickets_on,
        }
        return shared | context


def visit(
    request: Request,
    db: Database,
    settings: Settings,
    slug: str,
    requested_lang: str | None,
    accept_language: str | None = None,
) -> Visit | None:
    """The member signed in to this business's wallet, or None (send them to log in)."""
    business = business_or_404(db, slug)
    session = sessions.member_session(request, db, settings, slug)
    if session is None:
        return None
    with db.read() as conn:
        member = members.get(conn, business.id, session.member_id)
        tickets_on = tickets.takes_tickets(conn, business)
    lang = pick_language(requested_lang, accept_language, member.locale)
    now = request.app.state.clock.now()
    return Visit(business, member, session, lang, now, tickets_on=tickets_on)


def to_login(slug: str) -> RedirectResponse:
    return RedirectResponse(f"/w/{slug}/login", status_code=303)


def form_key() -> str:
    """Made when a form is drawn: the same form sent twice is recorded once (decisions D21)."""
    return secrets.token_urlsafe(12)


def local_text(texts: dict[str, str], lang: str, fallback: str = "") -> str:
    """A text the business wrote in both languages, in the member's (or whichever is there)."""
    return texts.get(lang) or texts.get("es") or texts.get("en") or fallback


def program_names_now(conn: Connection, business: Any, lang: str, now: datetime) -> ProgramNames:
    """The names of the program in force and of the catalog's rewards, in the member's language."""
    try:
        definition = programs.in_force(conn, business.id, now).definition
    except LealtadError:
        definition = None
    return program_names(conn, business, definition, lang)


def amount(unit: str, value: int, currency: str, lang: str, *, signed: bool = False) -> str:
    """A number of units as the member reads it: money for cashback, grouped digits otherwise."""
    if unit == "cashback":
        text = format_currency(Money(abs(value), currency).major(), currency, locale=lang)
    else:
        text = format_decimal(abs(value), locale=lang)
    if value < 0:
        return "−" + text
    return ("+" + text) if signed and value > 0 else text


def when(value: datetime, zone: ZoneInfo, lang: str) -> str:
    return Times(zone, lang).moment(value)


def day(value: datetime, zone: ZoneInfo, lang: str) -> str:
    return Times(zone, lang).day(value, width="long")


def problem(exc: LealtadError, _: Gettext) -> str:
    """A service's refusal in the member's words; the code picks the sentence."""
    sentences = {
        "insufficient_balance": _("You do not have enough points for this yet."),
        "out_of_stock": _("Sorry, this reward is out of stock."),
        "redemption_limit_reached": _("You have reached the limit for this reward."),
        "reward_not_available": _("This reward is not available now."),
        "reward_not_for_member": _("This reward is not offered at your level."),
        "reward_not_found": _("There is no such reward."),
        "not_redeemed": _("You can rate a reward once you have redeemed it."),
        "cause_not_found": _("There is no such cause."),
        "cause_inactive": _("This cause no longer takes donations."),
        "idempotency_key_reused": _("This form was already sent. Reload the page and try again."),
        "voucher_not_found": _("There is no such voucher."),
    }
    return sentences.get(exc.code, _("That did not work. Please try again."))


def expired_form(_: Gettext) -> str:
    return _("This form has expired. Reload the page and try again.")
