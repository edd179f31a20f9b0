"""What the engine evaluates: the transaction's facts and the member's context, and what it
returns: awards, each naming the rule that produced it and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal, NamedTuple
from zoneinfo import ZoneInfo

UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Item:
    sku: str
    quantity: Decimal
    unit_price: int
    category: str | None = None
    tags: frozenset[str] = frozenset()
    total: int = -1  # quantity x unit price in minor units, worked out once when built

    def __post_init__(self) -> None:
        if self.total < 0:
            total = (self.quantity * self.unit_price).to_integral_value()
            object.__setattr__(self, "total", int(total))


@dataclass(frozen=True, slots=True)
class Facts:
    """One transaction: a purchase, a refund, or an event such as a birthday or training hours."""

    trigger: str
    occurred_at: datetime
    tz: ZoneInfo = UTC_ZONE
    amount: int = 0
    exponent: int = 2
    value: Decimal = Decimal(0)
    event: str | None = None
    channel: str = "api"
    location_id: int | None = None
    items: tuple[Item, ...] = ()
    referral_stage: Literal["signup", "first_purchase", "purchase"] | None = None
    properties: Mapping[str, object] | None = None  # an event's, for rules reading one by name


@dataclass(frozen=True, slots=True)
class MemberContext:
    member_id: int
    tier: str | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    segments: frozenset[str] = field(default_factory=frozenset)
    visits_before: int = 0


Recipient = Literal["member", "referrer"]


class Award(NamedTuple):
    """A tuple, not a dataclass: the engine makes several per transaction on the hot path."""

    rule_id: str
    unit: str
    amount: int
    reason: str
    recipient: Recipient = "member"
