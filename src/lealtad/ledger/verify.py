"""`lealtad ledger verify`: recompute every balance and lot from the journal, name what differs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Select, func, select

from lealtad.ledger.tables import accounts, entries, lots, postings


@dataclass(frozen=True)
class Mismatch:
    business_id: int
    account: str
    problem: str

    def __str__(self) -> str:
        return f"business {self.business_id} account {self.account}: {self.problem}"


def verify(conn: Connection, business_id: int | None = None) -> list[Mismatch]:
    found: list[Mismatch] = []
    found += _unbalanced_entries(conn, business_id)
    found += _empty_entries(conn, business_id)
    found += _account_balances(conn, business_id)
    found += _lot_remainders(conn, business_id)
    return found


def _scoped(query: Select[Any], column: Any, business_id: int | None) -> Select[Any]:
    return query if business_id is None else query.where(column == business_id)


def _unbalanced_entries(conn: Connection, business_id: int | None) -> list[Mismatch]:
    query = _scoped(
        select(
            postings.c.business_id,
            postings.c.entry_id,
            postings.c.unit,
            func.sum(postings.c.amount),
        )
        .group_by(postings.c.business_id, postings.c.entry_id, postings.c.unit)
        .having(func.sum(postings.c.amount) != 0),
        postings.c.business_id,
        business_id,
    )
    return [
        Mismatch(b, f"entry {e}", f"{unit} postings sum to {total}, not 0")
        for b, e, unit, total in conn.execute(query)
    ]


def _empty_entries(conn: Connection, business_id: int | None) -> list[Mismatch]:
    query = _scoped(
        select(entries.c.business_id, entries.c.id).where(
            ~select(postings.c.id).where(postings.c.entry_id == entries.c.id).exists()
        ),
        entries.c.business_id,
        business_id,
    )
    return [Mismatch(b, f"entry {e}", "has no postings") for b, e in conn.execute(query)]


def _account_balances(conn: Connection, business_id: int | None) -> list[Mismatch]:
    posted = (
        select(postings.c.account_id, func.sum(postings.c.amount).label("total"))
        .group_by(postings.c.account_id)
        .subquery()
    )
    query = _scoped(
        select(accounts.c.business_id, accounts.c.key, accounts.c.balance, posted.c.total)
        .outerjoin(posted, posted.c.account_id == accounts.c.id)
        .where(accounts.c.member_id.is_not(None)),
        accounts.c.business_id,
        business_id,
    )
    found = []
    for b, key, balance, total in conn.execute(query):
        total = int(total or 0)
        if balance != total:
            found.append(Mismatch(b, key, f"stored balance {balance} but postings sum to {total}"))
        if total < 0:
            found.append(Mismatch(b, key, f"negative balance {total}"))
    return found


def _lot_remainders(conn: Connection, business_id: int | None) -> list[Mismatch]:
    posted = (
        select(postings.c.lot_id, func.sum(postings.c.amount).label("total"))
        .where(postings.c.lot_id.is_not(None))
        .group_by(postings.c.lot_id)
        .subquery()
    )
    query = _scoped(
        select(
            lots.c.business_id,
            lots.c.id,
            accounts.c.key,
            lots.c.amount,
            lots.c.remaining,
            posted.c.total,
        )
        .join(accounts, accounts.c.id == lots.c.account_id)
        .outerjoin(posted, posted.c.lot_id == lots.c.id),
        lots.c.business_id,
        business_id,
    )
    found = []
    open_by_account: dict[tuple[int, str], int] = {}
    for b, lot_id, key, amount, remaining, total in conn.execute(query):
        total = int(total or 0)
        if remaining != total or not 0 <= remaining <= amount:
            found.append(
                Mismatch(
                    b, key, f"lot {lot_id} remaining {remaining} but its postings sum to {total}"
                )
            )
        open_by_account[(b, key)] = open_by_account.get((b, key), 0) + total
    balances = _scoped(
        select(accounts.c.business_id, accounts.c.key, accounts.c.balance).where(
            accounts.c.member_id.is_not(None)
        ),
        accounts.c.business_id,
        business_id,
    )
    for b, key, balance in conn.execute(balances):
        in_lots = open_by_account.get((b, key), 0)
        if in_lots != balance:
            found.append(Mismatch(b, key, f"balance {balance} but its lots hold {in_lots}"))
    return found
