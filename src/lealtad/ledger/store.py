"""All SQL of the ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, func, insert, or_, select, update

from lealtad.db.inserts import insert_new
from lealtad.db.plans import filter_only
from lealtad.kit import process_cache
from lealtad.ledger.model import OpenLot
from lealtad.ledger.tables import accounts, entries, lots, postings

# Statements of the purchase path, built once: SQLAlchemy then reuses their cache key and
# compiled form instead of building and hashing a new statement on every call (profile, P1).
_ACCOUNT_ID = select(accounts.c.id).where(
    accounts.c.business_id == bindparam("b"), accounts.c.key == bindparam("k")
)
_ACCOUNT_IDS = select(accounts.c.key, accounts.c.id).where(
    accounts.c.business_id == bindparam("b"), accounts.c.key.in_(bindparam("keys", expanding=True))
)
_ADD_TO_BALANCE = (
    update(accounts)
    .where(accounts.c.business_id == bindparam("b"), accounts.c.id == bindparam("a"))
    .values(balance=accounts.c.balance + bindparam("amount"))
)
_TAKE_FROM_BALANCE = (
    update(accounts)
    .where(
        accounts.c.business_id == bindparam("b"),
        accounts.c.id == bindparam("a"),
        accounts.c.balance >= bindparam("amount"),
    )
    .values(balance=accounts.c.balance - bindparam("amount"))
)
_LOCK_BALANCE = (
    select(accounts.c.balance)
    .where(accounts.c.business_id == bindparam("b"), accounts.c.id == bindparam("a"))
    .with_for_update()
)
_OPEN_LOTS = select(
    lots.c.id, lots.c.remaining, lots.c.expires_at, lots.c.origin_purchase_id
).where(
    lots.c.business_id == bindparam("b"), lots.c.account_id == bindparam("a"), lots.c.remaining > 0
)
_OPEN_LOTS_OF = _OPEN_LOTS.where(lots.c.id.in_(bindparam("ids", expanding=True)))
_TAKE_FROM_LOT = (
    update(lots)
    .where(lots.c.business_id == bindparam("b"), lots.c.id == bindparam("l"))
    .values(remaining=lots.c.remaining - bindparam("take"))
)
_INSERT_POSTINGS = insert(postings)
_INSERT_ENTRY = insert(entries).returning(entries.c.id)
_INSERT_LOT = insert(lots).returning(lots.c.id)
_MEMBER_BALANCES = select(accounts.c.code, accounts.c.balance).where(
    accounts.c.business_id == bindparam("b"), accounts.c.member_id == bindparam("m")
)


def account_id(
    conn: Connection,
    business_id: int,
    key: str,
    *,
    code: str,
    unit: str,
    member_id: int | None,
    now: datetime,
) -> int:
    """The id of an account, created on first use; safe when two writers create it at once."""
    known = process_cache.known_account_ids(conn, business_id, (key,))
    if known:
        return known[key]
    found = _account_id(conn, business_id, key, code, unit, member_id, now)
    process_cache.learned_account_ids(conn, business_id, {key: found})
    return found


def _account_id(
    conn: Connection,
    business_id: int,
    key: str,
    code: str,
    unit: str,
    member_id: int | None,
    now: datetime,
) -> int:
    found = conn.execute(_ACCOUNT_ID, {"b": business_id, "k": key}).scalar()
    if found is not None:
        return int(found)
    values = dict(
        business_id=business_id,
        key=key,
        code=code,
        unit=unit,
        member_id=member_id,
        balance=0,
        created_at=now,
    )
    created = insert_new(conn, accounts, **values)
    if created is not None:
        return int(created)
    return int(conn.execute(_ACCOUNT_ID, {"b": business_id, "k": key}).scalar_one())


def account_ids(
    conn: Connection,
    business_id: int,
    wanted: dict[str, tuple[str, str, int | None]],
    now: datetime,
) -> dict[str, int]:
    """The ids of several accounts, by key (values: code, unit, member id), in one read; those
    that do not exist yet are created, in key order, as `account_id` does. Ids this process has
    seen committed are not read again (kit/process_cache.py)."""
    found = process_cache.known_account_ids(conn, business_id, wanted)
    missing = [key for key in wanted if key not in found]
    if not missing:
        return found
    learned = {
        str(key): int(id_)
        for key, id_ in conn.execute(_ACCOUNT_IDS, {"b": business_id, "keys": missing})
    }
    for key in sorted(set(missing) - learned.keys()):
        code, unit, member_id = wanted[key]
        learned[key] = _account_id(conn, business_id, key, code, unit, member_id, now)
    process_cache.learned_account_ids(conn, business_id, learned)
    found.update(learned)
    return found


def add_to_balance(conn: Connection, business_id: int, account: int, amount: int) -> None:
    conn.execute(_ADD_TO_BALANCE, {"b": business_id, "a": account, "amount": amount})


def take_from_balance(conn: Connection, business_id: int, account: int, amount: int) -> bool:
    """Takes `amount` only if the balance covers it. The check and the write are one statement,
    so two spenders can never both pass the check; on PostgreSQL it also locks the account row
    for the rest of the transaction, which serialises every lot change of that account."""
    result = conn.execute(_TAKE_FROM_BALANCE, {"b": business_id, "a": account, "amount": amount})
    return result.rowcount == 1


def lock_balance(conn: Connection, business_id: int, account: int) -> int:
    return int(conn.execute(_LOCK_BALANCE, {"b": business_id, "a": account}).scalar_one())


def insert_entry(conn: Connection, **values: Any) -> int:
    return int(conn.execute(_INSERT_ENTRY, values).scalar_one())


def insert_lot(conn: Connection, **values: Any) -> int:
    return int(conn.execute(_INSERT_LOT, values).scalar_one())


def insert_postings(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_POSTINGS, list(rows))


def open_lots(
    conn: Connection, business_id: int, account: int, lot_ids: Sequence[int] = ()
) -> list[OpenLot]:
    params: dict[str, Any] = {"b": business_id, "a": account}
    if lot_ids:
        params["ids"] = list(lot_ids)
    found = conn.execute(_OPEN_LOTS_OF if lot_ids else _OPEN_LOTS, params)
    return [OpenLot(r.id, r.remaining, r.expires_at, r.origin_purchase_id) for r in found]


def lot_remaining(conn: Connection, business_id: int, lot: int) -> int:
    query = select(lots.c.remaining).where(lots.c.business_id == business_id, lots.c.id == lot)
    return int(conn.execute(query).scalar_one())


def take_from_lot(conn: Connection, business_id: int, lot: int, amount: int) -> None:
    conn.execute(_TAKE_FROM_LOT, {"b": business_id, "l": lot, "take": amount})


def member_balances(conn: Connection, business_id: int, member_id: int) -> dict[str, int]:
    rows = conn.execute(_MEMBER_BALANCES, {"b": business_id, "m": member_id})
    return {r.code: int(r.balance) for r in rows}


def due_lots(
    conn: Connection,
    business_id: int,
    now: datetime,
    *,
    column: str,
    limit: int,
    member_id: int | None = None,
) -> list[Any]:
    """Open member lots whose unlock or expiry date has come, with their account."""
    col = lots.c[column]
    query = (
        select(
            lots.c.id,
            lots.c.remaining,
            lots.c.expires_at,
            lots.c.unlocks_at,
            lots.c.origin_purchase_id,
            accounts.c.member_id,
            accounts.c.code,
            accounts.c.unit,
        )
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(
            lots.c.business_id == business_id,
            lots.c.remaining > 0,
            col.is_not(None),
            col <= now,
        )
        .order_by(col, lots.c.id)
        .limit(limit)
    )
    if member_id is not None:
        query = query.where(accounts.c.member_id == member_id)
    return list(conn.execute(query))


_DUE_MEMBER_LOTS = (
    select(
        lots.c.id,
        lots.c.remaining,
        lots.c.expires_at,
        lots.c.unlocks_at,
        lots.c.origin_purchase_id,
        accounts.c.member_id,
        accounts.c.code,
        accounts.c.unit,
    )
    .join(accounts, accounts.c.id == lots.c.account_id)
    .where(
        filter_only(accounts.c.business_id) == bindparam("b"),
        accounts.c.member_id.in_(bindparam("m", expanding=True)),
        lots.c.remaining > 0,
        or_(lots.c.unlocks_at <= bindparam("now"), lots.c.expires_at <= bindparam("now")),
    )
)


def due_member_lots(conn: Connection, business_id: int, member_id: int, now: datetime) -> list[Any]:
    """One member's open lots that are due to unlock or to expire, in one read through the
    member's accounts (the business-wide date indexes would also walk every spent lot)."""
    return list(conn.execute(_DUE_MEMBER_LOTS, {"b": business_id, "m": [member_id], "now": now}))


