"""Customer value in the console: RFM segments with their revenue, the Pareto view, the R×F
grid, the predicted 12-month value as a distribution and the fitted models with their units,
from the latest nightly refresh; a manager can run the refresh now. The latest back-test of the
models (its tracking chart) is shown too, and can be run from the page. Each table downloads as
CSV."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.analytics import segments as analytics_segments
from lealtad.analytics import zone_store
from lealtad.analytics.csv_out import csv_response
from lealtad.deps import Db, Now
from lealtad.web import sessions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.admin.customers.members_view import Formats
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.segment_labels import segment_label, segment_names
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
# Why a back-test run from the page did not run, as a word in the address after the redirect.
BACKTEST_FAILURES = frozenset({"dates", "history"})
TOP_MEMBERS = 20
CSV_MEMBERS = 10_000


def _refresh() -> Any:
    # numpy and scipy only when the customers page is used, not in every app process.
    from lealtad.analytics import refresh

    return refresh


def _view(conn: Connection, business_id: int) -> dict[str, Any]:
    found_rfm = _refresh().snapshot(conn, business_id, "rfm")
    found_clv = _refresh().snapshot(conn, business_id, "clv")
    found_test = _refresh().snapshot(conn, business_id, "backtest")
    return {
        "rfm": found_rfm[1] if found_rfm else None,
        "rfm_at": found_rfm[0] if found_rfm else None,
        "clv": found_clv[1] if found_clv else None,
        "backtest": found_test[1] if found_test else None,
        "top": analytics_segments.top_members(conn, business_id, TOP_MEMBERS),
    }


def _tracking(found: dict[str, Any] | None) -> dict[str, Any] | None:
    """The back-test's cumulative repeat visits for the chart: actual, the model's tracking,
    and the holdout forecast drawn from the actual count at the calibration end."""
    if not found or not found.get("weeks"):
        return None
    weeks = found["weeks"]
    at_cut = next((w["cumulative_actual"] for w in weeks if w["week"] == 0), 0)
    return {
        "labels": [w["end"] for w in weeks],
        "actual": [w["cumulative_actual"] for w in weeks],
        "predicted": [w["cumulative_predicted"] for w in weeks],
        "forecast": [
            None if w["cumulative_forecast"] is None else at_cut + w["cumulative_forecast"]
            for w in weeks
        ],
        "calibration_end": found["calibration_end"],
    }


@router.get("/admin/customers", response_class=HTMLResponse)
def customers_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    done: str = "",
    failed: str = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        shown = _view(conn, staff.business_id)
    _ = translator(language)
    names = segment_names(_)
    chart = {
        "segments": {
            "labels": [names[s["segment"]] for s in shown["rfm"]["segments"]],
            "members": [s["members"] for s in shown["rfm"]["segments"]],
        }
        if shown["rfm"]
        else None,
        "lorenz": shown["rfm"]["pareto"]["lorenz"] if shown["rfm"] else None,
        "histogram": shown["clv"]["histogram"] if shown["clv"] else None,
        "tracking": _tracking(shown["backtest"]),
        "words": {
            "members": _("Members"),
            "share_members": _("Share of members, least spending first"),
            "share_revenue": _("Share of revenue"),
            "equal": _("Everyone spending the same"),
            "value": _("Predicted value, next 12 months"),
            "actual": _("Actual repeat visits"),
            "predicted": _("Model (tracking)"),
            "forecast": _("Forecast from each customer's history"),
            "cumulative": _("Cumulative repeat visits"),
            "week_ending": _("Week ending"),
            "calibration_end": _("End of calibration"),
        },
    }
    from lealtad.analytics import models
    from lealtad.kit.money import minor_exponent

    exponent = minor_exponent(business.currency)
    fitted = models.described(shown["clv"], business.currency, exponent)
    return render_page(
        request,
        "admin_customers.html",
        language,
        business=business,
        staff=staff,
        fmt=Formats(business, language),
        segment=lambda code: segment_label(code, _),
        chart=chart,
        refreshed=done == "refreshed",
        backtested=done == "backtest",
        failed=failed if failed in BACKTEST_FAILURES else "",
        fitted=fitted,
        minor_exponent=exponent,
        **shown,
    )


@router.post("/admin/customers/refresh")
def refresh_now(
    staff: CurrentManager, db: Db, now: Now, csrf: Annotated[str, Form(max_length=100)] = ""
) -> Response:
    """Scores every member now instead of waiting for the nightly jobs."""
    sessions.require_csrf(staff.csrf, csrf)
    with db.transaction() as conn:
        _refresh().refresh(conn, staff.business_id, now)
    return RedirectResponse("/admin/customers?done=refreshed", status_code=303)


@router.get("/admin/customers/segments.csv")
def segments_csv(staff: CurrentManager, db: Db) -> Response:
    with db.read() as conn:
        found = _refresh().snapshot(conn, staff.business_id, "rfm")
    rows = found[1]["segments"] if found else []
    columns = [("segment", "segment"), ("members", "members"), ("revenue", "revenue_minor")]
    return csv_response("segments.csv", columns, rows)


@router.get("/admin/customers/grid.csv")
def grid_csv(staff: CurrentManager, db: Db) -> Response:
    with db.read() as conn:
        found = _refresh().snapshot(conn, staff.business_id, "rfm")
    grid = found[1]["grid"] if found else []
    rows = [
        {"recency": r + 1, "frequency": f + 1, "members": count}
        for r, row in enumerate(grid)
        for f, count in enumerate(row)
    ]
    columns = [
        ("recency", "recency_score"),
        ("frequency", "frequency_score"),
        ("members", "members"),
    ]
    return csv_response("rfm-grid.csv", columns, rows)


@router.get("/admin/customers/value.csv")
def value_csv(staff: CurrentManager, db: Db, now: Now) -> Response:
    """Members by predicted value, highest first (the first ten thousand)."""
    with db.read() as conn:
        rows = analytics_segments.top_members(conn, staff.business_id, CSV_MEMBERS)
    columns = [
        ("member_id", "member_id"),
        ("card_number", "card_number"),
        ("name", "name"),
        ("segment", "segment"),
        ("visit_days", "visits"),
        ("spend", "spend_minor"),
        ("p_alive", "p_alive"),
        ("expected_visits", "expected_visits_12m"),
        ("predicted_value", "predicted_value_12m_minor"),
    ]
    stamp = now.date().isoformat()
    return csv_response(f"customer-value-{stamp}.csv", columns, rows)


@router.post("/admin/customers/backtest")
def backtest_now(
    staff: CurrentManager,
    db: Db,
    now: Now,
    csrf: Annotated[str, Form(max_length=100)] = "",
    calibration_end: Annotated[str, Form(max_length=10)] = "",
    holdout_end: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Fits the models on the history up to the calibration end and keeps the comparison with
    what followed (to the holdout end, yesterday if empty) for the page."""
    from datetime import timedelta

    from lealtad.analytics import backtest, clv
    from lealtad.errors import Invalid

    sessions.require_csrf(staff.csrf, csrf)
    first, last = _day_or_none(calibration_end), _day_or_none(holdout_end)
    if first is None or (holdout_end and last is None):
        return RedirectResponse("/admin/customers?failed=dates#backtest-h", status_code=303)
    try:
        with db.transaction() as conn:
            if last is None:
                last = zone_store.local_day(conn, staff.business_id, now) - timedelta(days=1)
            found = backtest.run(conn, staff.business_id, first, last)
            backtest.store(conn, staff.business_id, found, now)
    except Invalid:
        return RedirectResponse("/admin/customers?failed=dates#backtest-h", status_code=303)
    except clv.NotEnoughHistory:
        return RedirectResponse("/admin/customers?failed=history#backtest-h", status_code=303)
    return RedirectResponse("/admin/customers?done=backtest#backtest-h", status_code=303)


def _day_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.get("/admin/customers/backtest.csv")
def backtest_csv(staff: CurrentManager, db: Db) -> Response:
    """The latest back-test, one row per week (calibration and holdout), as on the chart."""
    from lealtad.analytics import backtest

    with db.read() as conn:
        found = _refresh().snapshot(conn, staff.business_id, backtest.SNAPSHOT)
    rows = found[1]["weeks"] if found else []
    stamp = found[1]["calibration_end"] if found else "none"
    return csv_response(f"backtest-{stamp}.csv", backtest.COLUMNS, rows)
