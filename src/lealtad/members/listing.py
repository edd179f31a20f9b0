"""The member list of the admin console: one search box, filters, a sort and keyset pages, the
same query for the page, its count and the CSV export (the query is listing_store's)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from lealtad.kit.clock import naive_utc
from lealtad.members import listing_store as store
from lealtad.members.model import normalise_tag
from lealtad.tiers import store as tier_store

SORTS = ("-enrolled", "enrolled", "-last_visit", "last_visit", "-points", "points")
NO_TIER = "-"
NEVER = store.NEVER


@dataclass(frozen=True)
class Filters:
    q: str = ""
    tier: str = ""
    tag: str = ""
    status: str = ""
    enrolled_from: date | None = None
    enrolled_to: date | None = None
    location_id: int | None = None
    sort: str = "-enrolled"

    def query_string(self) -> dict[str, str]:
        """The filters as URL parameters, for links to other pages and to the CSV."""
        values = {
            "q": self.q,
            "tier": self.tier,
            "tag": self.tag,
            "status": self.status,
            "from": self.enrolled_from.isoformat() if self.enrolled_from else "",
            "to": self.enrolled_to.isoformat() if self.enrolled_to else "",
            "location": str(self.location_id) if self.location_id else "",
            "sort": self.sort if self.sort != "-enrolled" else "",
        }
        return {k: v for k, v in values.items() if v}


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return naive_utc(datetime.combine(day, time(0), tzinfo=tz))


def _wanted(filters: Filters, tz: ZoneInfo) -> store.Wanted:
    end = filters.enrolled_to + timedelta(days=1) if filters.enrolled_to else None
    return store.Wanted(
        q=filters.q,
        tier="" if filters.tier == NO_TIER else filters.tier,
        without_tier=filters.tier == NO_TIER,
        tag=normalise_tag(filters.tag) if filters.tag else None,
        status=filters.status,
        enrolled_from=_local_midnight(filters.enrolled_from, tz) if filters.enrolled_from else None,
        enrolled_before=_local_midnight(end, tz) if end else None,
        location_id=filters.location_id,
    )


def count(conn: Connection, business_id: int, filters: Filters, tz: ZoneInfo) -> int:
    return store.count(conn, business_id, _wanted(filters, tz), tier_store.member_tier_join)


def _cursor_value(row: Any, key: str) -> str:
    if key == "points":
        return str(int(row.points))
    value = row.enrolled_at if key == "enrolled" else (row.last_visit or NEVER)
    return str(value.isoformat())


def _read_cursor(cursor: str, key: str) -> tuple[Any, int] | None:
    value, _, ident = cursor.rpartition("_")
    try:
        member_id = int(ident)
        parsed: Any = int(value) if key == "points" else datetime.fromisoformat(value)
    except ValueError:
        return None
    if member_id < 1 or (isinstance(parsed, datetime) and parsed.tzinfo is not None):
        return None
    return parsed, member_id


def page(
    conn: Connection,
    business_id: int,
    filters: Filters,
    tz: ZoneInfo,
    *,
    after: str = "",
    limit: int = 50,
) -> tuple[list[Any], str]:
    """One page of members and the cursor of the next page ("" on the last one). The cursor
    holds the sort value and id of the last row, so pages stay right while members join."""
    sort = filters.sort if filters.sort in SORTS else "-enrolled"
    key, descending = sort.lstrip("-"), sort.startswith("-")
    start = _read_cursor(after, key) if after else None
    wanted = _wanted(filters, tz)
    rows = store.page(
        conn,
        business_id,
        wanted,
        tier_store.member_tier_join,
        key=key,
        descending=descending,
        start=start,
        limit=limit + 1,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = f"{_cursor_value(rows[-1], key)}_{rows[-1].id}" if more and rows else ""
    return rows, cursor


def every_row(
    db: Any, business_id: int, filters: Filters, tz: ZoneInfo, batch: int = 500
) -> Iterator[Any]:
    """Every member of the filtered view in its order, a page at a time (for the CSV): a short
    read per page, never the whole list in memory."""
    cursor = ""
    while True:
        with db.read() as conn:
            rows, cursor = page(conn, business_id, filters, tz, after=cursor, limit=batch)
        yield from rows
        if not cursor:
            return


def statuses(conn: Connection, business_id: int) -> list[str]:
    return sorted({"active", *store.statuses(conn, business_id)})
