"""The charts of the analytics page drawn over the period's buckets: enrolment rate against its
goal, new and visiting members, members by activity, tickets, revenue share, visits and the
points (and cashback) flows, each with an aria summary and the table of its figures."""

from __future__ import annotations

from datetime import date
from typing import Any

from lealtad.analytics import kpis
from lealtad.analytics.periods import Scope
from lealtad.web.admin.reports.analytics_tables import (
    BLUE,
    BROWN,
    GREEN,
    GREY,
    ORANGE,
    Fmt,
    Translate,
    chart,
    figures_table,
    notes,
    series,
)


class Board:
    """Every chart and card of one scope."""

    def __init__(
        self, board: dict[str, kpis.Kpi], scope: Scope, fmt: Fmt, _: Translate, today: date
    ) -> None:
        self.board, self.scope, self.fmt, self._, self.today = board, scope, fmt, _, today
        self.notes = notes(_)
        self.labels = [fmt.bucket(b, scope.grain) for b in scope.buckets()]
        self.first = {"day": _("Day"), "week": _("Week starting"), "month": _("Month")}[scope.grain]

    def _bucketed(
        self, key: str, title: str, note: str, sets: list[dict[str, Any]], unit: str, summary: str
    ) -> dict[str, Any]:
        found = chart(key, title, self.notes[note], self.labels, sets, unit, summary)
        found["table"] = figures_table(self.fmt, self.first, self.labels, sets, unit)
        return found

    def charts(self) -> list[dict[str, Any]]:
        _, fmt, b = self._, self.fmt, self.board
        rate, members, mvo, points = (
            b["enrolment_rate"],
            b["members"],
            b["members_vs_others"],
            b["points"],
        )
        out = [
            self._bucketed(
                "enrolment",
                _("Enrolment rate"),
                "all",
                [
                    series(_("Purchases by members"), rate.series["rate"], BROWN),
                    series(_("Goal"), [rate.goal] * len(self.labels), GREEN, dash=True),
                ],
                "percent",
                _("Enrolment rate: {value} of purchases by members; goal {goal}.").format(
                    value=fmt.percent(rate.value), goal=fmt.percent(rate.goal)
                ),
            ),
            self._bucketed(
                "members",
                _("New and visiting members"),
                "joined",
                [
                    series(_("New members"), members.series["new"], BROWN, "bar"),
                    series(_("Members who bought"), members.series["visiting"], BLUE),
                ],
                "count",
                fmt.plural(
                    "{new} new member in the period.",
                    "{new} new members in the period.",
                    members.value,
                ).format(new=fmt.count(members.value)),
            ),
            self._status(),
            self._money_lines(mvo),
            self._bucketed(
                "share",
                _("Revenue from members"),
                "all",
                [series(_("Share of revenue"), mvo.series["member_share"], BROWN)],
                "percent",
                _("Members brought {value} of revenue, net of refunds.").format(
                    value=fmt.percent(mvo.value)
                ),
            ),
            self._bucketed(
                "visits",
                _("Visits per member"),
                "all",
                [series(_("Purchases per member who bought"), mvo.series["visits"], BLUE)],
                "ratio",
                fmt.plural(
                    "{value} purchase per member who bought.",
                    "{value} purchases per member who bought.",
                    mvo.extra["visits_per_member"],
                ).format(value=fmt.decimal(mvo.extra["visits_per_member"])),
            ),
            self._flows(points, _("Points"), "points"),
        ]
        cashback = b["cashback"]
        if cashback.extra["issued"] or cashback.extra["outstanding"]:
            out.append(self._flows(cashback, _("Cashback"), "money"))
        return out

    def _status(self) -> dict[str, Any]:
        _, fmt, extra = self._, self.fmt, self.board["members"].extra
        labels = [
            _("Bought in the last 30 days"),
            _("Bought 31 to 90 days ago"),
            _("Lapsed: no purchase in 90 days"),
            _("Never bought"),
        ]
        values = [
            extra["active_30"],
            extra["active_90"] - extra["active_30"],
            extra["lapsed"],
            extra["never_bought"],
        ]
        sets = [series(_("Members"), values, BROWN, "doughnut", colors=[GREEN, BLUE, ORANGE, GREY])]
        found = chart(
            "status",
            _("Members by activity"),
            self.notes["status"],
            labels,
            sets,
            "count",
            fmt.plural(
                "{active} of {total} member bought in the last 90 days; lapsed: {lapsed}.",
                "{active} of {total} members bought in the last 90 days; lapsed: {lapsed}.",
                extra["total"],
            ).format(
                active=fmt.count(extra["active_90"]),
                total=fmt.count(extra["total"]),
                lapsed=fmt.count(extra["lapsed"]),
            ),
            kind="doughnut",
        )
        found["table"] = figures_table(fmt, _("Members"), labels, sets, "count")
        found["table"]["head"][1] = _("How many")
        return found

    def _money_lines(self, mvo: kpis.Kpi) -> dict[str, Any]:
        _, fmt = self._, self.fmt
        sets = [
            series(
                _("Members"),
                [fmt.major(v) for v in mvo.series["member_ticket"]],
                BROWN,
                minor=mvo.series["member_ticket"],
            ),
            series(
                _("Everyone else"),
                [fmt.major(v) for v in mvo.series["other_ticket"]],
                GREY,
                minor=mvo.series["other_ticket"],
            ),
        ]
        return self._bucketed(
            "tickets",
            _("Average ticket"),
            "all",
            sets,
            "money",
            _("Average ticket: {members} for members, {others} for everyone else.").format(
                members=fmt.cash(mvo.extra["member_ticket"]),
                others=fmt.cash(mvo.extra["other_ticket"]),
            ),
        )

    def _flows(self, kpi: kpis.Kpi, title: str, unit: str) -> dict[str, Any]:
        _, fmt, s = self._, self.fmt, kpi.series

        def line(name: str) -> dict[str, Any]:
            if unit == "money":
                return {"data": [fmt.major(v) for v in s[name]], "minor": s[name]}
            return {"data": s[name]}

        sets = [
            series(_("Issued"), kind="bar", color=BROWN, **line("issued")),
            series(_("Redeemed or donated"), kind="bar", color=BLUE, **line("redeemed")),
            series(_("Expired"), kind="bar", color=ORANGE, **line("expired")),
            series(_("Held by members"), color=GREY, axis="y2", **line("outstanding")),
        ]
        extra = kpi.extra
        shown = fmt.cash if unit == "money" else fmt.count
        return self._bucketed(
            "cashback" if unit == "money" else "points",
            title,
            "ledger",
            sets,
            unit,
            _("{issued} issued, {redeemed} redeemed, {expired} expired; {held} held.").format(
                issued=shown(extra["issued"]),
                redeemed=shown(extra["redeemed"]),
                expired=shown(extra["expired"]),
                held=shown(extra["outstanding"]),
            ),
        )
