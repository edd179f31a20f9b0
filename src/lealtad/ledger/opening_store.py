"""The SQL of opening balances: the entries an import run posted, their lots, and what has
taken units out of those lots since."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, func, select

from lealtad.ledger.tables import accounts, entries, lots, postings

# SQLite's bound-parameter limit, with room to spare.
CHUNK = 500


@dataclass(frozen=True, slots=True)
class OpeningLot:
    id: int
    entry_id: int
    member_id: int
    code: str
    unit: str
    amount: int
    remaining: int


def entries_by(conn: Connection, business_id: int, actor: str, kind: str) -> list[int]:
    """Ids of the entries of one kind that one actor (an import run) posted, oldest first."""
    query = (
        select(entries.c.id)
        .where(
            entries.c.business_id == business_id, entries.c.actor == actor, entries.c.kind == kind
        )
        .order_by(entries.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def lots_of(conn: Connection, business_id: int, entry_ids: Sequence[int]) -> list[OpeningLot]:
    found: list[OpeningLot] = []
    for start in range(0, len(entry_ids), CHUNK):
        query = (
            select(
                lots.c.id,
                lots.c.entry_id,
                accounts.c.member_id,
                accounts.c.code,
                accounts.c.unit,
                lots.c.amount,
                lots.c.remaining,
            )
            .join(accounts, accounts.c.id == lots.c.account_id)
            .where(
                lots.c.business_id == business_id,
                lots.c.entry_id.in_(list(entry_ids[start : start + CHUNK])),
            )
            .order_by(lots.c.id)
        )
        found += [
            OpeningLot(*(row[:3]), str(row[3]), str(row[4]), *row[5:])
            for row in conn.execute(query)
        ]
    return found


def taken_from(
    conn: Connection, business_id: int, lot_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """Per lot, the units taken out of it by each kind of entry (spend, redeem, expire...)."""
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for start in range(0, len(lot_ids), CHUNK):
        query = (
            select(postings.c.lot_id, entries.c.kind, func.sum(postings.c.amount))
            .join(entries, entries.c.id == postings.c.entry_id)
            .where(
                postings.c.business_id == business_id,
                postings.c.lot_id.in_(list(lot_ids[start : start + CHUNK])),
                postings.c.amount < 0,
            )
            .group_by(postings.c.lot_id, entries.c.kind)
        )
        for lot_id, kind, total in conn.execute(query):
            taken[int(lot_id)][str(kind)] = -int(total)
    return dict(taken)
