"""The audit log in the admin console: who did what to what, before and after, when (in the
business's time zone) and from where, newest first, a page at a time, filtered by action, person
and dates; and the same as CSV or JSON. Managers and owners only."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from lealtad.deps import Db
from lealtad.kit.dates import parse_day
from lealtad.kit.ids import Cursor
from lealtad.tenancy import audit_view
from lealtad.tenancy import store as tenancy_store
from lealtad.web import audit_actions
from lealtad.web.admin.console import AcceptLanguage, console
from lealtad.web.i18n import translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager
from lealtad.web.times import Times

router = APIRouter(include_in_schema=False)
PAGE = 50
Filter = Annotated[str, Query(max_length=100)]
# An empty date field comes as "": read it as no date rather than refuse the form.
Day = Annotated[str, Query(max_length=10, pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
names = audit_view.names


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)


def changes(details: Any) -> list[tuple[str, str, str | None]]:
    """Each detail as (field, value or before, after); after is None when it is not a change."""
    if not isinstance(details, dict):
        return [("", _short(details), None)]
    shown: list[tuple[str, str, str | None]] = []
    for key, value in details.items():
        if isinstance(value, dict) and set(value) == {"before", "after"}:
            shown.append((str(key), _short(value["before"]), _short(value["after"])))
        else:
            shown.append((str(key), _short(value), None))
    return shown


def _day(text: str) -> date | None:
    try:
        return parse_day(text)
    except ValueError:
        return None


def _filters(conn: Any, business_id: int, action: str, actor: str, start: str, end: str) -> Any:
    zone = tenancy_store.business(conn, business_id).timezone
    since, until = audit_view.day_range(_day(start), _day(end), zone)
    return audit_view.Filters(action or None, actor or None, since, until), zone


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    action: Filter = "",
    actor: Filter = "",
    start: Day = "",
    end: Day = "",
    before: Cursor = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    bid = staff.business_id
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        filters, zone = _filters(conn, bid, action, actor, start, end)
        rows = filters.rows(conn, bid, PAGE + 1, before)
        actions = tenancy_store.audit_actions(conn, bid)
        known = names(conn, bid)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    actors = sorted(
        ((key, name) for key, name in known.items() if key.startswith(("staff:", "api_key:"))),
        key=lambda item: item[1].lower(),
    )
    return render_page(
        request,
        "admin_audit.html",
        language,
        business=business,
        staff=staff,
        rows=rows,
        times=Times(zone, language),
        names=known,
        changes=changes,
        actions=actions,
        action_said={a: audit_actions.said(a, translator(language)) for a in actions},
        who=lambda value: audit_actions.who(value, known, translator(language)),
        field_label=lambda name: audit_actions.field(name, translator(language)),
        actors=actors,
        action=action,
        actor=actor,
        start=start,
        end=end,
        next_before=rows[-1].id if more and rows else None,
    )


def _export(
    staff: Any, db: Db, action: str, actor: str, start: str, end: str, kind: str
) -> StreamingResponse:
    with db.read() as conn:
        filters, zone = _filters(conn, staff.business_id, action, actor, start, end)
    if kind == "csv":
        lines = audit_view.csv_lines(db, staff.business_id, filters, zone)
        media = "text/csv; charset=utf-8"
    else:
        lines = audit_view.json_array(db, staff.business_id, filters)
        media = "application/json"
    return StreamingResponse(
        lines,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="audit-log.{kind}"'},
    )


@router.get("/admin/audit.csv")
def audit_csv(
    staff: CurrentManager,
    db: Db,
    action: Filter = "",
    actor: Filter = "",
    start: Day = "",
    end: Day = "",
) -> StreamingResponse:
    """The whole log (or the filtered part), read in batches so memory stays flat."""
    return _export(staff, db, action, actor, start, end, "csv")


@router.get("/admin/audit.json")
def audit_json(
    staff: CurrentManager,
    db: Db,
    action: Filter = "",
    actor: Filter = "",
    start: Day = "",
    end: Day = "",
) -> StreamingResponse:
    return _export(staff, db, action, actor, start, end, "json")
