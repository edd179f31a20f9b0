"""The dashboard's series for a period, one row per day, week or month: what `lealtad report
--format csv|json` prints. Money in minor units, rates in percent, empty where there is nothing
to divide by."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.analytics import kpis
from lealtad.analytics.periods import Scope

# (column, KPI, series): the KPI series that share the period's buckets (cohort charts do not).
_FROM_KPIS = (
    ("enrolment_rate", "enrolment_rate", "rate"),
    ("new_members", "members", "new"),
    ("visiting_members", "members", "visiting"),
    ("member_ticket", "members_vs_others", "member_ticket"),
    ("other_ticket", "members_vs_others", "other_ticket"),
    ("visits_per_member", "members_vs_others", "visits"),
    ("points_issued", "points", "issued"),
    ("points_redeemed", "points", "redeemed"),
    ("points_expired", "points", "expired"),
    ("points_outstanding", "points", "outstanding"),
    ("cashback_issued", "cashback", "issued"),
    ("cashback_redeemed", "cashback", "redeemed"),
    ("cashback_expired", "cashback", "expired"),
    ("cashback_outstanding", "cashback", "outstanding"),
)
_COUNTED = ("purchases", "member_purchases", "revenue", "member_revenue", "refunds")
COLUMNS = ("period", *_COUNTED, *(column for column, _k, _s in _FROM_KPIS))


def _plain(value: float | None) -> float | int | None:
    if value is None:
        return None
    return int(value) if float(value).is_integer() else round(value, 4)


def rows(conn: Connection, scope: Scope, now: datetime) -> list[dict[str, Any]]:
    found = {
        "enrolment_rate": kpis.enrolment_rate(conn, scope),
        "members": kpis.members_activity(conn, scope, now),
        "members_vs_others": kpis.members_vs_others(conn, scope),
        "points": kpis.points_flows(conn, scope, now),
        "cashback": kpis.points_flows(conn, scope, now, unit="cashback"),
    }
    counted = kpis.sums(conn, scope, _COUNTED)
    out = []
    for i, bucket in enumerate(scope.buckets()):
        row: dict[str, Any] = {"period": bucket}
        for metric in _COUNTED:
            row[metric] = counted[(metric, "")].get(bucket, 0)
        for column, kpi, series in _FROM_KPIS:
            row[column] = _plain(found[kpi].series[series][i])
        out.append(row)
    return out
