"""What a message or the wallet says about one member: balances, tier, the next reward and the
member's next-best offer. `PLACEHOLDERS` lists the fields a campaign may name as {{ field }}."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import LealtadError
from lealtad.kit.catalog import gettext
from lealtad.ledger import service as ledger
from lealtad.rewards import service as rewards
from lealtad.rewards.names import program_names
from lealtad.rules import service as programs
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.names import ProgramNames
from lealtad.tiers import service as tiers


@dataclass(frozen=True)
class NextReward:
    title: str
    cost: int
    unit: str
    # How much more of `unit` the member needs; 0 when it can be redeemed now.
    missing: int
    reward_id: int


def next_reward(
    conn: Connection, business_id: int, member_id: int, lang: str, now: datetime
) -> NextReward | None:
    """The reward a member should hear about: the dearest one they can already afford, else the
    one they are closest to (the smallest shortfall), among those the catalog shows them."""
    held = ledger.balances(conn, business_id, member_id)
    offers = [
        r for r in rewards.for_member(conn, business_id, member_id, now) if r.kind != "donation"
    ]
    if not offers:
        return None
    ready = [r for r in offers if r.affordable]
    if ready:
        pick = max(ready, key=lambda r: (r.cost, -r.id))
        missing = 0
    else:
        pick = min(offers, key=lambda r: (r.cost - held.get(r.cost_unit, 0), r.cost, r.id))
        missing = pick.cost - held.get(pick.cost_unit, 0)
    title = pick.title.get(lang) or pick.title.get("en") or pick.slug
    # A full card's reward is still missing as stamps, which is what a member collects.
    cards = ProgramNames.of(_program(conn, business_id, now), {}, lang)
    unit, missing = cards.shortfall(pick.cost_unit, missing, held)
    return NextReward(title=title, cost=pick.cost, unit=unit, missing=missing, reward_id=pick.id)


def member_context(
    conn: Connection, business: Any, member: Any, lang: str, now: datetime
) -> dict[str, Any]:
    """The personal fields every template may use."""
    # Imported here: the offer builds on `next_reward` above, so the modules need each other.
    from lealtad.comms import offers

    held = ledger.balances(conn, business.id, member.id)
    upcoming = next_reward(conn, business.id, member.id, lang, now)
    offer = offers.next_best_offer(conn, business.id, member.id, now, lang)
    names = names_now(conn, business, lang, now)
    return {
        "business": business.name,
        "name": member.name or "",
        "card_number": member.card_number,
        "points": held.get("points", 0),
        "cashback": held.get("cashback", 0),
        "balances": held,
        "tier": names.tier(tiers.current(conn, business.id, member.id)),
        "next_reward": upcoming.title if upcoming else "",
        "next_reward_line": _next_reward_line(upcoming, names),
        "points_text": names.amount("points", held.get("points", 0)),
        "balance_text": _balance_text(held, names),
        "next_reward_missing": upcoming.missing if upcoming else 0,
        "next_reward_unit": upcoming.unit if upcoming else "",
        "offer": offer.sentence if offer else "",
        "favourite_category": (offer.favourite_category or "") if offer else "",
    }


def _program(conn: Connection, business_id: int, now: datetime) -> ProgramDefinition | None:
    try:
        return programs.in_force(conn, business_id, now).definition
    except LealtadError:
        return None


def names_now(conn: Connection, business: Any, lang: str, now: datetime) -> ProgramNames:
    """The names of the program in force and of the catalog's rewards, in one language."""
    return program_names(conn, business, _program(conn, business.id, now), lang)


def _balance_text(held: dict[str, int], names: ProgramNames) -> str:
    """What the member holds, said whole: points, or the stamps of a stamps-only program."""
    stamps = [names.award(u, n) for u, n in sorted(held.items()) if u.startswith("stamps.") and n]
    if stamps and not held.get("points"):
        return ", ".join(stamps)
    return names.amount("points", held.get("points", 0))


def _next_reward_line(upcoming: NextReward | None, names: ProgramNames) -> str:
    """ "Te faltan 3 sellos para Café gratis" / "Ya puedes canjear: Café gratis"."""
    if upcoming is None:
        return ""
    if upcoming.missing:
        return names.missing_for(upcoming.unit, upcoming.missing, upcoming.title)
    return gettext(names.lang)("You can redeem: %(reward)s") % {"reward": upcoming.title}


# What a campaign's subject and body may say about each member, as {{ name }} and so on.
PLACEHOLDERS = {
    "name": "the member's name",
    "business": "the business's name",
    "card_number": "the member's card number",
    "points": "points balance",
    "cashback": "cashback balance, in minor units (cents)",
    "tier": "the member's tier, by its name in the member's language (empty without one)",
    "next_reward": "the next reward's title: the one they can redeem, else the closest",
    "next_reward_missing": "how much is missing for it (0 when it can be redeemed)",
    "next_reward_unit": "the unit of that figure: points, stamps.<card> or reward.<slug>",
    "next_reward_line": "what is missing for it, or that it can be redeemed, as one sentence",
    "points_text": "the points balance with its word: 1 point, 12 points",
    "balance_text": "what the member holds: points, or the stamps of a stamps-only program",
    "offer": "the member's next-best offer as one sentence (comms/offers.py), or empty",
    "favourite_category": "the category they spend most on, of their last 50 purchases",
}
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)\s*\}\}")


def fill(text: str, fields: dict[str, Any]) -> str:
    """Puts the member's fields into a text the business wrote. Only the names above are
    replaced, and the text is never run as a template, so whatever else it holds is left as
    written."""

    def one(found: re.Match[str]) -> str:
        if found[1] not in PLACEHOLDERS:
            return found[0]
        value = fields.get(found[1])
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(one, text)
