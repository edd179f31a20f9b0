"""Writing many already-validated and already-planned purchases at once: the set-wise writer of
the one earn path for batches (`purchases.planned`, for the API's group-commit batches and the
import alike), whose plans are those `purchases.service.record` makes (`rules.planner.plan_earn`
on the same facts and state). What differs is only how it is written: executemany for
purchases, journal, lots, postings and awards, one balance update per account, the rollups
summed and written once; and the reads a batch makes of its members (visits, tiers, segments).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import figures_store, fold, rollups, zone_store
from lealtad.kit.clock import naive_utc
from lealtad.ledger import batch as ledger_batch
from lealtad.ledger.model import Entry
from lealtad.purchases import store
from lealtad.purchases.schemas import PurchaseIn
from lealtad.rules import earn_store, planner
from lealtad.rules import store as rule_store
from lealtad.rules.planner import EarnPlan
from lealtad.rules.program import Program


@dataclass(frozen=True, slots=True)
class Sale:
    """A row that passed every check the service makes: currency, date, location, member."""

    data: PurchaseIn
    at: datetime
    location: Any | None
    member: Any | None  # needs .id, .tags
    program: Program | None  # None only for a sale without a member
    # A sale of the API's set-wise batch keeps its own request's time and seller (an import's
    # rows share the run's, given to `record_many`).
    now: datetime | None = None
    staff_id: int | None = None


def record_many(
    conn: Connection,
    business: Any,
    sales: Sequence[Sale],
    *,
    staff_id: int | None,
    now: datetime,
    planned: Sequence[EarnPlan | None],
) -> list[int]:
    """Records the sales in order and posts what each earns; returns the purchase ids.
    `planned`: each sale's plan, made before its purchase had an id by the one earn path for
    batches (purchases/planned.py, which threads each member's state from sale to sale)."""
    bid = business.id
    member_ids = [s.member.id for s in sales if s.member is not None]
    figures = figures_store.load_many(conn, bid, sorted(set(member_ids)))
    recorded = [naive_utc(s.now or now) for s in sales]
    sellers = [staff_id if s.staff_id is None else s.staff_id for s in sales]
    # Each sale's time in the stored form, once: the purchase, its entry and its awards use it.
    ats = [naive_utc(s.at) for s in sales]
    ids = store.insert_purchases(
        conn,
        [
            dict(
                business_id=bid,
                receipt_id=s.data.receipt_id,
                member_id=s.member.id if s.member is not None else None,
                location_id=s.location.id if s.location is not None else None,
                staff_id=seller,
                channel=s.data.channel,
                amount=s.data.amount,
                currency=s.data.currency.upper(),
                items=[item.model_dump(mode="json") for item in s.data.items],
                refunded_amount=0,
                occurred_at=at,
                recorded_at=when,
            )
            for s, at, when, seller in zip(sales, ats, recorded, sellers, strict=True)
        ],
    )
    tally = fold.Tally()
    earned: list[Entry] = []
    posted_at: list[datetime] = []  # each entry's own request time
    # The award rows of each earn entry, with the entry's place in `earned`.
    award_rows: list[tuple[int, list[dict[str, Any]]]] = []
    # The dashboard's days in the business's zone, as `zone_store.local_day` gives them.
    zone = zone_store.zone(conn, bid)
    batch = _Batch(sales, ids)
    for index, (sale, purchase_id, at) in enumerate(zip(sales, ids, ats, strict=True)):
        member_id = sale.member.id if sale.member is not None else None
        fold.purchase(
            tally,
            figures[member_id] if member_id is not None else None,
            at=at,
            day=at.replace(tzinfo=UTC).astimezone(zone).date(),
            amount=sale.data.amount,
            location_id=sale.location.id if sale.location is not None else None,
            staff_id=sellers[index],
            shard=rollups.shard_of(conn, purchase_id),
            seen=batch.seen(conn, bid, member_id, index),
        )
        if member_id is None or sale.member is None:
            continue
        plan = planned[index]
        if plan is not None and plan.members:
            (part,) = plan.members  # a referral award is not planned set-wise: the member's
            rows = earn_store.award_rows(bid, plan.version, part, purchase_id)
            award_rows.append((len(earned), rows))
            # The earn entry, then the cards it filled, as `rules.earn_store.write_plan`.
            earned.append(planner.for_purchase(part.entry, purchase_id))
            earned.extend(c.entry for c in part.completions)
            posted_at.extend([sale.now or now] * (1 + len(part.completions)))
    rollups.flush(conn, bid, tally)
    figures_store.save_many(conn, bid, {m: figures[m] for m in set(member_ids)})
    entry_ids = ledger_batch.post_many(conn, bid, earned, now, posted_at=posted_at)
    rule_store.insert_awards_many(
        conn,
        [{**row, "entry_id": entry_ids[place]} for place, rows in award_rows for row in rows],
    )
    return ids


class _Batch:
    """Which of the batch's purchases each member has, found when first asked (only for a
    purchase out of date order): all are in the table already, only the earlier ones counted."""

    def __init__(self, sales: Sequence[Sale], ids: Sequence[int]) -> None:
        self.sales, self.ids = sales, ids
        self.by_member: dict[int | None, list[tuple[int, int]]] | None = None

    def seen(
        self, conn: Connection, bid: int, member_id: int | None, index: int
    ) -> fold.PurchasesSeen:
        def counted(first: date, last: date) -> list[fold.Seen]:
            excluding = self.not_yet_counted(member_id, index)
            return rollups.member_purchases(conn, bid, member_id, first, last, excluding=excluding)

        return counted

    def not_yet_counted(self, member_id: int | None, index: int) -> list[int]:
        if self.by_member is None:
            self.by_member = {}
            for i, (sale, purchase_id) in enumerate(zip(self.sales, self.ids, strict=True)):
                if sale.member is not None:
                    self.by_member.setdefault(sale.member.id, []).append((i, purchase_id))
        return [p for i, p in self.by_member.get(member_id, []) if i >= index]
