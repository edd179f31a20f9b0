"""What a business holds, in business terms (no ids, no timestamps), to compare two databases:
members by enrolment order, their balances, the journal's totals, the purchases recorded."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.db.engine import Database
from lealtad.ledger import service as ledger
from lealtad.ledger.tables import accounts, entries, lots, postings
from lealtad.ledger.verify import verify
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases


def business_state(conn: Connection, business_id: int) -> dict[str, Any]:
    ids = conn.scalars(
        select(members.c.id).where(members.c.business_id == business_id).order_by(members.c.id)
    ).all()
    rank = {member_id: n for n, member_id in enumerate(ids)}
    sales = conn.execute(
        select(purchases.c.receipt_id, purchases.c.amount, purchases.c.member_id).where(
            purchases.c.business_id == business_id
        )
    ).all()
    totals = conn.execute(
        select(accounts.c.code, postings.c.unit, func.sum(postings.c.amount), func.count())
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.business_id == business_id)
        .group_by(accounts.c.code, postings.c.unit)
    ).all()
    kinds = conn.execute(
        select(entries.c.kind, func.count())
        .where(entries.c.business_id == business_id)
        .group_by(entries.c.kind)
    ).all()
    lot_totals = conn.execute(
        select(func.count(), func.sum(lots.c.amount), func.sum(lots.c.remaining)).where(
            lots.c.business_id == business_id
        )
    ).one()
    return {
        "members": len(ids),
        "balances": [ledger.balances(conn, business_id, m) for m in ids],
        "purchases": sorted((r, a, rank.get(m) if m else None) for r, a, m in sales),
        "postings": sorted((c, u, int(s), n) for c, u, s, n in totals),
        "entries": sorted((k, n) for k, n in kinds),
        "lots": tuple(int(v or 0) for v in lot_totals),
    }


def state_of(db: Database, business_id: int) -> dict[str, Any]:
    with db.read() as conn:
        assert verify(conn, business_id) == [], "the ledger verifies"
        return business_state(conn, business_id)


def card_numbers(db: Database, business_id: int) -> list[str]:
    """The business's card numbers in enrolment order."""
    with db.read() as conn:
        return list(
            conn.scalars(
                select(members.c.card_number)
                .where(members.c.business_id == business_id)
                .order_by(members.c.id)
            )
        )


def purchases_csv(path: Path, cards: list[str], count: int, *, bad_every: int = 0) -> Path:
    """`count` purchases spread over the cards (by position, so two databases whose members
    have different card numbers get the same file in business terms); every `bad_every`-th row
    is broken in one of a few ways."""
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["receipt_id", "amount", "card_number", "occurred_at"])
        for n in range(1, count + 1):
            row = [f"R-{n:06d}", str(100 + (n * 37) % 5000), cards[n % len(cards)], ""]
            row[3] = f"2026-02-{1 + n % 28:02d}T12:00:00Z"
            if bad_every and n % bad_every == 0:
                broken = (n // bad_every - 1) % 3
                if broken == 0:
                    row[1] = "12.50"
                elif broken == 1:
                    row[2] = "0000000000"
                else:
                    row[3] = "not a date"
            out.writerow(row)
    return path
