"""Calendar arithmetic in a business's time zone: cap periods, expiry dates, tier windows."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Period = Literal["day", "week", "month", "quarter", "year", "lifetime"]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


def period_start(at: datetime, period: Period, tz: ZoneInfo) -> datetime | None:
    """The local start of the period containing `at` (weeks start on Monday); None for lifetime."""
    local = at.astimezone(tz).date()
    if period == "lifetime":
        return None
    if period == "day":
        return _midnight(local, tz)
    if period == "week":
        return _midnight(local - timedelta(days=local.weekday()), tz)
    if period == "month":
        return _midnight(local.replace(day=1), tz)
    if period == "quarter":
        return _midnight(local.replace(month=(local.month - 1) // 3 * 3 + 1, day=1), tz)
    return _midnight(local.replace(month=1, day=1), tz)


def next_period_start(start: datetime, period: Period) -> datetime:
    """The start of the period after the one that begins at `start` (same zone)."""
    day = start.date()
    if period == "day":
        nxt = day + timedelta(days=1)
    elif period == "week":
        nxt = day + timedelta(days=7)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[period]
        index = day.year * 12 + day.month - 1 + months
        nxt = date(index // 12, index % 12 + 1, 1)
    tz = start.tzinfo
    assert isinstance(tz, ZoneInfo)
    return _midnight(nxt, tz)


def period_end(at: datetime, period: Period, tz: ZoneInfo) -> datetime:
    """The last instant of the local period containing `at` (one microsecond before the next)."""
    start = period_start(at, period, tz)
    assert start is not None, "lifetime has no end"
    return next_period_start(start, period) - timedelta(microseconds=1)


def add_months(day: date, months: int) -> date:
    """The same day of the month `months` later; a day the month lacks becomes its last day
    (31 January + 1 month = 28 or 29 February), as calendars and contracts count it."""
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    following = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (following - timedelta(days=1)).day))


def expiry_for(
    earned_at: datetime,
    policy: str,
    days: int | None,
    tz: ZoneInfo,
    months: int | None = None,
) -> datetime | None:
    """When points earned at `earned_at` expire under the program's points policy."""
    if policy == "never":
        return None
    if policy == "days":
        assert days is not None
        return earned_at + timedelta(days=days)
    if policy in ("months", "months_end"):
        assert months is not None
        local = earned_at.astimezone(tz)
        day = add_months(local.date(), months)
        if policy == "months_end":
            return period_end(_midnight(day, tz), "month", tz)
        # The same local wall time on that day: a DST change in between moves the UTC instant.
        return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)
    period: Period = {"end_of_month": "month", "end_of_quarter": "quarter", "end_of_year": "year"}[
        policy
    ]  # type: ignore[assignment]
    return period_end(earned_at, period, tz)
