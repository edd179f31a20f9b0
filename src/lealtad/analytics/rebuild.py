"""Recomputing a business's rollups from its purchases, members, refunds, journal and vouchers:
for data recorded before the rollups existed, after a time-zone change, and as the reference the
incremental writers are tested against. Every member is enrolled first, then purchases are
replayed in the order they occurred (occurred_at, then id), not the order they were recorded:
a history imported newest first gives the same figures as one imported in date order. What
follows (refunds, journal entries, vouchers) folds the same in any order."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from itertools import chain, groupby
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, delete, insert, select

from lealtad.analytics import figures_store, fold, rollups, zone_store
from lealtad.analytics.tables import counters, member_stats
from lealtad.kit.clock import as_utc
from lealtad.ledger.tables import accounts, entries, postings
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases, refunds
from lealtad.rewards.tables import vouchers

_CHUNK = 10_000
Event = tuple[datetime, int, int, Any]  # when, kind rank, id, row


def _stream(conn: Connection, statement: Any, rank: int, at: str) -> Iterator[Event]:
    for row in conn.execute(statement.execution_options(yield_per=_CHUNK)):
        yield getattr(row, at), rank, row.id, row


def _entries(conn: Connection, business_id: int) -> Iterator[Event]:
    system = (
        select(postings.c.entry_id, accounts.c.code, postings.c.unit, postings.c.amount)
        .join(accounts, accounts.c.id == postings.c.account_id)
        .where(postings.c.business_id == business_id, accounts.c.member_id.is_(None))
        .subquery()
    )
    statement = (
        select(
            entries.c.id,
            entries.c.kind,
            entries.c.member_id,
            entries.c.occurred_at,
            entries.c.recorded_at,
            system.c.code,
            system.c.unit,
            system.c.amount,
        )
        .outerjoin(system, system.c.entry_id == entries.c.id)
        .where(entries.c.business_id == business_id)
        .order_by(entries.c.recorded_at, entries.c.id)
    )
    rows = conn.execute(statement.execution_options(yield_per=_CHUNK))
    for _, group in groupby(rows, key=lambda r: r.id):
        legs = list(group)
        first = legs[0]
        first_legs = [(r.code, r.unit, r.amount) for r in legs if r.code is not None]
        yield first.recorded_at, 3, first.id, (first, first_legs)


def events(conn: Connection, business_id: int) -> Iterator[Event]:
    """Every event of the business: the enrolments (a purchase folds into its member's figures,
    which the enrolment makes, even one dated before it), the purchases by when they occurred,
    then refunds, journal entries and vouchers, whose folds do not depend on their order."""
    m = members.c
    p = purchases.c
    enrolled = (
        select(m.id, m.enrolled_at, m.enrolled_location_id, m.enrolled_by_staff_id)
        .where(m.business_id == business_id)
        .order_by(m.enrolled_at, m.id)
    )
    bought = (
        select(p.id, p.member_id, p.location_id, p.staff_id, p.amount, p.occurred_at, p.recorded_at)
        .where(p.business_id == business_id)
        .order_by(p.occurred_at, p.id)
    )
    refunded = (
        select(
            refunds.c.id,
            refunds.c.amount,
            refunds.c.occurred_at,
            refunds.c.recorded_at,
            p.member_id,
            p.location_id,
            p.staff_id,
        )
        .join(purchases, p.id == refunds.c.purchase_id)
        .where(refunds.c.business_id == business_id)
        .order_by(refunds.c.recorded_at, refunds.c.id)
    )
    issued = (
        select(vouchers.c.id, vouchers.c.reward_id, vouchers.c.issued_at)
        .where(vouchers.c.business_id == business_id)
        .order_by(vouchers.c.issued_at, vouchers.c.id)
    )
    return chain(
        _stream(conn, enrolled, 0, "enrolled_at"),
        _stream(conn, bought, 1, "occurred_at"),
        _stream(conn, refunded, 2, "recorded_at"),
        _entries(conn, business_id),
        _stream(conn, issued, 4, "issued_at"),
    )


def figures_until(
    conn: Connection, business_id: int, until: datetime
) -> dict[int, fold.MemberFigures]:
    """Each member's figures as they stood at `until` (naive UTC): their purchases and refunds
    that occurred by then, in the order they occurred. Every member is there, even one enrolled
    later (a history brought in from another system precedes its members' enrolment here).
    For scoring as of a past date (`--as-of`); nothing is written."""
    m, p, r = members.c, purchases.c, refunds.c
    enrolled = (
        select(m.id, m.enrolled_at, m.enrolled_location_id, m.enrolled_by_staff_id)
        .where(m.business_id == business_id)
        .order_by(m.enrolled_at, m.id)
    )
    bought = (
        select(p.id, p.member_id, p.location_id, p.staff_id, p.amount, p.occurred_at)
        .where(p.business_id == business_id, p.member_id.is_not(None), p.occurred_at <= until)
        .order_by(p.occurred_at, p.id)
    )
    refunded = (
        select(r.id, r.amount, r.occurred_at, p.member_id, p.location_id, p.staff_id)
        .join(purchases, p.id == r.purchase_id)
        .where(r.business_id == business_id, p.member_id.is_not(None), r.occurred_at <= until)
        .order_by(r.occurred_at, r.id)
    )
    replay = _Replay(zone_store.zone(conn, business_id))
    for _, rank, _, row in chain(
        _stream(conn, enrolled, 0, "enrolled_at"),
        _stream(conn, bought, 1, "occurred_at"),
        _stream(conn, refunded, 2, "occurred_at"),
    ):
        (replay.enrolment, replay.purchase, replay.refund)[rank](row)
    return replay.figures


class _Replay:
    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz
        self.tally = fold.Tally()
        self.figures: dict[int, fold.MemberFigures] = {}

    def day(self, at: datetime) -> date:
        return as_utc(at).astimezone(self.tz).date()

    def enrolment(self, row: Any) -> None:
        figures = fold.MemberFigures(
            enrolled_on=self.day(row.enrolled_at), location_id=row.enrolled_location_id or 0
        )
        self.figures[row.id] = figures
        fold.enrolment(self.tally, figures, row.enrolled_by_staff_id)

    def purchase(self, row: Any) -> None:
        fold.purchase(
            self.tally,
            self.figures.get(row.member_id) if row.member_id else None,
            at=row.occurred_at,
            day=self.day(row.occurred_at),
            amount=row.amount,
            location_id=row.location_id,
            staff_id=row.staff_id,
        )

    def refund(self, row: Any) -> None:
        fold.refund(
            self.tally,
            self.figures.get(row.member_id) if row.member_id else None,
            day=self.day(row.occurred_at),
            amount=row.amount,
            location_id=row.location_id,
            staff_id=row.staff_id,
        )

    def entry(self, found: tuple[Any, list[tuple[str, str, int]]]) -> None:
        row, legs = found
        day = self.day(row.occurred_at)
        fold.ledger_flows(self.tally, day, legs)
        figures = self.figures.get(row.member_id) if row.member_id else None
        if row.kind == "redeem" and figures is not None:
            fold.first_reward(self.tally, figures, row.occurred_at, day, day_of=self.day)

    def voucher(self, row: Any) -> None:
        fold.redemption(self.tally, self.day(row.issued_at), row.reward_id)


def rebuild(
    conn: Connection,
    business_id: int,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Replaces the business's counters and member figures with ones recomputed from the
    source tables; returns how many events were replayed. Scores (segments, predicted value)
    are cleared too: the next `lealtad analytics refresh` recomputes them."""
    replay = _Replay(zone_store.zone(conn, business_id))
    handlers = (replay.enrolment, replay.purchase, replay.refund, replay.entry, replay.voucher)
    seen = 0
    for _, rank, _, row in events(conn, business_id):
        handlers[rank](row)
        seen += 1
        if progress is not None and seen % _CHUNK == 0:
            progress(_CHUNK)
    if progress is not None:
        progress(seen % _CHUNK)
    conn.execute(delete(counters).where(counters.c.business_id == business_id))
    conn.execute(delete(member_stats).where(member_stats.c.business_id == business_id))
    rollups.flush(conn, business_id, replay.tally)
    _write_figures(conn, business_id, replay.figures)
    return seen


def _write_figures(
    conn: Connection, business_id: int, figures: dict[int, fold.MemberFigures]
) -> None:
    batch: list[dict[str, Any]] = []
    for member_id, found in figures.items():
        batch.append(
            {"member_id": member_id, "business_id": business_id} | figures_store.values_of(found)
        )
        if len(batch) == _CHUNK:
            conn.execute(insert(member_stats), batch)
            batch = []
    if batch:
        conn.execute(insert(member_stats), batch)
