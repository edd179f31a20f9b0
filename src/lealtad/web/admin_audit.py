"""The audit log in the admin console: who did what to what, with the details before and after,
newest first, a page at a time, filtered by action and by person; and the same as CSV."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from lealtad.deps import Db
from lealtad.kit.clock import as_utc
from lealtad.kit.ids import Cursor
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin import AcceptLanguage, console
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager

router = APIRouter(include_in_schema=False)
PAGE = 50
Filter = Annotated[str, Query(max_length=100)]


def names(conn: Any, business_id: int) -> dict[str, str]:
    """Readable names for the `kind:id` actors and targets the log stores."""
    known = {"system": "system"}
    for person in tenancy_store.business_staff(conn, business_id):
        known[f"staff:{person.id}"] = person.name or person.email
    for key in tenancy_store.business_api_keys(conn, business_id):
        known[f"api_key:{key.id}"] = f"{key.name} (lk_{key.prefix})"
    for location in tenancy_store.business_locations(conn, business_id):
        known[f"location:{location.id}"] = location.name
    return known


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


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    staff: CurrentManager,
    db: Db,
    action: Filter = "",
    actor: Filter = "",
    before: Cursor = None,
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    bid = staff.business_id
    with db.read() as conn:
        business, _me, language = console(conn, staff, lang, accept_language)
        rows = tenancy_store.audit_entries(
            conn, bid, PAGE + 1, before, action=action or None, actor=actor or None
        )
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
        names=known,
        changes=changes,
        actions=actions,
        actors=actors,
        action=action,
        actor=actor,
        next_before=rows[-1].id if more and rows else None,
    )


def _cell(value: str) -> str:
    # A spreadsheet runs a cell that starts with one of these as a formula.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _csv_lines(db: Db, business_id: int, action: str | None, actor: str | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["id", "at_utc", "actor", "actor_name", "action", "target", "details"])
    with db.read() as conn:
        known = names(conn, business_id)
    before = None
    while True:
        with db.read() as conn:
            rows = tenancy_store.audit_entries(
                conn, business_id, 500, before, action=action, actor=actor
            )
        for row in rows:
            writer.writerow(
                [
                    row.id,
                    as_utc(row.at).isoformat(),
                    _cell(row.actor),
                    _cell(known.get(row.actor, "")),
                    _cell(row.action),
                    _cell(row.target),
                    _cell(json.dumps(row.details, ensure_ascii=False, default=str)),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < 500:
            return
        before = rows[-1].id


@router.get("/admin/audit.csv")
def audit_csv(
    staff: CurrentManager, db: Db, action: Filter = "", actor: Filter = ""
) -> StreamingResponse:
    """The whole log (or the filtered part), read in batches so memory stays flat."""
    lines = _csv_lines(db, staff.business_id, action or None, actor or None)
    return StreamingResponse(
        lines,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
    )
