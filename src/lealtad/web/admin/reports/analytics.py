"""The analytics page of the admin console: filters (a preset period or custom dates by day, week
or month; a store; a staff member), headline cards, a chart for every KPI with its figures as a
table, the cohort heatmap, the staff leaderboard, reward popularity and donations, each table as
CSV, and the enrolment goal."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.dates import format_date
from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.analytics import kpis, preferences, rankings, zone_store
from lealtad.analytics.api import set_goal
from lealtad.analytics.api_schemas import ScopeQuery, scope_from
from lealtad.analytics.csv_out import csv_response
from lealtad.analytics.periods import GRAINS, Scope, default_scope
from lealtad.deps import Db, Now
from lealtad.errors import Invalid, LealtadError, NotFound
from lealtad.kit.ids import MAX_ID
from lealtad.tenancy import store as tenancy_store
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.reports.analytics_cards import cards, figures_csv
from lealtad.web.admin.reports.analytics_charts import Board
from lealtad.web.admin.reports.analytics_tables import (
    Fmt,
    Translate,
    cohort_view,
    csv_columns,
    first_reward_chart,
    notes,
    ranking_chart,
    reward_title,
)
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Query(max_length=20)]
PERIODS = ("30d", "12w", "12m", "custom")
TABLES = ("cohorts", "staff", "rewards", "causes", "figures")


@dataclass
class Filters:
    """The filter form as typed, kept as text so that a bad value is shown back to be fixed."""

    period: str = "30d"
    start: str = ""
    end: str = ""
    grain: str = ""
    location: str = ""
    staff: str = ""

    def query(self) -> ScopeQuery:
        if self.period not in PERIODS:
            raise Invalid("unknown period", code="invalid_filter")
        location = _id(self.location, "location_not_found")
        staff_id = _id(self.staff, "staff_not_found")
        if self.period != "custom":
            return ScopeQuery(period=self.period, location_id=location, staff_id=staff_id)
        if self.grain and self.grain not in GRAINS:
            raise Invalid("unknown grain", code="invalid_filter")
        return ScopeQuery(
            start=_day(self.start),
            end=_day(self.end),
            grain=self.grain or "day",
            location_id=location,
            staff_id=staff_id,
        )

    def params(self, lang: str, **more: str) -> str:
        shown = {k: v for k, v in asdict(self).items() if v} | {"lang": lang} | more
        return urlencode(shown)


def _id(value: str, code: str) -> int | None:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_ID:
        raise NotFound("no such id", code=code)
    return int(value)


def _day(value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("not a date", code="invalid_date") from None


def problems(_: Translate) -> dict[str, str]:
    return {
        "invalid_date": _("Write dates as year-month-day, for example 2026-03-01."),
        "invalid_period": _("The period ends before it starts."),
        "period_too_long": _(
            "That period has too many days for one chart; group it by week or by month."
        ),
        "period_out_of_range": _("Choose dates between the years 2000 and 2199."),
        "location_not_found": _("That location is not one of this business's."),
        "staff_not_found": _("That staff member is not one of this business's."),
        "invalid_filter": _("Choose one of the options offered."),
    }


def _filters(period: str, start: str, end: str, grain: str, location: str, staff: str) -> Filters:
    return Filters(
        period or ("custom" if start or end else "30d"), start, end, grain, location, staff
    )


def _scope(
    conn: Connection, bid: int, today: date, filters: Filters
) -> tuple[Scope, str | None, int]:
    """The scope asked for, or the last 30 days with the error's code and status."""
    try:
        return scope_from(conn, bid, today, filters.query()), None, 200
    except LealtadError as error:
        return default_scope(bid, today), error.code, error.http_status


def _view(
    conn: Connection, staff: StaffSession, now: datetime, language: str, filters: Filters
) -> dict[str, Any]:
    bid = staff.business_id
    _ = translator(language)
    business = tenancy_store.business(conn, bid)
    fmt = Fmt(business, language)
    today = zone_store.local_day(conn, bid, now)
    scope, problem, status = _scope(conn, bid, today, filters)
    board = kpis.dashboard(conn, scope, now)
    charts = Board(board, scope, fmt, _, today).charts()
    cohorts = cohort_view(board["retention"].extra["cohorts"], fmt, _, today)
    leaders = [r | {"rank": n} for n, r in enumerate(rankings.staff_leaderboard(conn, scope), 1)]
    popular = [
        r | {"shown_title": reward_title(r, language)}
        for r in rankings.reward_popularity(conn, scope)
    ]
    causes = [
        r | {"shown_name": r["name"].get(language) or r["name"].get("es", "")}
        for r in rankings.donations_by_cause(conn, bid)
    ]
    note = notes(_)
    ranking_charts = [
        ranking_chart(
            "staff",
            _("Enrolments by staff member"),
            note["staff"],
            [r["name"] for r in leaders],
            [r["enrolments"] for r in leaders],
            _("Enrolments"),
            "count",
        ),
        ranking_chart(
            "rewards",
            _("Redemptions by reward"),
            note["rewards"],
            [r["shown_title"] for r in popular],
            [r["redemptions"] for r in popular],
            _("Redemptions"),
            "count",
        ),
        ranking_chart(
            "causes",
            _("Points donated by cause"),
            note["causes"],
            [r["shown_name"] for r in causes],
            [r["points"] for r in causes],
            _("Points donated"),
            "points",
        ),
    ]
    extra = [first_reward_chart(board["first_reward"], fmt, _), cohorts["chart"]]
    every = charts + extra + ranking_charts
    return {
        "business": business,
        "fmt": fmt,
        "scope": scope,
        "today": today,
        "http_status": status,
        "error": problems(_).get(problem, problems(_)["invalid_filter"]) if problem else None,
        "board": board,
        "cards": cards(board, fmt, _, scope.grain),
        "charts": charts,
        "first_chart": extra[0],
        "cohorts": cohorts,
        "rankings": {c["id"]: c for c in ranking_charts},
        "leaders": leaders,
        "popular": popular,
        "causes": causes,
        "locations": tenancy_store.business_locations(conn, bid),
        "people": tenancy_store.business_staff(conn, bid),
        "goal": preferences.get(conn, bid).enrolment_goal,
        "payload": {
            "lang": language,
            "currency": business.currency,
            "charts": [{k: v for k, v in c.items() if k != "table"} for c in every],
        },
        "period_text": _period_text(scope, fmt, _),
    }


