"""Reading the audit log for people: filters, readable names for the `kind:id` actors and
targets, and the exports (CSV and JSON lines), shared by the console page and the JSON route."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from lealtad.db.engine import Database
from lealtad.kit.clock import UtcDateTime, as_utc, naive_utc
from lealtad.kit.csvsafe import safe_cell
from lealtad.tenancy import store

BATCH = 500


class AuditEntryOut(BaseModel):
    id: int
    actor: str
    actor_name: str | None = None
    action: str
    target: str
    details: dict[str, Any]
    at: UtcDateTime
    channel: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Filters:
    action: str | None = None
    actor: str | None = None
    since: datetime | None = None  # naive UTC, inclusive
    until: datetime | None = None  # naive UTC, exclusive

    def rows(self, conn: Any, business_id: int, limit: int, before: int | None) -> list[Any]:
        return store.audit_entries(
            conn,
            business_id,
            limit,
            before,
            action=self.action,
            actor=self.actor,
            since=self.since,
            until=self.until,
        )


def day_range(start: date | None, end: date | None, zone: str) -> tuple[Any, Any]:
    """Whole days of the business's calendar, both included, as a naive-UTC [since, until)."""
    tz = ZoneInfo(zone)
    since = naive_utc(datetime.combine(start, time(), tz)) if start else None
    until = naive_utc(datetime.combine(end + timedelta(days=1), time(), tz)) if end else None
    return since, until


def names(conn: Any, business_id: int) -> dict[str, str]:
    """Readable names for the `kind:id` actors and targets the log stores."""
    known = {"system": "system"}
    for person in store.business_staff(conn, business_id):
        known[f"staff:{person.id}"] = person.name or person.email
    for key in store.business_api_keys(conn, business_id):
        known[f"api_key:{key.id}"] = f"{key.name} (lk_{key.prefix})"
    for location in store.business_locations(conn, business_id):
        known[f"location:{location.id}"] = location.name
    return known


def entry(row: Any, known: dict[str, str]) -> AuditEntryOut:
    return AuditEntryOut(
        id=row.id,
        actor=row.actor,
        actor_name=known.get(row.actor),
        action=row.action,
        target=row.target,
        details=row.details if isinstance(row.details, dict) else {"value": row.details},
        at=row.at,
        channel=row.channel,
        ip=row.ip,
        user_agent=row.user_agent,
        request_id=row.request_id,
    )


CSV_HEADER = [
    "id",
    "at_utc",
    "at_local",
    "actor",
    "actor_name",
    "action",
    "target",
    "details",
    "channel",
    "ip",
    "user_agent",
    "request_id",
]


def _all(db: Database, business_id: int, filters: Filters) -> Iterator[tuple[Any, dict[str, str]]]:
    """Every matching row, read in batches (one short read each) so memory stays flat."""
    with db.read() as conn:
        known = names(conn, business_id)
    before = None
    while True:
        with db.read() as conn:
            rows = filters.rows(conn, business_id, BATCH, before)
        for row in rows:
            yield row, known
        if len(rows) < BATCH:
            return
        before = rows[-1].id


def csv_lines(db: Database, business_id: int, filters: Filters, zone: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    tz = ZoneInfo(zone)
    for count, (row, known) in enumerate(_all(db, business_id, filters), start=1):
        at = as_utc(row.at)
        cells = [
            str(row.id),
            at.isoformat(),
            at.astimezone(tz).isoformat(),
            row.actor,
            known.get(row.actor, ""),
            row.action,
            row.target,
            json.dumps(row.details, ensure_ascii=False, default=str),
            row.channel or "",
            row.ip or "",
            row.user_agent or "",
            row.request_id or "",
        ]
        writer.writerow([cells[0], *(safe_cell(cell) for cell in cells[1:])])
        if count % BATCH == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def json_array(db: Database, business_id: int, filters: Filters) -> Iterator[str]:
    """A JSON array of entries, newest first, streamed an entry at a time."""
    yield "["
    for count, (row, known) in enumerate(_all(db, business_id, filters)):
        yield ("," if count else "") + "\n" + entry(row, known).model_dump_json()
    yield "\n]\n"
