"""The business's time zone, which decides what "a day" is on its dashboard, for the rollups
and the reports."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from lealtad.kit import process_cache
from lealtad.kit.clock import as_utc
from lealtad.tenancy.tables import businesses


def zone(conn: Connection, business_id: int) -> ZoneInfo:
    """The business's time zone. Under a pinned configuration (a purchase, a batch of the
    group-commit writer) it is part of that config version's cache, so a change of zone is seen
    by the next unit of work; elsewhere it is read (one row by its key): a cache kept for a
    while would show a changed zone late, in another process for as long as it lasts. A caller
    that needs it for many entries reads it once (`day_in`)."""
    return process_cache.part(conn, business_id, "timezone", lambda: _zone(conn, business_id))


def _zone(conn: Connection, business_id: int) -> ZoneInfo:
    query = select(businesses.c.timezone).where(businesses.c.id == business_id)
    return ZoneInfo(conn.execute(query).scalar_one())


def day_in(tz: ZoneInfo, at: datetime) -> date:
    return as_utc(at).astimezone(tz).date()


def local_day(conn: Connection, business_id: int, at: datetime) -> date:
    return day_in(zone(conn, business_id), at)
