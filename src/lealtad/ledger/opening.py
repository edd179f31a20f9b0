"""Opening balances: units a member already held in the system a business moved from, brought in
as journal entries against the "migrated" system account, and the undoing of a whole import.

An opening entry is an ordinary balanced entry: each lot it makes carries its own expiry, the
entry's `occurred_at` is when the units were earned, and `ledger settle` expires the lots as it
expires any other. Undoing posts compensating entries, never deletes: the journal stays
append-only. Units of an opening lot that something has since spent cannot be taken back, so
the undo refuses; units that expired are taken back from the "expired" account with the rest."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from lealtad.errors import Conflict, InsufficientBalance
from lealtad.ledger import opening_store, service
from lealtad.ledger.model import Entry, Leg, MemberLeg, SystemLeg

MIGRATED = "migrated"
OPENING = "opening"
OPENING_UNDO = "opening_undo"
# Taking units of an opening lot back from the "expired" account is safe: nothing was given for
# them. Any other entry that took from the lot paid for something.
TAKEN_BACK = frozenset({"expire"})


@dataclass(frozen=True, slots=True)
class Opening:
    """Units of one member account brought in as one lot."""

    code: str
    unit: str
    amount: int
    expires_at: datetime | None = None


class OpeningUsed(Conflict):
    code = "opening_balance_used"


def opening_entry(
    member_id: int, openings: Sequence[Opening], *, earned_at: datetime, actor: str, memo: str
) -> Entry:
    legs: list[Leg] = [
        MemberLeg(member_id, o.code, o.unit, o.amount, expires_at=o.expires_at) for o in openings
    ]
    per_unit: dict[str, int] = defaultdict(int)
    for o in openings:
        per_unit[o.unit] += o.amount
    legs += [SystemLeg(MIGRATED, unit, -amount) for unit, amount in sorted(per_unit.items())]
    return Entry(
        kind=OPENING,
        memo=memo,
        legs=tuple(legs),
        occurred_at=earned_at,
        member_id=member_id,
        actor=actor,
    )


def post_opening(conn: Connection, business_id: int, entry: Entry, now: datetime) -> int:
    return service.post(conn, business_id, entry, now)


def undo(conn: Connection, business_id: int, actor: str, *, by: str, now: datetime) -> int:
    """Reverses every opening entry `actor` (an import run) posted; the number of entries
    reversed. OpeningUsed, with nothing written, when units of them were spent since."""
    entry_ids = opening_store.entries_by(conn, business_id, actor, OPENING)
    lots = opening_store.lots_of(conn, business_id, entry_ids)
    short = [lot.id for lot in lots if lot.remaining < lot.amount]
    taken = opening_store.taken_from(conn, business_id, short) if short else {}
    used = [
        (lot, {k: v for k, v in taken.get(lot.id, {}).items() if k not in TAKEN_BACK})
        for lot in lots
        if lot.id in taken
    ]
    used = [(lot, kinds) for lot, kinds in used if kinds]
    if used:
        raise OpeningUsed(_used_message(used), details=_used_details(used))
    by_entry: dict[int, list[opening_store.OpeningLot]] = defaultdict(list)
    for lot in lots:
        by_entry[lot.entry_id].append(lot)
    for entry_id, its_lots in by_entry.items():
        entry = Entry(
            kind=OPENING_UNDO,
            memo=f"opening balance of entry {entry_id} undone",
            legs=tuple(leg for lot in its_lots for leg in _reversal(lot)),
            occurred_at=now,
            member_id=its_lots[0].member_id,
            actor=by,
        )
        try:
            service.post(conn, business_id, entry, now)
        except InsufficientBalance:
            # Spent between the check and the lock (another process): the same refusal.
            raise OpeningUsed(
                f"units of entry {entry_id} were spent while undoing; nothing was undone",
                details={"entry_id": entry_id},
            ) from None
    return len(by_entry)


def _reversal(lot: opening_store.OpeningLot) -> list[Leg]:
    legs: list[Leg] = [SystemLeg(MIGRATED, lot.unit, lot.amount)]
    if lot.remaining:
        legs.append(MemberLeg(lot.member_id, lot.code, lot.unit, -lot.remaining, lot_ids=(lot.id,)))
    if lot.amount > lot.remaining:
        legs.append(SystemLeg("expired", lot.unit, lot.remaining - lot.amount))
    return legs


def _used_message(used: list[tuple[opening_store.OpeningLot, dict[str, int]]]) -> str:
    members = sorted({lot.member_id for lot, _ in used})
    shown = "; ".join(
        f"member {lot.member_id}: {sum(kinds.values())} of {lot.amount} {lot.unit} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})"
        for lot, kinds in used[:5]
    )
    more = f" and {len(used) - 5} more" if len(used) > 5 else ""
    return (
        f"{len(members)} member(s) already used migrated balances, so the import cannot be "
        f"undone (nothing was undone): {shown}{more} / hay socios que ya usaron saldos migrados: "
        "la importación no se puede deshacer (no se ha deshecho nada)"
    )


def _used_details(
    used: list[tuple[opening_store.OpeningLot, dict[str, int]]],
) -> list[dict[str, object]]:
    return [
        {"member_id": lot.member_id, "unit": lot.unit, "amount": lot.amount, "taken": kinds}
        for lot, kinds in used[:100]
    ]
