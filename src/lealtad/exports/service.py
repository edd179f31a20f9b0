"""The rows of `lealtad export`, read a chunk at a time so a business of any size exports in flat
memory: the journal and purchases through a streamed cursor (yield_per) of their stores, members
a page at a time through the members store, which decrypts their personal data on the way out."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from lealtad.db.engine import Database
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import export_store as ledger_export
from lealtad.ledger import store as ledger_store
from lealtad.members import store as member_store
from lealtad.purchases import export_store as purchase_export
from lealtad.tiers import service as tier_service

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


def _chunks(rows: Iterator[Any]) -> Iterator[list[Any]]:
    while chunk := list(islice(rows, CHUNK)):
        yield chunk


def members_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    with db.read() as conn:
        codes = ledger_export.member_account_codes(conn, business_id)
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
            tiers = tier_service.current_of(conn, business_id, ids)
            balances = ledger_store.balances_of_members(conn, business_id, ids)
        after = ids[-1]
        for m in page:
            if since is not None and m.enrolled_at < since:
                continue
            yield [
                m.id, m.card_number, m.name, m.email, m.phone,
                m.birthday.isoformat() if m.birthday else None, " ".join(m.tags or []),
                tiers.get(m.id), m.status, _when(m.enrolled_at),
                *(balances[m.id].get(code, 0) for code in codes),
            ]  # fmt: skip


def purchases_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    yield [
        "id", "receipt_id", "member_id", "card_number", "location_id", "amount_minor",
        "currency", "refunded_amount_minor", "occurred_at", "channel",
    ]  # fmt: skip
    with db.read() as conn:
        for chunk in _chunks(purchase_export.purchases_in_order(conn, business_id, since, CHUNK)):
            # The card numbers a chunk at a time, from the members' store.
            holders = {p.member_id for p in chunk if p.member_id is not None}
            cards = member_store.members_by_ids(conn, business_id, sorted(holders))
            for p in chunk:
                card = cards[p.member_id].card_number if p.member_id in cards else None
                yield [
                    p.id, p.receipt_id, p.member_id, card, p.location_id, int(p.amount),
                    p.currency, int(p.refunded_amount), _when(p.occurred_at), p.channel,
                ]  # fmt: skip


def ledger_rows(db: Database, business_id: int, since: datetime | None) -> Iterator[Row]:
    """One line per posting with its entry; a member's postings on one account sum to its balance."""
    yield [
        "entry_id", "occurred_at", "kind", "memo", "purchase_id", "account", "member_id",
        "account_code", "unit", "amount",
    ]  # fmt: skip
    with db.read() as conn:
        for r in ledger_export.postings_with_entries(conn, business_id, since, CHUNK):
            yield [
                r.id, _when(r.occurred_at), r.kind, r.memo, r.purchase_id, r.key, r.member_id,
                r.code, r.unit, int(r.amount),
            ]  # fmt: skip


ROWS = {"members": members_rows, "purchases": purchases_rows, "ledger": ledger_rows}
