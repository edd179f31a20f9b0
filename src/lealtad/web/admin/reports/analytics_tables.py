"""What the analytics page shows, built from the KPIs: the headline cards, one chart per figure
(its data for analytics.js and the same figures as a table), the cohort heatmap and the staff,
reward and cause tables with their CSV columns, in the page's language, money in the business's
currency."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from lealtad.analytics import kpis
from lealtad.analytics.fold import RETENTION_WINDOW_DAYS
from lealtad.analytics.periods import next_bucket
from lealtad.kit.money import Money
from lealtad.web.admin.customers.members_view import Formats

Translate = Callable[[str], str]
PALETTE = ["#5b3a29", "#1a66d2", "#b5541c", "#1f6b2a", "#6d28d9", "#0f766e", "#6b6b6b"]
BROWN, BLUE, ORANGE, GREEN, VIOLET, TEAL, GREY = PALETTE
WINDOWS = (30, 60, 90)


class Fmt(Formats):
    """Figures as the page writes them."""

    def __init__(self, business: Any, lang: str) -> None:
        super().__init__(business, lang)
        self.lang = lang

    def percent(self, value: float | None) -> str:
        if value is None:
            return "–"
        text = format_decimal(value, format="#,##0.#", locale=self.locale)
        return f"{text}\u00a0%" if self.lang == "es" else f"{text}%"

    def decimal(self, value: float | None) -> str:
        return (
            "–" if value is None else format_decimal(value, format="#,##0.##", locale=self.locale)
        )

    def count(self, value: float | None) -> str:
        return "–" if value is None else self.number(int(value))

    def cash(self, minor: float | None) -> str:
        return "–" if minor is None else self.money(round(minor))

    def major(self, minor: float | None) -> float | None:
        """Minor units as a plain number of the currency, for charts and spreadsheets."""
        return None if minor is None else float(Money(round(minor), self.currency).major())

    def bucket(self, day: date, grain: str) -> str:
        pattern = "LLL yyyy" if grain == "month" else "d MMM"
        return str(format_date(day, pattern, locale=self.locale))

    def month(self, day: date) -> str:
        return str(format_date(day, "LLLL yyyy", locale=self.locale))

    def show(self, value: float | None, unit: str) -> str:
        shown: dict[str, Callable[[Any], str]] = {
            "percent": self.percent,
            "money": self.cash,
            "ratio": self.decimal,
            "days": self.decimal,
        }
        return shown.get(unit, self.count)(value)


def notes(_: Translate) -> dict[str, str]:
    """Which filters each figure follows, said next to it."""
    return {
        "all": _("Follows the period, the location and the staff member."),
        "joined": _("Follows the period, the location where members joined and who enrolled them."),
        "status": _(
            "As of today, by the location where members joined; the period and the staff member do not apply."
        ),
        "ledger": _(
            "Follows the period for the whole business: the points ledger is not kept per location or staff member."
        ),
        "cohorts": _(
            "Members who joined in the period's months, at the location where they joined; the staff member does not apply."
        ),
        "staff": _("Follows the period and the location; every staff member is listed."),
        "rewards": _("Follows the period for the whole business; ratings are of all time."),
        "causes": _("All time, whole business."),
    }


def tags(_: Translate) -> dict[str, str]:
    """The same, in a few words, for the headline cards."""
    return {
        "all": _("Period · location · staff member"),
        "joined": _("Period · location joined · who enrolled"),
        "status": _("Today · location joined"),
        "ledger": _("Period · whole business"),
        "cohorts": _("Months joined · location joined"),
    }


def chart(
    key: str,
    title: str,
    note: str,
    labels: list[str],
    datasets: list[dict[str, Any]],
    unit: str,
    summary: str,
    **options: Any,
) -> dict[str, Any]:
    return {
        "id": key,
        "title": title,
        "note": note,
        "labels": labels,
        "datasets": datasets,
        "unit": unit,
        "summary": summary,
        **options,
    }


def series(
    label: str, data: list[Any], color: str, kind: str = "line", **more: Any
) -> dict[str, Any]:
    return {"label": label, "data": data, "color": color, "type": kind, **more}


def figures_table(
    fmt: Fmt, first: str, labels: list[str], sets: list[dict[str, Any]], unit: str
) -> dict[str, Any]:
    """The chart's figures as a table: a row per label, a column per series. Money series carry
    their minor units too, which the table writes in the currency."""
    rows = []
    for i, label in enumerate(labels):
        cells = [label]
        for s in sets:
            minor = s.get("minor")
            cells.append(fmt.cash(minor[i]) if minor else fmt.show(s["data"][i], unit))
        rows.append(cells)
    return {"head": [first] + [s["label"] for s in sets], "rows": rows}


def window_done(cohort: date, days: int, today: date) -> bool:
    """Whether every member of the monthly cohort has had `days` days since joining."""
    last_joined = next_bucket(cohort, "month") - timedelta(days=1)
    return last_joined + timedelta(days=days) < today


def heat(value: float | None) -> str:
    """A cell's background from white to a light green by the share, light enough that the
    dark text keeps its contrast."""
    if value is None:
        return "#ffffff"
    share = max(0.0, min(1.0, value / 100))
    low, high = (255, 255, 255), (111, 181, 123)
    mixed = (round(a + (b - a) * share) for a, b in zip(low, high, strict=True))
    return "#" + "".join(f"{c:02x}" for c in mixed)


def cohort_view(rows: list[dict[str, Any]], fmt: Fmt, _: Translate, today: date) -> dict[str, Any]:
    """The heatmap table and the retention curves (x: the windows, a line per cohort)."""
    table = []
    for row in rows:
        cells = []
        for days in WINDOWS:
            value = row[f"retained_{days}"]
            done = window_done(row["cohort"], days, today)
            cells.append(
                {"text": fmt.percent(value), "color": heat(value), "open": not done, "value": value}
            )
        table.append(
            {
                "cohort": fmt.month(row["cohort"]),
                "members": fmt.count(row["members"]),
                "cells": cells,
                "first_reward": fmt.percent(row["first_reward_90"]),
                "median": fmt.decimal(row["median_days_to_first_reward"]),
            }
        )
    labels = [_("{days} days").format(days=days) for days in WINDOWS]
    # A window some members have not lived through yet is drawn dashed, with a hollow point.
    sets = [
        series(
            fmt.month(row["cohort"]),
            [row[f"retained_{days}"] for days in WINDOWS],
            PALETTE[i % len(PALETTE)],
            open=[not window_done(row["cohort"], days, today) for days in WINDOWS],
        )
        for i, row in enumerate(rows)
    ]
    curves = chart(
        "retention",
        _("Retention by monthly cohort"),
        notes(_)["cohorts"],
        labels,
        sets,
        "percent",
        _(
            "Share of each month's new members who came back; dashed where still counting. The table above has the figures."
        ),
    )
    return {"rows": table, "chart": curves, "window": RETENTION_WINDOW_DAYS}


def first_reward_chart(kpi: kpis.Kpi, fmt: Fmt, _: Translate) -> dict[str, Any]:
    labels = [fmt.month(d) for d in kpi.labels]
    sets = [series(_("Reached a first reward within 90 days"), kpi.series["share"], BROWN, "bar")]
    found = chart(
        "first-reward",
        _("First reward within 90 days"),
        notes(_)["cohorts"],
        labels,
        sets,
        "percent",
        _("{value} of new members reached a first reward within 90 days.").format(
            value=fmt.percent(kpi.value)
        ),
    )
    found["table"] = figures_table(fmt, _("Cohort"), labels, sets, "percent")
    return found


def ranking_chart(
    key: str, title: str, note: str, names: list[str], values: list[int], label: str, unit: str
) -> dict[str, Any]:
    return chart(
        key,
        title,
        note,
        names,
        [series(label, values, BROWN, "bar")],
        unit,
        f"{title}: " + ", ".join(f"{n} {v}" for n, v in zip(names, values, strict=True)),
        horizontal=True,
    )


def reward_title(row: dict[str, Any], lang: str) -> str:
    title = row.get("title") or {}
    return str(title.get(lang) or title.get("en") or row.get("slug", ""))


def csv_columns(_: Translate, currency: str) -> dict[str, list[tuple[str, str]]]:
    """The columns of each table's CSV, headed in the page's language."""
    return {
        "cohorts": [
            ("cohort", _("Cohort")),
            ("members", _("Members")),
            ("retained_30", _("Back within 30 days (%)")),
            ("retained_60", _("Back in days 31-60 (%)")),
            ("retained_90", _("Back in days 61-90 (%)")),
            ("first_reward_90", _("First reward within 90 days (%)")),
            ("median_days_to_first_reward", _("Median days to the first reward")),
        ],
        "staff": [
            ("rank", _("Rank")),
            ("name", _("Staff member")),
            ("enrolments", _("Enrolments")),
            ("purchases", _("Purchases")),
            ("enrolment_rate", _("Enrolment rate (%)")),
        ],
        "rewards": [
            ("shown_title", _("Reward")),
            ("slug", _("Id")),
            ("redemptions", _("Redemptions")),
            ("rating", _("Average rating")),
            ("ratings", _("Ratings")),
        ],
        "causes": [
            ("shown_name", _("Cause")),
            ("points", _("Points donated")),
            ("donors", _("Donors")),
            ("donations", _("Donations")),
        ],
    }
