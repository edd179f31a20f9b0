"""The business's time zone, which decides what "a day" is on its dashboard, for the rollups
and the reports (read on every ledger entry, so kept per configuration or briefly)."""

from __future__ import annotations

import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select

from lealtad.kit import process_cache
from lealtad.kit.clock import as_utc
from lealtad.tenancy.tables import businesses

_ZONE_TTL_S = 60.0
_zones: dict[tuple[str, int], tuple[ZoneInfo, float]] = {}


def zone(conn: Connection, business_id: int) -> ZoneInfo:
    """The business's time zone, which decides what "a day" is on its dashboard; read on every
    ledger entry. Under a pinned configuration (a purchase, a batch of the group-commit writer) it
    is part of that config version's cache, so a change of zone is seen by the next unit of work;
    elsewhere (imports, jobs, the console) it is kept briefly per database and business."""
    return process_cache.part(conn, business_id, "timezone", lambda: _zone(conn, business_id))


def _zone(conn: Connection, business_id: int) -> ZoneInfo:
    # Ids repeat across databases (tests, a restored copy): the database is in the key.
    key = (process_cache.database_of(conn), business_id)
    found = _zones.get(key)
    clock = time.monotonic()
    if found is not None and clock - found[1] < _ZONE_TTL_S:
        return found[0]
    name = conn.execute(
        select(businesses.c.timezone).where(businesses.c.id == business_id)
    ).scalar_one()
    tz = ZoneInfo(name)
    _zones[key] = (tz, clock)
    return tz


def local_day(conn: Connection, business_id: int, at: datetime) -> date:
    return as_utc(at).astimezone(zone(conn, business_id)).date()