def _period_text(scope: Scope, fmt: Fmt, _: Translate) -> str:
    sentence = {
        "day": _("From {start} to {end}, day by day."),
        "week": _("From {start} to {end}, week by week."),
        "month": _("From {start} to {end}, month by month."),
    }[scope.grain]
    return sentence.format(
        start=format_date(scope.start, "medium", locale=fmt.locale),
        end=format_date(scope.end, "medium", locale=fmt.locale),
    )


def _page(
    request: Request,
    staff: StaffSession,
    db: Db,
    now: datetime,
    lang: str | None,
    accept_language: str | None,
    filters: Filters,
    *,
    status: int = 200,
    **more: Any,
) -> HTMLResponse:
    with db.read() as conn:
        _business, _me, language = console(conn, staff, lang, accept_language)
        view = _view(conn, staff, now, language, filters)
    return render_page(
        request,
        "admin_analytics.html",
        language,
        status if status != 200 else view["http_status"],
        staff=staff,
        filters=filters,
        periods=PERIODS,
        links={t: f"/admin/analytics/{t}.csv?{filters.params(language)}" for t in TABLES},
        explicit_lang=lang or "",
        **view,
        **more,
    )


@router.get("/admin/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    period: Text = "",
    start: Text = "",
    end: Text = "",
    grain: Text = "",
    location: Text = "",
    who: Annotated[str, Query(alias="staff", max_length=20)] = "",
    notice: Text = "",
) -> HTMLResponse:
    filters = _filters(period, start, end, grain, location, who)
    return _page(
        request, staff, db, now, lang, accept_language, filters, notice=notice, goal_error=None
    )


@router.get("/admin/analytics/{table}.csv")
def analytics_csv(
    table: Annotated[str, Path(max_length=20)],
    staff: CurrentManager,
    db: Db,
    now: Now,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
    period: Text = "",
    start: Text = "",
    end: Text = "",
    grain: Text = "",
    location: Text = "",
    who: Annotated[str, Query(alias="staff", max_length=20)] = "",
) -> Response:
    """Each table of the page as CSV, headed in the page's language, for the same filters."""
    if table not in TABLES:
        raise NotFound("no such table", code="table_not_found")
    filters = _filters(period, start, end, grain, location, who)
    with db.read() as conn:
        _business, _me, language = console(conn, staff, lang, accept_language)
        view = _view(conn, staff, now, language, filters)
    if view["http_status"] != 200:
        raise Invalid(view["error"], code="invalid_filter", http_status=view["http_status"])
    _ = translator(language)
    scope: Scope = view["scope"]
    name = f"{table}-{view['business'].slug}-{scope.start.isoformat()}-{scope.end.isoformat()}"
    if table == "figures":
        columns, rows = figures_csv(view["charts"], scope.buckets())
        return csv_response(name, columns, rows)
    rows = {
        "cohorts": view["board"]["retention"].extra["cohorts"],
        "staff": view["leaders"],
        "rewards": view["popular"],
        "causes": view["causes"],
    }[table]
    return csv_response(name, csv_columns(_, view["business"].currency)[table], rows)


@router.post("/admin/analytics/goal", response_class=HTMLResponse)
def save_goal(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Annotated[str, Form(max_length=100)] = "",
    goal: Annotated[str, Form(max_length=20)] = "",
    lang: Annotated[str, Form(max_length=5)] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    start: Annotated[str, Form(max_length=20)] = "",
    end: Annotated[str, Form(max_length=20)] = "",
    grain: Annotated[str, Form(max_length=20)] = "",
    location: Annotated[str, Form(max_length=20)] = "",
    who: Annotated[str, Form(alias="staff", max_length=20)] = "",
    accept_language: AcceptLanguage = None,
) -> Response:
    """The enrolment goal, a whole percentage from 1 to 100."""
    sessions.require_csrf(staff.csrf, csrf)
    filters = _filters(period, start, end, grain, location, who)
    value = goal.strip().rstrip("%").strip()
    if not value.isdigit() or not 1 <= int(value) <= 100:
        with db.read() as conn:
            _business, _me, language = console(conn, staff, lang or None, accept_language)
        message = translator(language)("The goal is a whole percentage from 1 to 100.")
        return _page(
            request,
            staff,
            db,
            now,
            lang or None,
            accept_language,
            filters,
            status=422,
            notice="",
            goal_error=message,
            goal_value=goal,
        )
    with db.transaction() as conn:
        set_goal(conn, staff.principal, int(value), now)
        language = console(conn, staff, lang or None, accept_language)[2]
    where = f"/admin/analytics?{filters.params(language, notice='goal')}#goal"
    return RedirectResponse(where, status_code=303)
