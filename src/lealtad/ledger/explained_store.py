"""The ledger's SQL for a member's explained ledger (explained.py): which entries moved the
member's accounts, a page at a time, those entries, and what each moved."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.ledger.tables import accounts, entries, postings


def page_ids(
    conn: Connection, business_id: int, member_id: int, before: int | None, limit: int
) -> list[int]:
    """The ids of a page of the member's entries, newest first, one more than `limit` if any."""
    # Every entry that moved one of the member's accounts: a refund recorded against the buyer
    # can also take back what the purchase gave the buyer's referrer.
    query = (
        select(postings.c.entry_id)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(
            accounts.c.business_id == business_id,
            accounts.c.member_id == member_id,
            postings.c.business_id == business_id,
        )
        .distinct()
    )
    if before is not None:
        query = query.where(postings.c.entry_id < before)
    found = conn.execute(query.order_by(postings.c.entry_id.desc()).limit(limit + 1))
    return [int(i) for i in found.scalars()]


def entries_by_id(conn: Connection, business_id: int, ids: list[int]) -> dict[int, Any]:
    return {
        r.id: r
        for r in conn.execute(
            select(entries).where(entries.c.business_id == business_id, entries.c.id.in_(ids))
        )
    }


def moved_since(conn: Connection, business_id: int, member_id: int, first: int) -> list[Any]:
    """What each entry from `first` on moved on each of the member's accounts (entry id, code,
    amount)."""
    query = (
        select(postings.c.entry_id, accounts.c.code, func.sum(postings.c.amount).label("amount"))
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(
            accounts.c.business_id == business_id,
            accounts.c.member_id == member_id,
            postings.c.business_id == business_id,
            postings.c.entry_id >= first,
        )
        .group_by(postings.c.entry_id, accounts.c.code)
    )
    return list(conn.execute(query))
