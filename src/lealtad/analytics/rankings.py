"""The dashboard's ranked tables: staff by the members they enrol, rewards by how often they are
redeemed (with their ratings), causes by the points donated to them. Kept apart from the KPIs
(kpis.py), which chart rollup figures over time: these are one row per person or thing, and
they name them from other domains' records (staff, rewards, ratings, causes)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, and_, func, select

from lealtad.analytics.kpis import percent, sums
from lealtad.analytics.periods import Scope
from lealtad.analytics.tables import counters
from lealtad.rewards.donations import list_causes
from lealtad.rewards.tables import ratings, rewards
from lealtad.tenancy.tables import staff_users


def staff_leaderboard(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Enrolments per staff member in the period, with their share of purchases by members."""
    c = counters.c
    where = [
        c.business_id == scope.business_id,
        c.metric.in_(["enrolments", "purchases", "member_purchases"]),
        c.day.between(scope.start, scope.end),
        c.staff_id != 0,
    ]
    if scope.location_id is not None:
        where.append(c.location_id == scope.location_id)
    totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for staff_id, metric, value in conn.execute(
        select(c.staff_id, c.metric, func.sum(c.value)).where(*where).group_by(c.staff_id, c.metric)
    ):
        totals[staff_id][metric] += int(value)
    names = dict(
        conn.execute(
            select(staff_users.c.id, staff_users.c.name).where(
                and_(staff_users.c.business_id == scope.business_id)
            )
        ).all()
    )
    board = [
        {
            "staff_id": staff_id,
            "name": names.get(staff_id, f"#{staff_id}"),
            "enrolments": t["enrolments"],
            "purchases": t["purchases"],
            "enrolment_rate": percent(t["member_purchases"], t["purchases"]),
        }
        for staff_id, t in totals.items()
    ]
    board.sort(key=lambda row: (-row["enrolments"], -(row["enrolment_rate"] or 0), row["name"]))
    return board


def reward_popularity(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Redemptions of each reward in the period, with its visible ratings (all time)."""
    got = sums(conn, scope, ["redemptions"], by_location=False)
    counts = {int(dim): sum(v.values()) for (metric, dim), v in got.items() if dim}
    stars = {
        reward_id: (float(avg), int(n))
        for reward_id, avg, n in conn.execute(
            select(ratings.c.reward_id, func.avg(ratings.c.stars), func.count())
            .where(ratings.c.business_id == scope.business_id, ratings.c.hidden.is_(False))
            .group_by(ratings.c.reward_id)
        )
    }
    out = []
    for row in conn.execute(
        select(rewards.c.id, rewards.c.slug, rewards.c.title).where(
            rewards.c.business_id == scope.business_id
        )
    ):
        avg, n = stars.get(row.id, (None, 0))
        out.append(
            {
                "reward_id": row.id,
                "slug": row.slug,
                "title": row.title,
                "redemptions": counts.get(row.id, 0),
                "rating": round(avg, 2) if avg is not None else None,
                "ratings": n,
            }
        )
    out.sort(key=lambda r: (-r["redemptions"], r["slug"]))
    return out


def donations_by_cause(conn: Connection, business_id: int) -> list[dict[str, Any]]:
    return [
        {
            "cause_id": c.id,
            "name": c.name,
            "points": c.total_points,
            "donors": c.donors,
            "donations": c.donations,
        }
        for c in list_causes(conn, business_id)
    ]
