"""The rows of `lealtad export`, read a chunk at a time so a business of any size exports in flat
memory: the journal and purchases through a streamed cursor (yield_per), members a page at a time
through the members store, which decrypts their personal data on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select

from lealtad.db.engine import Database
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger.tables import accounts, entries, postings
from lealtad.members import store as member_store
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.tiers.tables import tier_status

CHUNK = 500
KINDS = ("members", "purchases", "ledger")
Row = list[Any]


def since_utc(day: date | None, timezone: str) -> datetime | None:
    """The start of that day where the business is, as stored (naive UTC)."""
    if day is None:
        return None
    return naive_utc(datetime.combine(day, time(0), tzinfo=ZoneInfo(timezone)))


def _when(value: datetime | None) -> str | None:
    return as_utc(value).isoformat() if value is not None else None


def _streamed(db: Database, query: Select[Any]) -> Iterator[Any]:
    with db.read() as conn:
        yield from conn.execution_options(yield_per=CHUNK).execute(query)


def _balance_codes(db: Database, business_id: int) -> list[str]:
    with db.read() as conn:
        found = conn.execute(
            select(accounts.c.code)
            .where(accounts.c.business_id == business_id, accounts.c.member_id.is_not(None))
            .distinct()
        ).scalars()
        return sorted(found)


def members_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    codes = _balance_codes(db, business_id)
    yield [
        "id", "card_number", "name", "email", "phone", "birthday", "tags", "tier", "status",
        "enrolled_at", *(f"balance_{code}" for code in codes),
    ]  # fmt: skip
    after: int | None = None
    while True:
        # One short read per page: decryption happens in the column types as the page is read.
        with db.read() as conn:
            page = member_store.search(conn, business_id, limit=CHUNK, after=after)
            if not page:
                return
            ids = [row.id for row in page]
            tiers = dict(
                conn.execute(
                    select(tier_status.c.member_id, tier_status.c.tier_id).where(
                        tier_status.c.business_id == business_id,
                        tier_status.c.member_id.in_(ids),
                    )
                ).all()
            )
            balances: dict[tuple[int, str], int] = {
                (r.member_id, r.code): int(r.balance)
                for r in conn.execute(
                    select(accounts.c.member_id, accounts.c.code, accounts.c.balance).where(
                        accounts.c.business_id == business_id, accounts.c.member_id.in_(ids)
                    )
                )
            }
        after = ids[-1]
        for m in page:
            if since is not None and m.enrolled_at < since:
                continue
            yield [
                m.id, m.card_number, m.name, m.email, m.phone,
                m.birthday.isoformat() if m.birthday else None, " ".join(m.tags or []),
                tiers.get(m.id), m.status, _when(m.enrolled_at),
                *(balances.get((m.id, code), 0) for code in codes),
            ]  # fmt: skip


def purchases_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    yield [
        "id", "receipt_id", "member_id", "card_number", "location_id", "amount_minor",
        "currency", "refunded_amount_minor", "occurred_at", "channel",
    ]  # fmt: skip
    query = (
        select(purchases, members.c.card_number)
        .select_from(purchases.outerjoin(members, members.c.id == purchases.c.member_id))
        .where(purchases.c.business_id == business_id)
        .order_by(purchases.c.id)
    )
    if since is not None:
        query = query.where(purchases.c.occurred_at >= since)
    for p in _streamed(db, query):
        yield [
            p.id, p.receipt_id, p.member_id, p.card_number, p.location_id, int(p.amount),
            p.currency, int(p.refunded_amount), _when(p.occurred_at), p.channel,
        ]  # fmt: skip


def ledger_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    """One line per posting with its entry; a member's postings on one account sum to its balance."""
    yield [
        "entry_id", "occurred_at", "kind", "memo", "purchase_id", "account", "member_id",
        "account_code", "unit", "amount",
    ]  # fmt: skip
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
    for r in _streamed(db, query):
        yield [
            r.id, _when(r.occurred_at), r.kind, r.memo, r.purchase_id, r.key, r.member_id,
            r.code, r.unit, int(r.amount),
        ]  # fmt: skip


ROWS = {"members": members_rows, "purchases": purchases_rows, "ledger": ledger_rows}
