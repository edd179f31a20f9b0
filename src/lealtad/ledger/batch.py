"""Posting many entries at once: the bulk twin of `ledger.service.post`, for imports and the
API's set-wise batches. Every entry is checked with the ledger's own `check_entry`; accounts are
created once, journal rows, lots and postings go in with executemany, each touched balance and
each lot a debit took from is updated once. A debit takes its lots in memory, in the ledger's
spend order: its caller holds the accounts for the transaction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lealtad.db import setwise
from lealtad.db.plans import filter_only
from lealtad.kit import process_cache
from lealtad.kit.clock import naive_utc
from lealtad.ledger import subscribers
from lealtad.ledger.model import (
    Entry,
    MemberLeg,
    OpenLot,
    SystemLeg,
    allocate,
    check_entry,
    spend_order,
)
from lealtad.ledger.tables import accounts, entries, lots, postings


def account_ids(
    conn: Connection,
    business_id: int,
    wanted: dict[str, tuple[str, str, int | None]],
    now: datetime,
    first_at: dict[str, datetime] | None = None,
) -> dict[str, int]:
    """Ids of the accounts named by key ({key: (code, unit, member id)}), creating the missing
    ones in one statement; safe against a concurrent creator (ON CONFLICT DO NOTHING). A new
    account is dated `now`, or by `first_at` when that names the time of its first entry."""
    # Ids this process has seen committed are not read again (kit/process_cache.py).
    ids = process_cache.known_account_ids(conn, business_id, wanted)
    unknown = [k for k in wanted if k not in ids]
    learned = _existing(conn, business_id, unknown) if unknown else {}
    ids |= learned
    missing = [k for k in wanted if k not in ids]
    if missing:
        dialect_insert: Any = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        rows = [
            dict(
                business_id=business_id,
                key=k,
                code=wanted[k][0],
                unit=wanted[k][1],
                member_id=wanted[k][2],
                balance=0,
                created_at=naive_utc((first_at or {}).get(k, now)),
            )
            for k in missing
        ]
        conn.execute(dialect_insert(accounts).on_conflict_do_nothing(), rows)
        created = _existing(conn, business_id, missing)
        ids |= created
        learned |= created
    process_cache.learned_account_ids(conn, business_id, learned)
    return ids


def _existing(conn: Connection, business_id: int, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(keys), 500):  # SQLite's bound-parameter limit
        chunk = keys[start : start + 500]
        query = select(accounts.c.key, accounts.c.id).where(
            accounts.c.business_id == business_id, accounts.c.key.in_(chunk)
        )
        found.update({k: int(i) for k, i in conn.execute(query)})
    return found


def post_many(
    conn: Connection,
    business_id: int,
    batch: Sequence[Entry],
    now: datetime,
    *,
    posted_at: Sequence[datetime] | None = None,
) -> list[int]:
    """Appends the entries, in order, and returns their ids. Balances, lots, postings and what
    the subscribers write end exactly as if each entry had gone through `ledger.service.post`
    (at `now`, or at its own time in `posted_at`): a debit takes from the account's open lots in
    the ledger's own spend order, lots credited earlier in the batch included, so the caller
    must hold the accounts (the write lock on SQLite, the members' rows on PostgreSQL). A debit
    the lots do not cover raises InsufficientBalance, and the caller's savepoint rolls back."""
    for entry in batch:
        check_entry(entry)
    times = list(posted_at) if posted_at is not None else [now] * len(batch)
    wanted: dict[str, tuple[str, str, int | None]] = {}
    first_at: dict[str, datetime] = {}
    for entry, at in zip(batch, times, strict=True):
        # New accounts in the order `ledger.post` makes them: by entry, in key order within one.
        for leg in sorted(entry.legs, key=lambda leg: leg.key):
            first_at.setdefault(leg.key, at)
            if isinstance(leg, MemberLeg):
                wanted[leg.key] = (leg.code, leg.unit, leg.member_id)
            else:
                wanted[leg.key] = (leg.name, leg.unit, None)
    account = account_ids(conn, business_id, wanted, now, first_at)
    entry_ids = setwise.insert_returning_ids(
        conn,
        entries,
        [
            dict(
                business_id=business_id,
                kind=e.kind,
                memo=e.memo[:500],
                member_id=e.member_id,
                purchase_id=e.purchase_id,
                refund_id=e.refund_id,
                actor=e.actor[:100],
                occurred_at=naive_utc(e.occurred_at),
                recorded_at=naive_utc(at),
            )
            for e, at in zip(batch, times, strict=True)
        ],
    )
    member_legs = [leg for e in batch for leg in e.legs if isinstance(leg, MemberLeg)]
    # Lot ids in the order `ledger.post` would take them, so a debit can name a lot of the batch.
    new_ids = iter(setwise.reserve_ids(conn, lots, sum(1 for leg in member_legs if leg.amount > 0)))
    debited = sorted({account[leg.key] for leg in member_legs if leg.amount < 0})
    spendable = _open_lots(conn, business_id, debited)
    left = {lot.id: lot.remaining for found in spendable.values() for lot in found}
    lot_rows: dict[int, dict[str, Any]] = {}
    taken: defaultdict[int, int] = defaultdict(int)  # units taken from lots already stored
    posting_rows: list[dict[str, Any]] = []
    balance: defaultdict[int, int] = defaultdict(int)
    for entry, entry_id in zip(batch, entry_ids, strict=True):
        # As `ledger.post`: debits first, in account order.
        for leg in sorted(entry.legs, key=lambda leg: (leg.amount > 0, leg.key)):
            account_id = account[leg.key]
            row = dict(
                business_id=business_id,
                entry_id=entry_id,
                account_id=account_id,
                unit=leg.unit,
                amount=leg.amount,
                lot_id=None,
            )
            if isinstance(leg, SystemLeg):
                posting_rows.append(row)
                continue
            balance[account_id] += leg.amount
            if leg.amount > 0:
                lot_id = next(new_ids)
                lot_rows[lot_id] = dict(
                    id=lot_id,
                    business_id=business_id,
                    account_id=account_id,
                    entry_id=entry_id,
                    amount=leg.amount,
                    remaining=leg.amount,
                    expires_at=naive_utc(leg.expires_at) if leg.expires_at else None,
                    unlocks_at=naive_utc(leg.unlocks_at) if leg.unlocks_at else None,
                    origin_purchase_id=leg.origin_purchase_id,
                )
                lot = OpenLot(lot_id, leg.amount, leg.expires_at, leg.origin_purchase_id)
                spendable.setdefault(account_id, []).append(lot)
                left[lot_id] = leg.amount
                posting_rows.append({**row, "lot_id": lot_id})
                continue
            for lot_id, take in allocate(_ordered(spendable, left, account_id, leg), -leg.amount):
                left[lot_id] -= take
                if lot_id in lot_rows:
                    lot_rows[lot_id]["remaining"] -= take
                else:
                    taken[lot_id] += take
                posting_rows.append({**row, "amount": -take, "lot_id": lot_id})
    setwise.insert_many(conn, lots, list(lot_rows.values()))
    setwise.insert_many(conn, postings, posting_rows)
    _take_from_lots(conn, business_id, taken)
    add_to_balances(conn, business_id, balance)
    subscribers.notify(
        conn, business_id, [subscribers.Posted(i, e) for i, e in zip(entry_ids, batch, strict=True)]
    )
    return entry_ids


def _open_lots(
    conn: Connection, business_id: int, account_ids: list[int]
) -> dict[int, list[OpenLot]]:
    """The open lots of these accounts, by account."""
    found: dict[int, list[OpenLot]] = {}
    c = lots.c
    for start in range(0, len(account_ids), 500):
        query = select(c.id, c.account_id, c.remaining, c.expires_at, c.origin_purchase_id).where(
            filter_only(c.business_id) == business_id,
            c.account_id.in_(account_ids[start : start + 500]),
            c.remaining > 0,
        )
        for r in conn.execute(query):
            lot = OpenLot(int(r.id), int(r.remaining), r.expires_at, r.origin_purchase_id)
            found.setdefault(int(r.account_id), []).append(lot)
    return found


def _ordered(
    spendable: dict[int, list[OpenLot]], left: dict[int, int], account_id: int, leg: MemberLeg
) -> list[OpenLot]:
    """The account's lots with units left, in the order `ledger.post` takes them for this leg."""
    open_now = [
        replace(lot, remaining=left[lot.id])
        for lot in spendable.get(account_id, [])
        if left[lot.id] > 0
    ]
    if leg.lot_ids:
        by_id = {lot.id: lot for lot in open_now}
        return [by_id[i] for i in leg.lot_ids if i in by_id]
    return spend_order(open_now, leg.prefer_purchase_id)


def _take_from_lots(conn: Connection, business_id: int, taken: dict[int, int]) -> None:
    """One UPDATE per stored lot a debit of the batch took from, in id order."""
    rows = [
        {"remaining": -units, "business_id": business_id, "id": lot_id}
        for lot_id, units in sorted(taken.items())
    ]
    setwise.update_many(conn, lots, rows, where=("business_id", "id"), add=frozenset({"remaining"}))


def add_to_balances(conn: Connection, business_id: int, deltas: dict[int, int]) -> None:
    """One UPDATE per account however many entries touched it, in id order (lock order)."""
    if not deltas:
        return
    rows = [{"balance": d, "business_id": business_id, "id": a} for a, d in sorted(deltas.items())]
    setwise.update_many(
        conn, accounts, rows, where=("business_id", "id"), add=frozenset({"balance"})
    )
