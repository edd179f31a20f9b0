"""The journal as `lealtad export ledger` reads it (exports/service.py): every posting with its
entry and account, streamed a chunk at a time so a business of any size exports in flat memory;
and how many entries a rebuild of the analytics rollups replays."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.ledger.tables import accounts, entries, postings


def member_account_codes(conn: Connection, business_id: int) -> list[str]:
    """The codes of the business's member accounts (points, stamps...), sorted: the balance
    columns of the members export."""
    found = conn.execute(
        select(accounts.c.code)
        .where(accounts.c.business_id == business_id, accounts.c.member_id.is_not(None))
        .distinct()
    ).scalars()
    return sorted(found)


def postings_with_entries(
    conn: Connection, business_id: int, since: datetime | None, chunk: int
) -> Iterator[Any]:
    """One row per posting with its entry and account, in entry then posting order; only the
    entries that occurred from `since` on (naive UTC) when given."""
    query = (
        select(
            entries.c.id,
            entries.c.occurred_at,
            entries.c.kind,
            entries.c.memo,
            entries.c.purchase_id,
            accounts.c.key,
            accounts.c.member_id,
            accounts.c.code,
            postings.c.unit,
            postings.c.amount,
        )
        .select_from(
            postings.join(entries, entries.c.id == postings.c.entry_id).join(
                accounts, accounts.c.id == postings.c.account_id
            )
        )
        .where(postings.c.business_id == business_id)
        .order_by(entries.c.id, postings.c.id)
    )
    if since is not None:
        query = query.where(entries.c.occurred_at >= since)
    yield from conn.execution_options(yield_per=chunk).execute(query)


def entry_count(conn: Connection, business_id: int) -> int:
    query = select(func.count()).where(entries.c.business_id == business_id)
    return int(conn.execute(query).scalar_one())
