"""How one event changes the rollups, free of storage: the incremental writers and the rebuild
both fold events through these functions, so the two cannot disagree on what a figure means."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

# Retention is counted in three windows of 30 days after the day of enrolment.
RETENTION_WINDOW_DAYS = 30
RETENTION_WINDOWS = 3
FIRST_REWARD_DAYS = 90

CounterKey = tuple[str, date, str, int, int, int]  # metric, day, dim, location, staff, shard


class Seen(NamedTuple):
    """One of the member's purchases already counted: its local day, when (naive UTC), where."""

    day: date
    at: datetime
    location: int
    staff: int


# The member's purchases already counted between two local days (both included). Asked only for
# a purchase that occurred before the member's latest one, so that a history imported newest
# first, or shuffled, counts the same visits as one imported in date order, each visit where
# its earliest purchase was made; the in-order path never asks.
PurchasesSeen = Callable[[date, date], Collection[Seen]]


def month_start(day: date) -> date:
    return day.replace(day=1)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


@dataclass
class Tally:
    """Counter deltas not yet written."""

    deltas: defaultdict[CounterKey, int]

    def __init__(self) -> None:
        self.deltas = defaultdict(int)

    def add(
        self,
        metric: str,
        day: date,
        value: int,
        *,
        dim: str = "",
        location: int = 0,
        staff: int = 0,
        shard: int = 0,
    ) -> None:
        self.deltas[(metric, day, dim, location, staff, shard)] += value


class _Where(NamedTuple):
    location: int
    staff: int
    shard: int

    def add(self, tally: Tally, metric: str, day: date, value: int) -> None:
        tally.add(metric, day, value, location=self.location, staff=self.staff, shard=self.shard)


@dataclass(slots=True)
class MemberFigures:
    """One member's running figures (the member_stats row)."""

    enrolled_on: date
    location_id: int
    first_purchase_at: datetime | None = None
    last_purchase_at: datetime | None = None
    last_day: date | None = None
    purchases: int = 0
    visit_days: int = 0
    spend: int = 0
    first_reward_at: datetime | None = None
    retention_mask: int = 0


def enrolment(tally: Tally, figures: MemberFigures, staff_id: int | None, shard: int = 0) -> None:
    loc = figures.location_id
    tally.add("enrolments", figures.enrolled_on, 1, location=loc, staff=staff_id or 0, shard=shard)
    tally.add("cohort.members", month_start(figures.enrolled_on), 1, location=loc, shard=shard)


def purchase(
    tally: Tally,
    figures: MemberFigures | None,
    *,
    at: datetime,
    day: date,
    amount: int,
    location_id: int | None,
    staff_id: int | None,
    shard: int = 0,
    seen: PurchasesSeen | None = None,
) -> None:
    # The keys written out (metric, day, dim, location, staff, shard) rather than through
    # `Tally.add`: this runs once per imported purchase, and the calls were most of its time.
    deltas = tally.deltas
    loc, staff = location_id or 0, staff_id or 0
    deltas[("purchases", day, "", loc, staff, shard)] += 1
    deltas[("revenue", day, "", loc, staff, shard)] += amount
    if figures is None:
        return
    deltas[("member_purchases", day, "", loc, staff, shard)] += 1
    deltas[("member_revenue", day, "", loc, staff, shard)] += amount
    last = figures.last_day
    if last is None or day > last:
        # Distinct visiting members per day, week and month. Every day counted so far is at or
        # before `last`, so a later day is new, and so is its week or month unless it is last's.
        deltas[("visitors", day, "", loc, staff, shard)] += 1
        # Each member counted once, on the day of their last visit, at their home location: the
        # dashboard's active and lapsed counts are then sums over a few days, not over members.
        home = figures.location_id
        if last is not None:
            deltas[("last_visit", last, "", home, 0, shard)] -= 1
        deltas[("last_visit", day, "", home, 0, shard)] += 1
        week = week_start(day)
        if last is None or week != week_start(last):
            deltas[("visitors.week", week, "", loc, staff, shard)] += 1
        month = day.replace(day=1)
        if last is None or month != last.replace(day=1):
            deltas[("visitors.month", month, "", loc, staff, shard)] += 1
        figures.visit_days += 1
        figures.last_day = day
    elif (
        seen is not None and figures.last_purchase_at is not None and at < figures.last_purchase_at
    ):
        _earlier_visit(deltas, figures, day, at, _Where(loc, staff, shard), seen)
    _retention(tally, figures, day, shard)
    figures.purchases += 1
    figures.spend += amount
    if figures.first_purchase_at is None or at < figures.first_purchase_at:
        figures.first_purchase_at = at
    if figures.last_purchase_at is None or at > figures.last_purchase_at:
        figures.last_purchase_at = at


