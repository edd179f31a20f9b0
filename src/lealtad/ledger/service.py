"""Posting to the ledger: the only way units move. Callers build an Entry; `post` checks that it
balances, moves the lots and the balance projection, and appends the journal rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import InsufficientBalance
from lealtad.kit.clock import naive_utc
from lealtad.ledger import store, subscribers
from lealtad.ledger.model import (
    MEMBER_ACCOUNTS,
    Entry,
    MemberLeg,
    SystemLeg,
    allocate,
    check_entry,
    member_account_key,
    spend_order,
)


def member_account(
    conn: Connection, business_id: int, member_id: int, code: str, unit: str, now: datetime
) -> int:
    return store.account_id(
        conn,
        business_id,
        member_account_key(member_id, code),
        code=code,
        unit=unit,
        member_id=member_id,
        now=naive_utc(now),
    )


def open_member_accounts(conn: Connection, business_id: int, member_id: int, now: datetime) -> None:
    for code, unit in MEMBER_ACCOUNTS.items():
        member_account(conn, business_id, member_id, code, unit, now)


def post(conn: Connection, business_id: int, entry: Entry, now: datetime) -> int:
    """Appends a balanced entry, tells the subscribers (ledger.subscribers, named in
    lealtad.wiring) and returns its id. A debit that the balance does not cover raises
    InsufficientBalance and the caller's transaction rolls back whole."""
    check_entry(entry)
    recorded = naive_utc(now)
    entry_id = store.insert_entry(
        conn,
        business_id=business_id,
        kind=entry.kind,
        memo=entry.memo[:500],
        member_id=entry.member_id,
        purchase_id=entry.purchase_id,
        refund_id=entry.refund_id,
        actor=entry.actor[:100],
        occurred_at=naive_utc(entry.occurred_at),
        recorded_at=recorded,
    )
    rows: list[dict[str, Any]] = []
    # Every account of the entry in one read (one per leg was a tenth of a redemption).
    ids = store.account_ids(conn, business_id, _accounts_of(entry), recorded)
    # Debits first, in account order, so that two entries touching the same accounts lock them
    # in the same order and cannot deadlock.
    legs = sorted(entry.legs, key=lambda leg: (leg.amount > 0, leg.key))
    for leg in legs:
        account = ids[leg.key]
        if isinstance(leg, SystemLeg):
            rows.append(_posting(business_id, entry_id, account, leg.unit, leg.amount, None))
        elif leg.amount > 0:
            rows.extend(_credit(conn, business_id, entry_id, account, leg))
        else:
            rows.extend(_debit(conn, business_id, entry_id, account, leg))
    store.insert_postings(conn, rows)
    subscribers.notify(conn, business_id, [subscribers.Posted(entry_id, entry)])
    return entry_id


def _accounts_of(entry: Entry) -> dict[str, tuple[str, str, int | None]]:
    return {
        leg.key: (leg.name, leg.unit, None)
        if isinstance(leg, SystemLeg)
        else (leg.code, leg.unit, leg.member_id)
        for leg in entry.legs
    }


def _posting(
    business_id: int, entry_id: int, account: int, unit: str, amount: int, lot: int | None
) -> dict[str, Any]:
    return dict(
        business_id=business_id,
        entry_id=entry_id,
        account_id=account,
        unit=unit,
        amount=amount,
        lot_id=lot,
    )


def _credit(
    conn: Connection, business_id: int, entry_id: int, account: int, leg: MemberLeg
) -> list[dict[str, Any]]:
    store.add_to_balance(conn, business_id, account, leg.amount)
    lot = store.insert_lot(
        conn,
        business_id=business_id,
        account_id=account,
        entry_id=entry_id,
        amount=leg.amount,
        remaining=leg.amount,
        expires_at=naive_utc(leg.expires_at) if leg.expires_at else None,
        unlocks_at=naive_utc(leg.unlocks_at) if leg.unlocks_at else None,
        origin_purchase_id=leg.origin_purchase_id,
    )
    return [_posting(business_id, entry_id, account, leg.unit, leg.amount, lot)]


def _debit(
    conn: Connection, business_id: int, entry_id: int, account: int, leg: MemberLeg
) -> list[dict[str, Any]]:
    amount = -leg.amount
    if not store.take_from_balance(conn, business_id, account, amount):
        raise InsufficientBalance(
            f"the {leg.code} balance does not cover {amount}",
            details={"account": leg.code, "requested": amount},
        )
    lots = store.open_lots(conn, business_id, account, leg.lot_ids)
    if leg.lot_ids:
        order = {lot_id: i for i, lot_id in enumerate(leg.lot_ids)}
        ordered = sorted(lots, key=lambda lot: order[lot.id])
    else:
        ordered = spend_order(lots, leg.prefer_purchase_id)
    rows = []
    for lot_id, take in allocate(ordered, amount):
        store.take_from_lot(conn, business_id, lot_id, take)
        rows.append(_posting(business_id, entry_id, account, leg.unit, -take, lot_id))
    return rows


def lock_member_balance(
    conn: Connection, business_id: int, member_id: int, code: str, unit: str, now: datetime
) -> int:
    """The balance, with the account locked until commit (PostgreSQL; SQLite's write transaction
    already excludes other writers)."""
    account = member_account(conn, business_id, member_id, code, unit, now)
    return store.lock_balance(conn, business_id, account)


def balances(conn: Connection, business_id: int, member_id: int) -> dict[str, int]:
    return with_every_account(store.member_balances(conn, business_id, member_id))


def balances_of(
    conn: Connection, business_id: int, member_ids: list[int]
) -> dict[int, dict[str, int]]:
    """`balances` for several members in one read (a page of a list)."""
    found = store.balances_of_members(conn, business_id, member_ids)
    return {m: with_every_account(found[m]) for m in member_ids}


def with_every_account(found: dict[str, int]) -> dict[str, int]:
    """A member's balances by account code, the accounts every member has at 0 when not opened."""
    return {code: found.get(code, 0) for code in MEMBER_ACCOUNTS} | found
