"""The earn planner's values (`rules.planner`): the member's state it plans from, and the plan
it returns. Plain frozen dataclasses over `ledger.model` entries; nothing here touches storage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lealtad.ledger.model import Entry
from lealtad.rules.facts import MemberContext

# (member id, rule id, start of the cap's period or None for a lifetime cap)
CapKey = tuple[int, str, datetime | None]
# (member id, stamp unit "stamps.<card id>")
StampKey = tuple[int, str]


@dataclass(frozen=True)
class Granted:
    rule_id: str
    unit: str
    amount: int
    reason: str
    member_id: int
    account: str
    expires_at: datetime | None = None
    unlocks_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class MemberState:
    """What earning may depend on besides the transaction, as it stood before it. The maps hold
    what the runs planned so far asked for; a key absent from them is unknown, not zero."""

    member_id: int
    tier: str | None = None
    tags: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    visits_before: int = 0
    referrer_id: int | None = None
    caps_used: Mapping[CapKey, int] = field(default_factory=dict)
    budget_left: Mapping[str, int] = field(default_factory=dict)
    stamps: Mapping[StampKey, int] = field(default_factory=dict)

    @classmethod
    def of(cls, context: MemberContext, referrer_id: int | None = None) -> MemberState:
        return cls(
            member_id=context.member_id,
            tier=context.tier,
            tags=context.tags,
            segments=context.segments,
            visits_before=context.visits_before,
            referrer_id=referrer_id,
        )

    @property
    def context(self) -> MemberContext:
        return MemberContext(
            member_id=self.member_id,
            tier=self.tier,
            tags=self.tags,
            segments=self.segments,
            visits_before=self.visits_before,
        )


@dataclass(frozen=True, slots=True)
class Missing:
    """What a plan needed and the state did not hold."""

    caps: frozenset[CapKey] = frozenset()
    budgets: frozenset[str] = frozenset()
    stamps: frozenset[StampKey] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.caps or self.budgets or self.stamps)


@dataclass(frozen=True, slots=True)
class Event:
    """An outbox event to emit with the plan: its topic and payload."""

    topic: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CardCompletion:
    """Full cards turned into their reward: the stamps they took go out, the rewards come in."""

    member_id: int
    card: str
    cards: int
    reward: str
    entry: Entry

    def event(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "card": self.card,
            "cards": self.cards,
            "reward": self.reward,
        }


@dataclass(frozen=True, slots=True)
class MemberEarn:
    """One recipient's part of a run, in the order it is written: the earn entry, the award rows
    that explain it, then the cards its stamps completed."""

    member_id: int
    entry: Entry
    granted: tuple[Granted, ...]
    completions: tuple[CardCompletion, ...] = ()


@dataclass(frozen=True, slots=True)
class EarnPlan:
    version: int
    granted: tuple[Granted, ...]
    members: tuple[MemberEarn, ...]
    budget_taken: Mapping[str, int]
    events: tuple[Event, ...]
    # Whether the writer re-checks the member's tier afterwards (a post-step: it reads the
    # qualifying window's history, see docs/decisions.md).
    checks_tier: bool
    state_after: MemberState
    missing: Missing = Missing()

    @property
    def entries(self) -> tuple[Entry, ...]:
        """Every ledger entry, in the order the writer posts them."""
        found: list[Entry] = []
        for part in self.members:
            found.append(part.entry)
            found.extend(c.entry for c in part.completions)
        return tuple(found)

    @property
    def cards_completed(self) -> list[dict[str, Any]]:
        return [c.event() for part in self.members for c in part.completions]
