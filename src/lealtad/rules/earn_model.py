"""The earn planner's values (`rules.planner`): the member's state it plans from, and the plan
it returns. Frozen dataclasses and named tuples over `ledger.model` entries; nothing here touches
storage."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

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


class _Nothing(Mapping[Any, int]):
    """The maps' default: one shared, empty and read-only map, so that a state costs no
    dictionaries (nor default factories) until it holds something."""

    def __getitem__(self, key: Any) -> int:
        raise KeyError(key)

    def __iter__(self) -> Iterator[Any]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def __hash__(self) -> int:
        return 0


_NONE = _Nothing()


@dataclass(frozen=True, slots=True)
class MemberState:
    """What earning may depend on besides the transaction, as it stood before it: what the rules
    ask of the member (tier, tags, segments, visits before), their referrer, and the caps used,
    budgets left and stamp balances. The maps hold what the runs planned so far asked for; a key
    absent from them is unknown, not zero."""

    context: MemberContext
    referrer_id: int | None = None
    caps_used: Mapping[CapKey, int] = _NONE
    budget_left: Mapping[str, int] = _NONE
    stamps: Mapping[StampKey, int] = _NONE

    @classmethod
    def of(cls, context: MemberContext, referrer_id: int | None = None) -> MemberState:
        return cls(context, referrer_id)

    @property
    def member_id(self) -> int:
        return self.context.member_id

    @property
    def visits_before(self) -> int:
        return self.context.visits_before


@dataclass(frozen=True, slots=True)
class Missing:
    """What a plan needed and the state did not hold."""

    caps: frozenset[CapKey] = frozenset()
    budgets: frozenset[str] = frozenset()
    stamps: frozenset[StampKey] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.caps or self.budgets or self.stamps)


class Event(NamedTuple):
    """An outbox event to emit with the plan: its topic and payload."""

    topic: str
    payload: dict[str, Any]


class CardCompletion(NamedTuple):
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


class MemberEarn(NamedTuple):
    """One recipient's part of a run, in the order it is written: the earn entry, the award rows
    that explain it, then the cards its stamps completed."""

    member_id: int
    entry: Entry
    granted: tuple[Granted, ...]
    completions: tuple[CardCompletion, ...] = ()


class EarnPlan(NamedTuple):
    """What one run earns. The plan's parts are named tuples, not frozen dataclasses: a purchase
    makes several of them, and a tuple is built at a fraction of the cost."""

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