def _earlier_visit(
    deltas: defaultdict[CounterKey, int],
    figures: MemberFigures,
    day: date,
    at: datetime,
    where: _Where,
    seen: PurchasesSeen,
) -> None:
    """A purchase that occurred before the member's latest one. Its day, week and month count
    a visit if no purchase counted so far falls in them; if one does and this purchase is
    earlier, the visit moves to this purchase's location and staff, as in date order (a tie in
    time keeps the one counted first). The last visit stays where it is."""
    week = week_start(day)
    month = month_start(day)
    next_month = (month + timedelta(days=31)).replace(day=1)
    found = seen(min(week, month), max(week + timedelta(days=6), next_month - timedelta(1)))
    loc, staff, shard = where

    def visit(metric: str, bucket: date, same: Callable[[date], bool]) -> bool:
        earliest = min((s for s in found if same(s.day)), key=lambda s: s.at, default=None)
        if earliest is not None and at >= earliest.at:
            return False
        if earliest is not None:
            deltas[(metric, bucket, "", earliest.location, earliest.staff, shard)] -= 1
        deltas[(metric, bucket, "", loc, staff, shard)] += 1
        return earliest is None

    if visit("visitors", day, lambda d: d == day):
        figures.visit_days += 1
    visit("visitors.week", week, lambda d: week_start(d) == week)
    visit("visitors.month", month, lambda d: month_start(d) == month)


def _retention(tally: Tally, figures: MemberFigures, day: date, shard: int) -> None:
    since = (day - figures.enrolled_on).days
    if not 1 <= since <= RETENTION_WINDOW_DAYS * RETENTION_WINDOWS:
        return
    window = (since - 1) // RETENTION_WINDOW_DAYS
    if figures.retention_mask & (1 << window):
        return
    figures.retention_mask |= 1 << window
    tally.add(
        "cohort.retained",
        month_start(figures.enrolled_on),
        1,
        dim=str(RETENTION_WINDOW_DAYS * (window + 1)),
        location=figures.location_id,
        shard=shard,
    )


def refund(
    tally: Tally,
    figures: MemberFigures | None,
    *,
    day: date,
    amount: int,
    location_id: int | None,
    staff_id: int | None,
    shard: int = 0,
) -> None:
    where = _Where(location_id or 0, staff_id or 0, shard)
    where.add(tally, "refunds", day, amount)
    if figures is not None:
        where.add(tally, "member_refunds", day, amount)
        figures.spend -= amount


def ledger_flows(
    tally: Tally, day: date, system_legs: list[tuple[str, str, int]], shard: int = 0
) -> None:
    """Each system leg (name, unit, amount) as posted: issuing is a negative "issued" leg, a
    redemption a positive "redeemed" leg. Entries balance, so minus the sum of all flows of a
    unit is what members hold of it: the outstanding liability."""
    for name, unit, amount in system_legs:
        if amount:
            tally.add(f"flow.{name}", day, amount, dim=unit, shard=shard)


def first_reward(
    tally: Tally,
    figures: MemberFigures,
    at: datetime,
    day: date,
    shard: int = 0,
    *,
    day_of: Callable[[datetime], date],
) -> bool:
    """The member's earliest reward, whatever order redemptions are recorded in: one dated
    before the first seen takes its place in the cohort's count."""
    earlier = figures.first_reward_at
    if earlier is not None and at >= earlier:
        return False
    if earlier is not None:
        _first_reward_count(tally, figures, day_of(earlier), -1, shard)
    figures.first_reward_at = at
    _first_reward_count(tally, figures, day, 1, shard)
    return True


def _first_reward_count(
    tally: Tally, figures: MemberFigures, day: date, value: int, shard: int
) -> None:
    since = (day - figures.enrolled_on).days
    if 0 <= since <= FIRST_REWARD_DAYS:
        tally.add(
            "cohort.first_reward",
            month_start(figures.enrolled_on),
            value,
            dim=str(since),
            location=figures.location_id,
            shard=shard,
        )


def redemption(tally: Tally, day: date, reward_id: int, shard: int = 0) -> None:
    """Counted for the whole business: a voucher does not record where it was issued."""
    tally.add("redemptions", day, 1, dim=str(reward_id), shard=shard)
