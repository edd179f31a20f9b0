"""Ledger policy, free of storage: what an entry is, when it balances, which lots a spend takes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from lealtad.errors import InsufficientBalance, LealtadError
from lealtad.kit.clock import naive_utc

POINTS = "points"
CASHBACK = "cashback"
# Member account codes; a stamp card gets "stamps.<card id>" (its own unit too).
POINTS_ACCOUNT = "points"
PENDING_POINTS_ACCOUNT = "points.pending"
CASHBACK_ACCOUNT = "cashback"
MEMBER_ACCOUNTS: dict[str, str] = {
    POINTS_ACCOUNT: POINTS,
    PENDING_POINTS_ACCOUNT: POINTS,
    CASHBACK_ACCOUNT: CASHBACK,
}
# Where units come from and go to, outside members.
# "migrated" is the counter-account of opening balances brought from a previous system.
SYSTEM_ACCOUNTS = ("issued", "redeemed", "expired", "adjusted", "reversed", "donated", "migrated")
# Every kind of journal entry, each with its reason in the member's history.
ENTRY_KINDS = (
    "earn",
    "unlock",
    "expire",
    "refund",
    "adjust",
    "spend",
    "redeem",
    "donate",
    "cancel",
    # A balance brought from a previous system (`lealtad import balances`) and its undoing.
    "opening",
    "opening_undo",
)


def member_account_key(member_id: int, code: str) -> str:
    return f"m:{member_id}:{code}"


def system_account_key(name: str, unit: str) -> str:
    return f"s:{name}:{unit}"


@dataclass(frozen=True, slots=True)
class MemberLeg:
    """Units into (amount > 0) or out of (amount < 0) one member account."""

    member_id: int
    code: str
    unit: str
    amount: int
    expires_at: datetime | None = None
    unlocks_at: datetime | None = None
    origin_purchase_id: int | None = None
    # For a debit: the purchase whose lots go first (a refund taking back its own award).
    prefer_purchase_id: int | None = None
    # For a debit: these lots, in this order, instead of the soonest-expiring.
    lot_ids: tuple[int, ...] = ()

    @property
    def key(self) -> str:
        return member_account_key(self.member_id, self.code)


@dataclass(frozen=True, slots=True)
class SystemLeg:
    name: str
    unit: str
    amount: int

    @property
    def key(self) -> str:
        return system_account_key(self.name, self.unit)


Leg = MemberLeg | SystemLeg


@dataclass(frozen=True, slots=True)
class Entry:
    kind: str
    memo: str
    legs: tuple[Leg, ...]
    occurred_at: datetime
    member_id: int | None = None
    purchase_id: int | None = None
    refund_id: int | None = None
    actor: str = "system"
    extra: dict[str, str] = field(default_factory=dict)


class UnbalancedEntry(LealtadError):
    http_status = 500
    code = "unbalanced_entry"


def unbalanced_units(amounts: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Units whose amounts do not sum to zero, with their sum; empty when balanced."""
    totals: dict[str, int] = defaultdict(int)
    for unit, amount in amounts:
        totals[unit] += amount
    return {unit: total for unit, total in totals.items() if total != 0}


def check_entry(entry: Entry) -> None:
    if entry.kind not in ENTRY_KINDS:
        raise UnbalancedEntry(f"unknown entry kind {entry.kind!r}")
    if not entry.legs:
        raise UnbalancedEntry("an entry needs at least one leg")
    for leg in entry.legs:
        if leg.amount == 0:
            raise UnbalancedEntry(f"zero leg on {leg.key}")
        if isinstance(leg, MemberLeg) and leg.amount < 0 and (leg.expires_at or leg.unlocks_at):
            raise UnbalancedEntry("a debit cannot carry lot dates")
    off = unbalanced_units((leg.unit, leg.amount) for leg in entry.legs)
    if off:
        raise UnbalancedEntry(f"entry does not balance: {off}")


@dataclass(frozen=True, slots=True)
class OpenLot:
    id: int
    remaining: int
    expires_at: datetime | None
    origin_purchase_id: int | None


def spend_order(lots: Iterable[OpenLot], prefer_purchase_id: int | None = None) -> list[OpenLot]:
    """Soonest-expiring first, lots that never expire last, oldest first among equals; a refund's
    own purchase goes before all of them."""
    far = datetime.max

    def rank(lot: OpenLot) -> tuple[int, datetime, int]:
        own = 0 if prefer_purchase_id and lot.origin_purchase_id == prefer_purchase_id else 1
        return (own, naive_utc(lot.expires_at) if lot.expires_at else far, lot.id)

    return sorted(lots, key=rank)


def allocate(ordered: Sequence[OpenLot], amount: int) -> list[tuple[int, int]]:
    """(lot id, units taken) covering `amount` from lots in the given order."""
    taken: list[tuple[int, int]] = []
    left = amount
    for lot in ordered:
        if left == 0:
            break
        take = min(lot.remaining, left)
        if take > 0:
            taken.append((lot.id, take))
            left -= take
    if left:
        raise InsufficientBalance(
            f"the open lots cover {amount - left} of the {amount} units asked for",
            details={"requested": amount, "available": amount - left},
        )
    return taken
