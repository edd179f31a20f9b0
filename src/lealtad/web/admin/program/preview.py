"""The editor's "what would this purchase earn": a sample purchase (amount, items, location, day
and time, optionally a member's card) evaluated under the draft and under the version in force,
side by side, through rules.draft. Reads only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import Connection

from lealtad.errors import LealtadError
from lealtad.kit.catalog import ngettext
from lealtad.kit.dates import within
from lealtad.members import service as members
from lealtad.purchases.schemas import ItemIn, PurchaseIn
from lealtad.purchases.service import purchase_facts
from lealtad.rules import apply, draft
from lealtad.rules.apply import Granted
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.facts import MemberContext
from lealtad.rules.names import in_phrase, name_in
from lealtad.rules.service import in_force
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.program.drafts import Draft
from lealtad.web.admin.program.fields import (
    Fields,
    decimal_text,
    local_datetime,
    money_text,
    parse_money,
)
from lealtad.web.admin.program.forms import Values
from lealtad.web.admin.program.text import Describer

ITEM_ROWS = 3
CHANNELS = ("counter", "online", "api")


@dataclass
class Line:
    reason: str
    amount: str


@dataclass
class Side:
    lines: list[Line]
    totals: list[tuple[str, int, str]]  # unit, amount, as read


@dataclass
class Preview:
    message: str | None = None
    draft: Side | None = None
    current: Side | None = None
    current_version: int | None = None
    member: str | None = None
    draft_problems: list[tuple[str, str]] = field(default_factory=list)


def defaults(now: datetime, zone: str, exponent: int) -> Values:
    local = now.astimezone(ZoneInfo(zone))
    return {
        "pv_amount": [money_text(10 * 10**exponent, exponent)],
        "pv_date": [local.date().isoformat()],
        "pv_time": [local.strftime("%H:%M")],
        "pv_channel": ["counter"],
    }


def _amount(describer: Describer, unit: str, amount: int) -> str:
    _ = describer._
    if unit == "points":
        return _("{n} points").format(n=describer.number(amount))
    if unit == "cashback":
        return _("{amount} of cashback").format(amount=describer.money(amount))
    if unit.startswith("stamps."):
        card = unit.removeprefix("stamps.")
        said = ngettext(describer.lang)("{n} stamp", "{n} stamps", amount)
        on = _("on the {card} card").format(card=in_phrase(describer.cards.get(card, card)))
        return f"{said.format(n=describer.number(amount))} {on}"
    return _("{n} × reward {reward}").format(
        n=amount, reward=describer.reward(unit.removeprefix("reward."))
    )


def _rule_names(definition: ProgramDefinition, lang: str) -> dict[str, str]:
    """Each rule by its title: the engine's reasons are English notes for the journal."""
    return {r.id: name_in(r, lang) for r in definition.rules}


def _side(describer: Describer, granted: list[Granted], rules: dict[str, str]) -> Side:
    totals: dict[str, int] = defaultdict(int)
    for g in granted:
        totals[g.unit] += g.amount
    return Side(
        [
            Line(rules.get(g.rule_id, g.reason), _amount(describer, g.unit, g.amount))
            for g in granted
        ],
        [(unit, n, _amount(describer, unit, n)) for unit, n in totals.items()],
    )


def _purchase(f: Fields, business: Any, exponent: int, describer: Describer) -> PurchaseIn | str:
    _ = describer._
    text = f.get("pv_amount")
    if not text:
        return _("Type an amount to see what a purchase would earn.")
    amount = parse_money(text, exponent)
    if amount is None:
        return _("The amount must be a number such as 10.50.")
    items = []
    for i in range(ITEM_ROWS):
        sku = f.get(f"pv_item-{i}-sku")
        if not sku:
            continue
        price = parse_money(f.get(f"pv_item-{i}-price") or "0", exponent)
        if price is None:
            return _("Each item's price must be a number such as 2.50.")
        items.append(
            {
                "sku": sku,
                "category": f.get(f"pv_item-{i}-category") or None,
                "quantity": decimal_text(f.get(f"pv_item-{i}-qty")) or "1",
                "unit_price": price,
            }
        )
    channel = f.get("pv_channel")
    try:
        return PurchaseIn(
            receipt_id="preview",
            amount=amount,
            currency=business.currency,
            channel=channel if channel in CHANNELS else "counter",
            items=[ItemIn.model_validate(i) for i in items],
        )
    except ValidationError:
        return _("Check the items: quantities above zero and prices of at most 12 digits.")


def run(
    conn: Connection,
    business: Any,
    f: Fields,
    drafted: Draft,
    *,
    now: datetime,
    secret_key: str,
    describer: Describer,
) -> Preview:
    _ = describer._
    data = _purchase(f, business, describer.exponent, describer)
    if isinstance(data, str):
        return Preview(message=data)
    location = None
    chosen = f.get("pv_location")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 18:
        location = tenancy_store.location(conn, business.id, int(chosen))
    zone = location.timezone if location is not None else business.timezone
    at = local_datetime(f.get("pv_date"), f.get("pv_time") or "12:00", zone)
    if at is None or not within(at):
        return Preview(message=_("Give the day and time as a date and an hour."))
    facts = purchase_facts(business, location, data, at)
    preview = Preview(draft_problems=drafted.errors)
    card = f.get("pv_card")
    try:
        if card:
            member = members.find(conn, business.id, secret_key, card_number=card[:40])
            context = apply.context_for(conn, business.id, member, None, at=facts.occurred_at)
            preview.member = member.name or member.card_number
        else:
            context = MemberContext(member_id=0, tier=f.get("pv_tier") or None)
        if drafted.definition is None:
            current = in_force(conn, business.id, now)
            granted = apply.plan(conn, business.id, context, facts, program=current)[1]
            names = _rule_names(current.definition, describer.lang)
            preview.current = _side(describer, granted, names)
            preview.current_version = current.version
            return preview
        compared = draft.compare(conn, business.id, drafted.definition, facts, context, now)
        in_use = _rule_names(in_force(conn, business.id, now).definition, describer.lang)
    except LealtadError as exc:
        if exc.code == "member_not_found":
            return Preview(message=_("No member has that card number."))
        return Preview(message=exc.message)
    preview.draft = _side(
        describer, compared.draft, _rule_names(drafted.definition, describer.lang)
    )
    preview.current = _side(describer, compared.current, in_use)
    preview.current_version = compared.current_version
    return preview
