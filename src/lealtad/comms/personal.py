"""What a message or the wallet says about one member: balances, tier and the next reward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.ledger import service as ledger
from lealtad.rewards import service as rewards
from lealtad.tiers import service as tiers


@dataclass(frozen=True)
class NextReward:
    title: str
    cost: int
    unit: str
    # How much more of `unit` the member needs; 0 when it can be redeemed now.
    missing: int


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
    return NextReward(title=title, cost=pick.cost, unit=pick.cost_unit, missing=missing)


def member_context(
    conn: Connection, business: Any, member: Any, lang: str, now: datetime
) -> dict[str, Any]:
    """The personal fields every template may use."""
    held = ledger.balances(conn, business.id, member.id)
    upcoming = next_reward(conn, business.id, member.id, lang, now)
    return {
        "business": business.name,
        "name": member.name or "",
        "card_number": member.card_number,
        "points": held.get("points", 0),
        "cashback": held.get("cashback", 0),
        "balances": held,
        "tier": tiers.current(conn, business.id, member.id),
        "next_reward": upcoming.title if upcoming else "",
        "next_reward_missing": upcoming.missing if upcoming else 0,
        "next_reward_unit": upcoming.unit if upcoming else "",
    }
