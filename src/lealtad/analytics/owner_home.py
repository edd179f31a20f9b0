"""The owner's home in figures: today, this week so far and the same days of last week, read from
the rollups like the dashboard (a few rows per day, however many members), and how many members
are close to a reward (analytics.reward_reach)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.analytics import kpis, preferences, reward_reach, zone_store
from lealtad.analytics.fold import week_start
from lealtad.analytics.periods import Grain, Scope
from lealtad.analytics.tables import counters, snapshots
from lealtad.kit.clock import as_utc

# Distinct visiting members are counted per day and per week by the rollups (analytics.fold).
_VISITORS = {"day": "visitors", "week": "visitors.week"}


@dataclass(frozen=True)
class Stretch:
    """What happened from `start` to `end` (local days, both included)."""

    start: date
    end: date
    purchases: int
    member_purchases: int
    # Distinct members who bought; None for part of a past week, which the rollups count only
    # whole (a member's first visit of the week may fall after the part).
    visiting_members: int | None
    new_members: int
    redeemed: int

    @property
    def enrolment_rate(self) -> float | None:
        """Share of purchases made by members, the figure the goal is about."""
        return kpis.percent(self.member_purchases, self.purchases)


@dataclass(frozen=True)
class Home:
    today: Stretch
    week: Stretch
    last_week: Stretch
    goal: int
    members: int
    reach: reward_reach.Reach | None
    # When the reach was counted: now when live, the night's refresh otherwise (None: never).
    reach_at: datetime | None
    reach_live: bool


def stretch(
    conn: Connection, business_id: int, start: date, end: date, grain: Grain, *, whole: bool = True
) -> Stretch:
    scope = Scope(business_id, start, end, grain)
    metrics = ["purchases", "member_purchases", "enrolments", _VISITORS[grain]]
    got = kpis.sums(conn, scope, metrics)
    redeemed = kpis.sums(conn, scope, ["redemptions"], by_location=False)

    def total(metric: str) -> int:
        return sum(got[(metric, "")].values())

    return Stretch(
        start=start,
        end=end,
        purchases=total("purchases"),
        member_purchases=total("member_purchases"),
        visiting_members=total(_VISITORS[grain]) if whole else None,
        new_members=total("enrolments"),
        redeemed=sum(sum(by_day.values()) for by_day in redeemed.values()),
    )


def members_total(conn: Connection, business_id: int) -> int:
    c = counters.c
    return int(
        conn.execute(
            select(func.coalesce(func.sum(c.value), 0)).where(
                c.business_id == business_id, c.metric == "enrolments"
            )
        ).scalar_one()
    )


def _stored_reach(conn: Connection, business_id: int) -> Any:
    # Read here rather than through analytics.refresh, which would bring numpy and scipy into
    # every process that serves the console's home.
    return conn.execute(
        select(snapshots.c.computed_at, snapshots.c.payload).where(
            snapshots.c.business_id == business_id,
            snapshots.c.kind == reward_reach.SNAPSHOT,
        )
    ).first()


def home(conn: Connection, business_id: int, now: datetime) -> Home:
    today = zone_store.local_day(conn, business_id, now)
    monday = week_start(today)
    before = monday - timedelta(days=7)
    members = members_total(conn, business_id)
    reach, reach_at, live = None, None, members <= reward_reach.LIVE_MEMBERS
    if live:
        reach, reach_at = reward_reach.measure(conn, business_id, now), as_utc(now)
    else:
        stored = _stored_reach(conn, business_id)
        if stored is not None:
            reach, reach_at = reward_reach.Reach.of(stored.payload), as_utc(stored.computed_at)
    return Home(
        today=stretch(conn, business_id, today, today, "day"),
        week=stretch(conn, business_id, monday, today, "week"),
        # The same weekdays of last week, so that a Tuesday is not compared with a whole week.
        last_week=stretch(
            conn, business_id, before, before + (today - monday), "week", whole=False
        ),
        goal=preferences.get(conn, business_id).enrolment_goal,
        members=members,
        reach=reach,
        reach_at=reach_at,
        reach_live=live,
    )
