"""How many members are close to a reward, and how many hold one they can use now: the owner's
home asks whether the program pulls customers back, and a member one stamp from a free coffee
is the reason they come back.

"Close" means a fifth or less of the way left to the cheapest reward of a unit (8 or 9 stamps of
a 10-stamp card, 80 to 99 points of a 100-point reward); "ready" means an earned reward (a full
card) or enough of a unit for the cheapest reward in it. Each member counts once however many
cards and units they hold.

Member balances have no index by amount, so counting reads every member account of the
business: about 0.4 µs a row on SQLite, 1.4 s for the 3.3 million accounts of a million
members. The home counts live up to `LIVE_MEMBERS`, and the nightly refresh stores the count for
bigger businesses (decisions D50)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, case, func, or_, select

from lealtad.errors import NotFound
from lealtad.ledger.tables import accounts
from lealtad.rewards.tables import rewards
from lealtad.rules import service as rules

# Up to this many members the home counts live (under 0.1 s); beyond it, last night's count.
LIVE_MEMBERS = 50_000
# "Close": at most this share of the cheapest reward still to go.
CLOSE_SHARE = 0.2
SNAPSHOT = "reward_reach"


@dataclass(frozen=True)
class Reach:
    close: int
    ready: int
    # unit -> the cheapest reward's cost in it, the threshold both counts are measured against
    thresholds: dict[str, int]

    def payload(self) -> dict[str, Any]:
        return {"close": self.close, "ready": self.ready, "thresholds": self.thresholds}

    @classmethod
    def of(cls, payload: dict[str, Any]) -> Reach:
        return cls(
            int(payload.get("close", 0)),
            int(payload.get("ready", 0)),
            {str(k): int(v) for k, v in (payload.get("thresholds") or {}).items()},
        )


def thresholds(conn: Connection, business_id: int, now: datetime) -> dict[str, int]:
    """unit -> the least it takes to get something: the cheapest active reward paid in it, or
    the size of a stamp card (a full card turns into its reward by itself)."""
    found: dict[str, int] = {}
    for unit, cost in conn.execute(
        select(rewards.c.cost_unit, func.min(rewards.c.cost))
        .where(
            rewards.c.business_id == business_id,
            rewards.c.active.is_(True),
            rewards.c.kind != "donation",
            rewards.c.cost > 0,
        )
        .group_by(rewards.c.cost_unit)
    ):
        # A reward paid with an earned reward ("reward.free-drink") is ready, never close.
        if not str(unit).startswith("reward."):
            found[str(unit)] = int(cost)
    try:
        cards = rules.in_force(conn, business_id, now).definition.stamp_cards
    except NotFound:
        cards = []
    for card in cards:
        unit = f"stamps.{card.id}"
        found[unit] = min(found.get(unit, card.stamps_required), card.stamps_required)
    return found


def close_from(threshold: int) -> int:
    """The least balance that counts as close to a reward costing `threshold`."""
    return threshold - max(1, math.floor(threshold * CLOSE_SHARE))


def measure(conn: Connection, business_id: int, now: datetime) -> Reach:
    """One pass over the business's member accounts."""
    limits = thresholds(conn, business_id, now)
    a = accounts.c
    near = [
        and_(a.code == unit, a.balance >= close_from(cost), a.balance < cost)
        for unit, cost in limits.items()
    ]
    enough = [and_(a.code == unit, a.balance >= cost) for unit, cost in limits.items()]
    earned = and_(a.code.startswith("reward."), a.balance > 0)
    ready = or_(earned, *enough)
    close = or_(*near) if near else None
    # A member may be both: a full card ready to use and a second card nearly full.
    counted = [func.count(func.distinct(case((ready, a.member_id))))]
    if close is not None:
        counted.append(func.count(func.distinct(case((close, a.member_id)))))
    row = conn.execute(
        select(*counted).where(
            a.business_id == business_id,
            a.member_id.is_not(None),
            or_(ready, *near),
        )
    ).one()
    return Reach(
        close=int(row[1]) if close is not None else 0, ready=int(row[0]), thresholds=limits
    )
