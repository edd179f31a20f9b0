"""The headline cards of the analytics page, one per figure with the numbers behind it and a link
to its chart, and the chart figures as one CSV."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from babel.numbers import format_currency

from lealtad.analytics import kpis
from lealtad.kit.money import minor_exponent
from lealtad.web.admin.reports.analytics_tables import Fmt, Translate, tags


def per_unit(fmt: Fmt, value_per_unit: str) -> str:
    """A point's value, which may be a fraction of a cent."""
    major = Decimal(value_per_unit).scaleb(-minor_exponent(fmt.currency))
    return str(format_currency(major, fmt.currency, locale=fmt.locale, decimal_quantization=False))


def cards(board: dict[str, kpis.Kpi], fmt: Fmt, _: Translate, grain: str) -> list[dict[str, Any]]:
    rate, members, mvo = board["enrolment_rate"], board["members"], board["members_vs_others"]
    points, first = board["points"], board["first_reward"]
    said = tags(_)
    m, p = members.extra, points.extra
    goal_met = rate.value is not None and rate.goal is not None and rate.value >= rate.goal
    per = {
        "day": _("Purchases per member who bought, counted by day."),
        "week": _("Purchases per member who bought, counted by week."),
        "month": _("Purchases per member who bought, counted by month."),
    }[grain]
    if p["liability"] is None:
        liability = {
            "value": "–",
            "lines": [
                _("{points} points held.").format(points=fmt.count(p["outstanding"])),
                _("Set a value per point in the program to see it in money."),
            ],
            "link": ("/admin/program", _("Set the value per point")),
        }
    else:
        liability = {
            "value": fmt.cash(p["liability"]),
            "lines": [
                _("{points} points held at the end of the period, {value} each.").format(
                    points=fmt.count(p["outstanding"]), value=per_unit(fmt, p["value_per_unit"])
                )
            ],
        }
    median = first.extra["median_days"]
    return [
        {
            "key": "enrolment",
            "title": _("Enrolment rate"),
            "value": fmt.percent(rate.value),
            "status": None if rate.value is None else ("met" if goal_met else "short"),
            "status_text": _("At or above the goal") if goal_met else _("Below the goal"),
            "lines": [
                _("Goal: {goal}.").format(goal=fmt.percent(rate.goal)),
                _("{members} of {purchases} purchases by members.").format(
                    members=fmt.count(rate.extra["member_purchases"]),
                    purchases=fmt.count(rate.extra["purchases"]),
                ),
            ],
            "note": said["all"],
        },
        {
            "key": "members",
            "title": _("New members"),
            "value": fmt.count(members.value),
            "lines": [_("{total} members in all.").format(total=fmt.count(m["total"]))],
            "note": said["joined"],
        },
        {
            "key": "status",
            "title": _("Active members"),
            "value": fmt.count(m["active_30"]),
            "lines": [
                _("Bought in the last 30 days."),
                _("{n} in the last 90 days.").format(n=fmt.count(m["active_90"])),
                _("Lapsed, no purchase in 90 days: {n}.").format(n=fmt.count(m["lapsed"])),
            ],
            "note": said["status"],
        },
        {
            "key": "share",
            "title": _("Revenue from members"),
            "value": fmt.percent(mvo.value),
            "lines": [
                _("{members} of {total}, net of refunds.").format(
                    members=fmt.cash(mvo.extra["member_revenue"]),
                    total=fmt.cash(mvo.extra["revenue"]),
                )
            ],
            "note": said["all"],
        },
        {
            "key": "tickets",
            "title": _("Average ticket, members"),
            "value": fmt.cash(mvo.extra["member_ticket"]),
            "lines": [
                _("{value} for everyone else.").format(value=fmt.cash(mvo.extra["other_ticket"]))
            ],
            "note": said["all"],
        },
        {
            "key": "visits",
            "title": _("Visits per member"),
            "value": fmt.decimal(mvo.extra["visits_per_member"]),
            "lines": [per],
            "note": said["all"],
        },
        {
            "key": "points",
            "title": _("Points issued"),
            "value": fmt.count(p["issued"]),
            "lines": [
                _("{n} redeemed or donated: {rate} redemption rate.").format(
                    n=fmt.count(p["redeemed"]), rate=fmt.percent(p["redemption_rate"])
                ),
                _("{n} expired: {rate} breakage.").format(
                    n=fmt.count(p["expired"]), rate=fmt.percent(p["breakage_rate"])
                ),
            ],
            "note": said["ledger"],
        },
        {
            "key": "liability",
            "anchor": "points",
            "title": _("Outstanding liability"),
            "note": said["ledger"],
            **liability,
        },
        {
            "key": "first-reward",
            "title": _("First reward within 90 days"),
            "value": fmt.percent(first.value),
            "lines": [
                _("New members who got there: {reached} of {members}.").format(
                    reached=fmt.count(first.extra["reached"]),
                    members=fmt.count(first.extra["members"]),
                ),
                _("Median: {days} days.").format(days=fmt.decimal(median))
                if median is not None
                else _("Nobody has reached one yet."),
            ],
            "note": said["cohorts"],
        },
    ]


def figures_csv(
    charts: list[dict[str, Any]], buckets: list[Any]
) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """Every chart drawn over the period's buckets as columns of one file: a row per bucket;
    money in the currency's units (not cents), as a spreadsheet expects."""
    columns: list[tuple[str, str]] = [("bucket", charts[0]["table"]["head"][0])]
    rows: list[dict[str, Any]] = [{"bucket": b} for b in buckets]
    for found in charts:
        if found.get("kind") == "doughnut" or len(found["labels"]) != len(buckets):
            continue
        for n, s in enumerate(found["datasets"]):
            key = f"{found['id']}.{n}"
            columns.append((key, f"{found['title']}: {s['label']}"))
            for row, value in zip(rows, s["data"], strict=True):
                row[key] = value
    return columns, rows
