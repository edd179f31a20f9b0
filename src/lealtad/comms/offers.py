"""A next-best offer per member, from their own history: one reward (or one nudge) and a short
sentence in their language, shown in the wallet and usable in messages as {{ offer }}.

The choice, in this order:

1. A reward the member can afford now and has never redeemed: something new they can have today
   is the offer most likely to bring them back, and it teaches them the catalog. Among several,
   one in their favourite category first (the reward's sku is that category, or an item of it
   in their purchases), then a featured one (the business's own pick), then the cheapest (it
   leaves the most balance for the next reward).
2. Otherwise the reward the wallet already names as the next one (`comms.personal.next_reward`:
   the smallest shortfall, or one they can redeem again), with what is missing. It is the same
   figure as the wallet's "next reward" line and the e-mails, so the member never reads two
   different goals.
3. Otherwise, when no reward is shown to them at all, a nudge in their favourite category.

Only rewards `rewards.service.for_member` shows the member count (active, in their dates, meant
for their tier or segment, in stock); donations are never the offer. A member with no reward to
hear about and no category in their purchases gets None.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from babel.numbers import format_decimal
from sqlalchemy import Connection

from lealtad.comms import personal
from lealtad.purchases import reads_store as purchase_reads
from lealtad.rewards import service as rewards
from lealtad.rewards import store as reward_store
from lealtad.rewards.schemas import RewardOut

# Enough to say what someone usually buys, and a bounded read per member.
HISTORY = 50

OfferKind = Literal["new", "closest", "usual"]


@dataclass(frozen=True)
class OfferedReward:
    id: int
    title: str
    cost: int
    unit: str


@dataclass(frozen=True)
class Offer:
    kind: OfferKind
    reward: OfferedReward | None
    # Units of `reward.unit` still missing; 0 when it can be redeemed now (and for a nudge).
    missing: int
    favourite_category: str | None
    sentence: str


@dataclass(frozen=True)
class Taste:
    """What the member's recent purchases say: the favourite category, and the category of
    each sku they bought (the latest one seen), to tell whether a reward is in it."""

    favourite: str | None
    sku_category: dict[str, str]


def _spend(item: dict[str, Any]) -> Decimal:
    try:
        return Decimal(str(item.get("quantity", 1))) * int(item.get("unit_price", 0))
    except (InvalidOperation, TypeError, ValueError):
        return Decimal(0)


def taste_of(baskets: Iterable[Sequence[dict[str, Any]]]) -> Taste:
    """Baskets newest first. The favourite is the category with the most spend (quantity times
    unit price); on a tie, the one bought most recently."""
    spend: dict[str, Decimal] = {}
    latest: dict[str, int] = {}
    skus: dict[str, str] = {}
    for age, items in enumerate(baskets):
        for item in items:
            category = item.get("category")
            if not isinstance(category, str) or not category.strip():
                continue
            category = category.strip()
            spend[category] = spend.get(category, Decimal(0)) + _spend(item)
            latest.setdefault(category, age)
            sku = item.get("sku")
            if isinstance(sku, str):
                skus.setdefault(sku, category)
    if not spend:
        return Taste(None, skus)
    # The name last only makes the answer the same on every run when all else is equal.
    favourite = min(spend, key=lambda c: (-spend[c], latest[c], c))
    return Taste(favourite, skus)


def _in_category(reward: RewardOut, taste: Taste) -> bool:
    if taste.favourite is None or not reward.sku:
        return False
    return taste.favourite in (reward.sku, taste.sku_category.get(reward.sku))


def _title(reward: RewardOut, lang: str) -> str:
    return reward.title.get(lang) or reward.title.get("en") or reward.slug


# A cost in "reward.<slug>" is paid with a reward earned elsewhere, such as a full stamp card.
_UNITS = {
    "es": {
        "points": ("punto", "puntos"),
        "stamps": ("sello", "sellos"),
        "reward": ("premio ganado", "premios ganados"),
    },
    "en": {
        "points": ("point", "points"),
        "stamps": ("stamp", "stamps"),
        "reward": ("earned reward", "earned rewards"),
    },
}


def amount_text(amount: int, unit: str, lang: str) -> str:
    """ "120 points", "1 sello": how many of a ledger unit, in words."""
    kind = unit.split(".", 1)[0]
    one, many = _UNITS[lang].get(kind, (unit, unit))
    return f"{format_decimal(amount, locale=lang)} {one if amount == 1 else many}"


# The nudge says a visit "counts" rather than "earns points": a stamp-card program earns stamps.
_SENTENCES = {
    "es": {
        "new": "Ya puedes canjear {reward} por {cost}: ¡todavía no lo has probado!",
        "closest": "Solo te faltan {missing} para {reward}.",
        "closest_one": "Solo te falta {missing} para {reward}.",
        "again": "Ya puedes volver a canjear {reward}.",
        "usual": "Lo de siempre: {category}. Cada visita cuenta.",
    },
    "en": {
        "new": "You can redeem {reward} now for {cost}: you haven't tried it yet!",
        "closest": "Only {missing} away from {reward}.",
        "closest_one": "Only {missing} away from {reward}.",
        "again": "You can redeem {reward} again now.",
        "usual": "Your usual: {category}. Every visit counts.",
    },
}


def sentence(
    kind: OfferKind, lang: str, reward: OfferedReward | None, missing: int, category: str | None
) -> str:
    lang = lang if lang in _SENTENCES else "en"
    texts = _SENTENCES[lang]
    if reward is None:
        return texts["usual"].format(category=category or "")
    if kind == "new":
        cost = amount_text(reward.cost, reward.unit, lang)
        return texts["new"].format(reward=reward.title, cost=cost)
    if missing <= 0:
        return texts["again"].format(reward=reward.title)
    short = amount_text(missing, reward.unit, lang)
    # Spanish says "te falta 1 sello" but "te faltan 2 sellos".
    closest = texts["closest_one"] if missing == 1 else texts["closest"]
    return closest.format(reward=reward.title, missing=short)


def next_best_offer(
    conn: Connection, business_id: int, member_id: int, now: datetime, lang: str
) -> Offer | None:
    """The member's offer in `lang` (es or en), chosen as the module says; None when there is
    nothing to say."""
    lang = lang if lang in _SENTENCES else "en"
    # A purchase refunded in full says nothing about what they like: the store leaves it out.
    taste = taste_of(purchase_reads.recent_baskets(conn, business_id, member_id, HISTORY))
    shown = [
        r for r in rewards.for_member(conn, business_id, member_id, now) if r.kind != "donation"
    ]
    # A cancelled voucher gave its cost back: not counted as having had the reward.
    had = reward_store.rewards_had(conn, business_id, member_id)
    fresh = [r for r in shown if r.affordable and r.id not in had]
    if fresh:
        pick = min(fresh, key=lambda r: (not _in_category(r, taste), not r.featured, r.cost, r.id))
        chosen = OfferedReward(pick.id, _title(pick, lang), pick.cost, pick.cost_unit)
        return _offer("new", chosen, 0, taste, lang)
    upcoming = personal.next_reward(conn, business_id, member_id, lang, now)
    if upcoming is not None:
        chosen = OfferedReward(upcoming.reward_id, upcoming.title, upcoming.cost, upcoming.unit)
        return _offer("closest", chosen, upcoming.missing, taste, lang)
    if taste.favourite is not None:
        return _offer("usual", None, 0, taste, lang)
    return None


def _offer(
    kind: OfferKind, reward: OfferedReward | None, missing: int, taste: Taste, lang: str
) -> Offer:
    return Offer(
        kind=kind,
        reward=reward,
        missing=missing,
        favourite_category=taste.favourite,
        sentence=sentence(kind, lang, reward, missing, taste.favourite),
    )
