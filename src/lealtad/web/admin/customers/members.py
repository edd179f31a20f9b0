"""Members in the admin console: the searchable, filtered list with its CSV export, and each
member's page with tags, balances, tier, the explained ledger and a manual adjustment."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse

from lealtad.db.engine import Database
from lealtad.deps import Db, Now
from lealtad.errors import NotFound
from lealtad.kit.csvsafe import safe_cell
from lealtad.kit.dates import parse_day
from lealtad.kit.ids import MAX_ID, IdPath
from lealtad.kit.money import Money
from lealtad.members import listing as search
from lealtad.rules.names import name_in
from lealtad.tenancy import store as tenancy_store
from lealtad.web.admin.customers import members_view as view
from lealtad.web.admin.messages.delivery import kind_names
from lealtad.web.i18n import pick_language, translator
from lealtad.web.pages import Lang, render_page
from lealtad.web.sessions import CurrentManager, StaffSession

router = APIRouter(include_in_schema=False)
AcceptLanguage = Annotated[str | None, Header(max_length=200)]
Text = Annotated[str, Query(max_length=200)]
PAGE = 50
NOTICES = ("adjusted", "tags", "reissued", "erased", "contact")


def language(lang: str | None, accept_language: str | None, business: Any) -> str:
    return pick_language(lang, accept_language, business.locale)


def _day(value: str) -> date | None:
    return parse_day(value)


def _filters(
    q: str, tier: str, tag: str, status: str, start: str, end: str, location: str, sort: str
) -> tuple[search.Filters, bool]:
    """The filters as asked; a date or location that does not parse is dropped, and said so."""
    ok = True
    try:
        enrolled_from = _day(start)
    except ValueError:
        enrolled_from, ok = None, False
    try:
        enrolled_to = _day(end)
    except ValueError:
        enrolled_to, ok = None, False
    location_id = int(location) if location.isdigit() and 0 < int(location) <= MAX_ID else None
    if location and location_id is None:
        ok = False
    return (
        search.Filters(
            q=q.strip(),
            tier=tier,
            tag=tag.strip(),
            status=status,
            enrolled_from=enrolled_from,
            enrolled_to=enrolled_to,
            location_id=location_id,
            sort=sort if sort in search.SORTS else "-enrolled",
        ),
        ok,
    )


def _url(path: str, params: dict[str, Any]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _tiers(definition: Any) -> list[Any]:
    return list(definition.tiers.levels) if definition and definition.tiers else []


def list_page(
    request: Request,
    staff: StaffSession,
    db: Database,
    now: datetime,
    lang: str | None,
    accept_language: str | None,
    filters: search.Filters,
    after: str = "",
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    bid = staff.business_id
    with db.read() as conn:
        business = tenancy_store.business(conn, bid)
        tz = ZoneInfo(business.timezone)
        rows, cursor = search.page(conn, bid, filters, tz, after=after, limit=PAGE)
        matching = search.count(conn, bid, filters, tz)
        total = search.count(conn, bid, search.Filters(), tz)
        definition = view.program_definition(conn, bid, now)
        locations = tenancy_store.business_locations(conn, bid)
        statuses = search.statuses(conn, bid)
    page_lang = language(lang, accept_language, business)
    tiers = _tiers(definition)
    params = filters.query_string()
    keep = {"lang": lang} if lang in ("es", "en") else {}
    return render_page(
        request,
        "admin_members.html",
        page_lang,
        status_code,
        business=business,
        staff=staff,
        rows=rows,
        cursor=cursor,
        after=after,
        matching=matching,
        total=total,
        filters=filters,
        first_url=_url("/admin/members", params | keep),
        next_url=_url("/admin/members", params | keep | {"after": cursor}),
        csv_url=_url("/admin/members.csv", params),
        explicit_lang=keep.get("lang", ""),
        tiers=tiers,
        tier_names={t.id: name_in(t, page_lang) for t in tiers},
        locations=locations,
        location_names={loc.id: loc.name for loc in locations},
        statuses=statuses,
        sorts=search.SORTS,
        no_tier=search.NO_TIER,
        fmt=view.Formats(business, page_lang),
        error=error,
    )


@router.get("/admin/members", response_class=HTMLResponse)
def members_list(
    request: Request,
    staff: CurrentManager,
    db: Db,
    now: Now,
    q: Text = "",
    tier: Annotated[str, Query(max_length=64)] = "",
    tag: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    start: Annotated[str, Query(max_length=20, alias="from")] = "",
    end: Annotated[str, Query(max_length=20, alias="to")] = "",
    location: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
    after: Annotated[str, Query(max_length=100)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    """Members by name, e-mail, phone or card number, filtered, sorted, a page at a time."""
    filters, ok = _filters(q, tier, tag, status, start, end, location, sort)
    error = None
    if not ok:
        error = translator(pick_language(lang, accept_language, "es"))(
            "Some filters were not understood and were left out: dates are written as YYYY-MM-DD."
        )
    return list_page(
        request, staff, db, now, lang, accept_language, filters, after, 200 if ok else 422, error
    )


CSV_COLUMNS = (
    "id",
    "card_number",
    "name",
    "email",
    "phone",
    "status",
    "tier",
    "tags",
    "enrolled_at",
    "enrolled_location",
    "last_visit",
    "points",
    "cashback",
)


def _csv(
    db: Database, staff: StaffSession, filters: search.Filters, business: Any
) -> Iterator[str]:
    tz = ZoneInfo(business.timezone)
    fmt = view.Formats(business, "en")
    with db.read() as conn:
        locations = {
            loc.id: loc.name for loc in tenancy_store.business_locations(conn, business.id)
        }
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # so that spreadsheets read the accents as UTF-8
    writer.writerow(CSV_COLUMNS)
    for n, row in enumerate(search.every_row(db, staff.business_id, filters, tz), 1):
        writer.writerow(
            [
                safe_cell(v)
                for v in (
                    row.id,
                    row.card_number,
                    row.name,
                    row.email,
                    row.phone,
                    row.status,
                    row.tier_id,
                    " ".join(row.tags or []),
                    fmt.iso(row.enrolled_at),
                    locations.get(row.enrolled_location_id, ""),
                    fmt.iso(row.last_visit),
                    int(row.points),
                    str(Money(int(row.cashback), business.currency).major()),
                )
            ]
        )
        if n % 200 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("/admin/members.csv")
def members_csv(
    staff: CurrentManager,
    db: Db,
    q: Text = "",
    tier: Annotated[str, Query(max_length=64)] = "",
    tag: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[str, Query(max_length=16)] = "",
    start: Annotated[str, Query(max_length=20, alias="from")] = "",
    end: Annotated[str, Query(max_length=20, alias="to")] = "",
    location: Annotated[str, Query(max_length=20)] = "",
    sort: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The filtered list as CSV, every page of it, in the list's order."""
    filters, _ok = _filters(q, tier, tag, status, start, end, location, sort)
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
    name = f"members-{business.slug}.csv"
    return StreamingResponse(
        _csv(db, staff, filters, business),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def detail_page(
    request: Request,
    staff: StaffSession,
    db: Database,
    now: datetime,
    member_id: int,
    lang: str | None,
    accept_language: str | None,
    *,
    status_code: int = 200,
    error: str | None = None,
    error_at: str = "",
    form: dict[str, str] | None = None,
    notice: str = "",
    before: int | None = None,
) -> HTMLResponse:
    """The member's page; for a member of another business (or none), the list with a 404."""
    with db.read() as conn:
        business = tenancy_store.business(conn, staff.business_id)
        page_lang = language(lang, accept_language, business)
        try:
            shown = view.detail(conn, staff, member_id, now, page_lang, before)
        except NotFound:
            shown = None
    if shown is None:
        missing = translator(page_lang)("There is no such member.")
        return list_page(
            request,
            staff,
            db,
            now,
            page_lang,
            None,
            search.Filters(),
            status_code=404,
            error=missing,
        )
    return render_page(
        request,
        "admin_members_detail.html",
        page_lang,
        status_code,
        staff=staff,
        error=error,
        error_at=error_at,
        form=form or {"unit": "points", "key": secrets.token_urlsafe(12)},
        notice=notice if notice in NOTICES else "",
        explicit_lang=lang if lang in ("es", "en") else "",
        message_kinds=kind_names(translator(page_lang)),
        **shown,
    )


@router.get("/admin/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request,
    member_id: IdPath,
    staff: CurrentManager,
    db: Db,
    now: Now,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    done: Annotated[str, Query(max_length=20)] = "",
    lang: Lang = None,
    accept_language: AcceptLanguage = None,
) -> HTMLResponse:
    return detail_page(
        request, staff, db, now, member_id, lang, accept_language, notice=done, before=before
    )