def members_with_due_lots(
    conn: Connection, business_id: int, member_ids: list[int], now: datetime
) -> set[int]:
    """Which of these members have a lot due to unlock or to expire by `now`."""
    if not member_ids:
        return set()
    found = conn.execute(_DUE_MEMBER_LOTS, {"b": business_id, "m": member_ids, "now": now})
    return {int(row.member_id) for row in found}


def member_history(
    conn: Connection, business_id: int, member_id: int, *, limit: int, before: int | None
) -> list[Any]:
    """A page of the member's entries, newest first, with the net change per member account."""
    page = select(entries.c.id).where(
        entries.c.business_id == business_id, entries.c.member_id == member_id
    )
    if before is not None:
        page = page.where(entries.c.id < before)
    ids = list(conn.execute(page.order_by(entries.c.id.desc()).limit(limit)).scalars())
    if not ids:
        return []
    query = (
        select(
            entries.c.id,
            entries.c.kind,
            entries.c.memo,
            entries.c.purchase_id,
            entries.c.refund_id,
            entries.c.actor,
            entries.c.occurred_at,
            entries.c.recorded_at,
            accounts.c.code,
            func.sum(postings.c.amount).label("amount"),
        )
        .join(postings, postings.c.entry_id == entries.c.id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(
            entries.c.business_id == business_id,
            entries.c.id.in_(ids),
            accounts.c.member_id == member_id,
        )
        .group_by(entries.c.id, accounts.c.code)
        .order_by(entries.c.id.desc(), accounts.c.code)
    )
    return list(conn.execute(query))


def purchase_awards(conn: Connection, business_id: int, purchase_id: int) -> list[Any]:
    """Net units each member account received from a purchase's earn entries."""
    query = (
        select(accounts.c.member_id, accounts.c.code, accounts.c.unit, func.sum(postings.c.amount))
        .join(postings, postings.c.account_id == accounts.c.id)
        .join(entries, entries.c.id == postings.c.entry_id)
        .where(
            entries.c.business_id == business_id,
            entries.c.purchase_id == purchase_id,
            entries.c.kind == "earn",
            accounts.c.member_id.is_not(None),
        )
        .group_by(accounts.c.member_id, accounts.c.code, accounts.c.unit)
    )
    return list(conn.execute(query))


def next_expiry(
    conn: Connection, business_id: int, member_id: int, code: str
) -> tuple[datetime, int] | None:
    """The soonest expiry date among the member's open lots, and how much expires then."""
    soonest = (
        select(func.min(lots.c.expires_at))
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(
            accounts.c.business_id == business_id,
            accounts.c.member_id == member_id,
            accounts.c.code == code,
            lots.c.remaining > 0,
        )
    ).scalar_subquery()
    row = conn.execute(
        select(lots.c.expires_at, func.sum(lots.c.remaining))
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(
            accounts.c.business_id == business_id,
            accounts.c.member_id == member_id,
            accounts.c.code == code,
            lots.c.remaining > 0,
            lots.c.expires_at == soonest,
        )
        .group_by(lots.c.expires_at)
    ).first()
    return (row[0], int(row[1])) if row else None


def balances_of_members(
    conn: Connection, business_id: int, member_ids: list[int]
) -> dict[int, dict[str, int]]:
    """Every account balance of these members: {member id: {code: balance}}."""
    found: dict[int, dict[str, int]] = {m: {} for m in member_ids}
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), 500):
        chunk = unique[start : start + 500]
        query = select(accounts.c.member_id, accounts.c.code, accounts.c.balance).where(
            filter_only(accounts.c.business_id) == business_id, accounts.c.member_id.in_(chunk)
        )
        for member_id, code, balance in conn.execute(query):
            found[int(member_id)][code] = int(balance)
    return found


def points_expiring_between(
    conn: Connection, business_id: int, after: datetime, until: datetime
) -> list[Any]:
    """(member id, soonest expiry, points) of the members whose points lots, not yet used up,
    expire after `after` and by `until` (naive UTC)."""
    return list(
        conn.execute(
            select(accounts.c.member_id, func.min(lots.c.expires_at), func.sum(lots.c.remaining))
            .join(accounts, accounts.c.id == lots.c.account_id)
            .where(
                lots.c.business_id == business_id,
                accounts.c.code == "points",
                lots.c.remaining > 0,
                lots.c.expires_at.is_not(None),
                lots.c.expires_at > after,
                lots.c.expires_at <= until,
            )
            .group_by(accounts.c.member_id)
        ).all()
    )


def member_account(business_id: int, member_id: Any, code: str, name: str) -> tuple[Any, Any]:
    """An account of each member of a list that outer-joins it: the accounts table under
    `name` and its ON clause on the list's member id column."""
    account = accounts.alias(name)
    on = and_(
        account.c.business_id == business_id,
        account.c.member_id == member_id,
        account.c.code == code,
    )
    return account, on
