"""Customer value in the console: RFM segments with their revenue, the Pareto view, the R×F
grid, and the predicted 12-month value as a distribution, from the latest nightly refresh; a
manager can run the refresh now. Each table downloads as CSV."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import Connection

from lealtad.analytics import segments as analytics_segments
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
TOP_MEMBERS = 20
CSV_MEMBERS = 10_000


def _refresh() -> Any:
    # numpy and scipy only when the customers page is used, not in every app process.
    from lealtad.analytics import refresh

    return refresh


def _view(conn: Connection, business_id: int) -> dict[str, Any]:
    found_rfm = _refresh().snapshot(conn, business_id, "rfm")
    found_clv = _refresh().snapshot(conn, business_id, "clv")
    return {
        "rfm": found_rfm[1] if found_rfm else None,
        "rfm_at": found_rfm[0] if found_rfm else None,
        "clv": found_clv[1] if found_clv else None,
        "top": analytics_segments.top_members(conn, business_id, TOP_MEMBERS),
    }


@router.get("/admin/customers", response_class=HTMLResponse)
def customers_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    done: str = "",
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
        "words": {
            "members": _("Members"),
            "share_members": _("Share of members, least spending first"),
            "share_revenue": _("Share of revenue"),
            "equal": _("Everyone spending the same"),
            "value": _("Predicted value, next 12 months"),
        },
    }
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
