"""The dashboard's figures, read from the rollups: each KPI is a headline value for the period and
one or more series over its buckets, ready for a chart and a CSV. The ranked tables beside them
(staff, rewards, causes) are in rankings.py."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import Connection, case, func, select

from lealtad.analytics import preferences, zone_store
from lealtad.analytics.fold import month_start
from lealtad.analytics.periods import Scope, bucket_of
from lealtad.analytics.tables import counters
from lealtad.errors import NotFound
from lealtad.rules import service as rules

Unit = Literal["percent", "count", "money", "points", "days", "ratio"]
Series = dict[str, list[float | None]]


@dataclass
class Kpi:
    key: str
    unit: Unit
    value: float | None
    labels: list[date]
    series: Series = field(default_factory=dict)
    goal: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def percent(part: float, whole: float) -> float | None:
    found = ratio(part, whole)
    return None if found is None else round(100 * found, 1)


def sums(
    conn: Connection, scope: Scope, metrics: Iterable[str], *, by_location: bool = True
) -> dict[tuple[str, str], dict[date, int]]:
    """(metric, dim) -> bucket -> total over the period, for the scope's location or staff."""
    c = counters.c
    where = [
        c.business_id == scope.business_id,
        c.metric.in_(list(metrics)),
        c.day.between(scope.start, scope.end),
    ]
    if by_location and scope.location_id is not None:
        where.append(c.location_id == scope.location_id)
    if by_location and scope.staff_id is not None:
        where.append(c.staff_id == scope.staff_id)
    rows = conn.execute(
        select(c.metric, c.dim, c.day, func.sum(c.value))
        .where(*where)
        .group_by(c.metric, c.dim, c.day)
    )
    out: dict[tuple[str, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for metric, dim, day, value in rows:
        out[(metric, dim)][bucket_of(day, scope.grain)] += int(value or 0)
    return out


def _line(found: dict[date, int], labels: list[date]) -> list[float | None]:
    return [float(found.get(b, 0)) for b in labels]


def enrolment_rate(conn: Connection, scope: Scope) -> Kpi:
    """Purchases by identified members among all purchases recorded, anonymous ones included."""
    got = sums(conn, scope, ["purchases", "member_purchases"])
    labels = scope.buckets()
    allp, members = got[("purchases", "")], got[("member_purchases", "")]
    goal = preferences.get(conn, scope.business_id).enrolment_goal
    return Kpi(
        "enrolment_rate",
        "percent",
        percent(sum(members.values()), sum(allp.values())),
        labels,
        {"rate": [percent(members.get(b, 0), allp.get(b, 0)) for b in labels]},
        goal=float(goal),
        extra={"purchases": sum(allp.values()), "member_purchases": sum(members.values())},
    )


def _visitors_metric(scope: Scope) -> str:
    return {"day": "visitors", "week": "visitors.week", "month": "visitors.month"}[scope.grain]


def members_activity(conn: Connection, scope: Scope, now: datetime) -> Kpi:
    """New members per bucket and visiting members per bucket; active (a visit in the last 30 or
    90 local days, today included) and lapsed (none in 90) members as of now, for the members
    enrolled at the scope's location if one is set."""
    labels = scope.buckets()
    got = sums(conn, scope, ["enrolments", _visitors_metric(scope)])
    today = zone_store.local_day(conn, scope.business_id, now)
    c = counters.c
    where = [c.business_id == scope.business_id, c.metric == "last_visit"]
    if scope.location_id is not None:
        where.append(c.location_id == scope.location_id)
    # Members by the day of their last visit: a few rows per day, however many members there are.
    last_days = conn.execute(
        select(
            func.sum(case((c.day > today - timedelta(days=30), c.value), else_=0)),
            func.sum(case((c.day > today - timedelta(days=90), c.value), else_=0)),
            func.sum(case((c.day <= today - timedelta(days=90), c.value), else_=0)),
        ).where(*where)
    ).one()
    active_30, active_90, lapsed = (int(v or 0) for v in last_days)
    total = _members_total(conn, scope)
    new = got[("enrolments", "")]
    return Kpi(
        "members",
        "count",
        float(sum(new.values())),
        labels,
        {"new": _line(new, labels), "visiting": _line(got[(_visitors_metric(scope), "")], labels)},
        extra={
            "total": total,
            "active_30": active_30,
            "active_90": active_90,
            "lapsed": lapsed,
            "never_bought": max(0, total - active_90 - lapsed),
        },
    )


def _members_total(conn: Connection, scope: Scope) -> int:
    c = counters.c
    where = [c.business_id == scope.business_id, c.metric == "enrolments"]
    if scope.location_id is not None:
        where.append(c.location_id == scope.location_id)
    return int(conn.execute(select(func.coalesce(func.sum(c.value), 0)).where(*where)).scalar_one())


def members_vs_others(conn: Connection, scope: Scope) -> Kpi:
    """Average ticket of members and of everyone else, visits per visiting member, and the share
    of revenue that members bring. Tickets are as rung up; revenue is net of refunds (a refund
    counts on its own day), so money handed back is not revenue."""
    labels = scope.buckets()
    vm = _visitors_metric(scope)
    money = ["purchases", "revenue", "member_purchases", "member_revenue", "refunds"]
    got = sums(conn, scope, [*money, "member_refunds", vm])
    p, r = got[("purchases", "")], got[("revenue", "")]
    mp, mr, v = got[("member_purchases", "")], got[("member_revenue", "")], got[(vm, "")]
    back, member_back = got[("refunds", "")], got[("member_refunds", "")]

    def ticket(rev: float, n: float) -> float | None:
        found = ratio(rev, n)
        return None if found is None else round(found)

    member_ticket = [ticket(mr.get(b, 0), mp.get(b, 0)) for b in labels]
    other_ticket = [ticket(r.get(b, 0) - mr.get(b, 0), p.get(b, 0) - mp.get(b, 0)) for b in labels]
    frequency = [ratio(mp.get(b, 0), v.get(b, 0)) for b in labels]
    share = [
        percent(mr.get(b, 0) - member_back.get(b, 0), r.get(b, 0) - back.get(b, 0)) for b in labels
    ]
    tp, tr, tmp, tmr = (sum(x.values()) for x in (p, r, mp, mr))
    net, member_net = tr - sum(back.values()), tmr - sum(member_back.values())
    return Kpi(
        "members_vs_others",
        "percent",
        percent(member_net, net),
        labels,
        {
            "member_ticket": member_ticket,
            "other_ticket": other_ticket,
            "visits": frequency,
            "member_share": share,
        },
        extra={
            "revenue": net,
            "member_revenue": member_net,
            "member_ticket": ticket(tmr, tmp),
            "other_ticket": ticket(tr - tmr, tp - tmp),
            "visits_per_member": ratio(tmp, sum(v.values())),
        },
    )


FLOWS = ("issued", "redeemed", "expired", "adjusted", "reversed", "donated")


def points_flows(conn: Connection, scope: Scope, now: datetime, unit: str = "points") -> Kpi:
    """Units issued, redeemed and expired, the redemption and breakage rates, and what members
    hold at the end of each bucket valued in money. The ledger is counted business-wide."""
    labels = scope.buckets()
    got = sums(conn, scope, [f"flow.{f}" for f in FLOWS], by_location=False)

    def flow(name: str, sign: int) -> dict[date, int]:
        return {b: sign * v for b, v in got[(f"flow.{name}", unit)].items()}

    issued, redeemed, expired = flow("issued", -1), flow("redeemed", 1), flow("expired", 1)
    donated = flow("donated", 1)
    total_issued = sum(issued.values())
    spent = sum(redeemed.values()) + sum(donated.values())
    held_before = outstanding(conn, scope.business_id, unit, before=scope.start)
    net: dict[date, int] = defaultdict(int)
    for name in FLOWS:
        for b, v in got[(f"flow.{name}", unit)].items():
            net[b] -= v
    running, held = held_before, list[float | None]()
    for b in labels:
        running += net.get(b, 0)
        held.append(float(running))
    value = _value_per_unit(conn, scope.business_id, unit, now)
    return Kpi(
        f"flows.{unit}",
        "money" if unit == "cashback" else "points",
        float(total_issued),
        labels,
        {
            "issued": _line(issued, labels),
            "redeemed": _line({b: redeemed.get(b, 0) + donated.get(b, 0) for b in labels}, labels),
            "expired": _line(expired, labels),
            "outstanding": held,
        },
        extra={
            "issued": total_issued,
            "redeemed": spent,
            "expired": sum(expired.values()),
            "redemption_rate": percent(spent, total_issued),
            "breakage_rate": percent(sum(expired.values()), total_issued),
            "outstanding": running,
            "value_per_unit": str(value) if value is not None else None,
            "liability": int(running * value) if value is not None else None,
        },
    )


def outstanding(conn: Connection, business_id: int, unit: str, *, before: date | None) -> int:
    """What members hold of a unit: minus the sum of every system flow (entries balance)."""
    c = counters.c
    where = [
        c.business_id == business_id,
        c.metric.in_([f"flow.{f}" for f in FLOWS]),
        c.dim == unit,
    ]
    if before is not None:
        where.append(c.day < before)
    return -int(
        conn.execute(select(func.coalesce(func.sum(c.value), 0)).where(*where)).scalar_one()
    )


def _value_per_unit(conn: Connection, business_id: int, unit: str, now: datetime) -> Decimal | None:
    """Minor units one unit is worth: cashback is money already; points are worth the program's
    value per point, unknown (None) while the business has not set one."""
    if unit == "cashback":
        return Decimal(1)
    if unit != "points":
        return None
    try:
        program = rules.in_force(conn, business_id, now)
    except NotFound:
        return None
    per_point = program.definition.points.value_per_point
    return Decimal(per_point) if per_point else None


def cohorts(
    conn: Connection, business_id: int, first: date, last: date, location_id: int | None = None
) -> list[dict[str, Any]]:
    """Per monthly enrolment cohort: its size, the share that came back in days 1-30, 31-60 and
    61-90, and the share that reached a first reward within 90 days with the median days."""
    c = counters.c
    rows = conn.execute(
        select(c.metric, c.dim, c.day, func.sum(c.value))
        .where(
            c.business_id == business_id,
            c.metric.in_(["cohort.members", "cohort.retained", "cohort.first_reward"]),
            c.day.between(month_start(first), last),
            # A cohort's location is where its members enrolled.
            *([c.location_id == location_id] if location_id is not None else []),
        )
        .group_by(c.metric, c.dim, c.day)
    )
    size: dict[date, int] = defaultdict(int)
    kept: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    firsts: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for metric, dim, day, value in rows:
        if metric == "cohort.members":
            size[day] += int(value)
        elif metric == "cohort.retained":
            kept[day][dim] += int(value)
        else:
            firsts[day][int(dim)] += int(value)
    out = []
    for month in sorted(size):
        n = size[month]
        reached = sum(firsts[month].values())
        out.append(
            {
                "cohort": month,
                "members": n,
                "retained_30": percent(kept[month]["30"], n),
                "retained_60": percent(kept[month]["60"], n),
                "retained_90": percent(kept[month]["90"], n),
                "first_reward_90": percent(reached, n),
                "median_days_to_first_reward": median_of_counts(firsts[month]),
            }
        )
    return out


def median_of_counts(counts: dict[int, int]) -> float | None:
    """The median of values given as value -> how many times it occurs."""
    n = sum(counts.values())
    if not n:
        return None
    ordered = sorted(counts.items())

    def nth(k: int) -> int:
        seen = 0
        for value, times in ordered:
            seen += times
            if seen > k:
                return value
        return ordered[-1][0]

    return (nth((n - 1) // 2) + nth(n // 2)) / 2


def first_reward(conn: Connection, scope: Scope) -> Kpi:
    """New members of the period's cohorts who reached a first reward within 90 days."""
    rows = cohorts(conn, scope.business_id, scope.start, scope.end, scope.location_id)
    members_n = sum(r["members"] for r in rows)
    merged: dict[int, int] = defaultdict(int)
    c = counters.c
    for dim, value in conn.execute(
        select(c.dim, func.sum(c.value))
        .where(
            c.business_id == scope.business_id,
            c.metric == "cohort.first_reward",
            c.day.between(month_start(scope.start), scope.end),
            *([c.location_id == scope.location_id] if scope.location_id is not None else []),
        )
        .group_by(c.dim)
    ):
        merged[int(dim)] += int(value)
    # Counted, not rebuilt from each cohort's rounded percentage (off by one past ~500 members).
    reached = sum(merged.values())
    return Kpi(
        "first_reward",
        "percent",
        percent(reached, members_n),
        [r["cohort"] for r in rows],
        {"share": [r["first_reward_90"] for r in rows]},
        extra={"members": members_n, "reached": reached, "median_days": median_of_counts(merged)},
    )


def retention(conn: Connection, scope: Scope) -> Kpi:
    rows = cohorts(conn, scope.business_id, scope.start, scope.end, scope.location_id)
    return Kpi(
        "retention",
        "percent",
        rows[-1]["retained_30"] if rows else None,
        [r["cohort"] for r in rows],
        {
            "30": [r["retained_30"] for r in rows],
            "60": [r["retained_60"] for r in rows],
            "90": [r["retained_90"] for r in rows],
        },
        extra={"cohorts": rows},
    )


def dashboard(conn: Connection, scope: Scope, now: datetime) -> dict[str, Kpi]:
    """Every chart of the dashboard for one scope."""
    return {
        "enrolment_rate": enrolment_rate(conn, scope),
        "members": members_activity(conn, scope, now),
        "members_vs_others": members_vs_others(conn, scope),
        "points": points_flows(conn, scope, now),
        "cashback": points_flows(conn, scope, now, unit="cashback"),
        "first_reward": first_reward(conn, scope),
        "retention": retention(conn, scope),
    }
