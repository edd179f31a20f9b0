"""The period a dashboard looks at: local days from start to end, cut into day, week or month
buckets, for the whole business or one location or staff member."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from lealtad.analytics.fold import month_start, week_start
from lealtad.errors import Invalid

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
# A chart of more buckets than this is unreadable; ask for a coarser grain instead.
MAX_BUCKETS = 400


def bucket_of(day: date, grain: Grain) -> date:
    if grain == "day":
        return day
    return week_start(day) if grain == "week" else month_start(day)


def next_bucket(start: date, grain: Grain) -> date:
    if grain == "day":
        return start + timedelta(days=1)
    if grain == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


@dataclass(frozen=True)
class Scope:
    business_id: int
    start: date
    end: date
    grain: Grain = "day"
    location_id: int | None = None
    staff_id: int | None = None

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise Invalid("the period ends before it starts", code="invalid_period")
        if len(self.buckets()) > MAX_BUCKETS:
            raise Invalid(
                f"more than {MAX_BUCKETS} {self.grain}s: choose a coarser grain",
                code="period_too_long",
            )

    def buckets(self) -> list[date]:
        out, at = [], bucket_of(self.start, self.grain)
        while at <= self.end:
            out.append(at)
            at = next_bucket(at, self.grain)
            if len(out) > MAX_BUCKETS:
                break
        return out


def default_scope(business_id: int, today: date, period: str = "30d") -> Scope:
    """The usual views: the last 30 days by day, the last 12 weeks by week, a year by month."""
    if period == "12w":
        return Scope(business_id, week_start(today) - timedelta(weeks=11), today, "week")
    if period == "12m":
        first = month_start(today)
        for _ in range(11):
            first = month_start(first - timedelta(days=1))
        return Scope(business_id, first, today, "month")
    return Scope(business_id, today - timedelta(days=29), today, "day")
