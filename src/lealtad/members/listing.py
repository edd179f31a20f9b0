"""The member list of the admin console: one search box, filters, a sort and keyset pages, the
same query for the page, its count and the CSV export."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Connection,
    DateTime,
    Select,
    String,
    and_,
    cast,
    func,
    literal,
    or_,
    select,
)

from lealtad.kit.clock import naive_utc
from lealtad.ledger.model import CASHBACK_ACCOUNT, POINTS_ACCOUNT
from lealtad.ledger.tables import accounts
from lealtad.members import pii, store
from lealtad.members.model import normalise_card_number, normalise_tag
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.security.crypto import FieldKeys
from lealtad.security.fields import keys_of
from lealtad.tiers.tables import tier_status

SORTS = ("-enrolled", "enrolled", "-last_visit", "last_visit", "-points", "points")
NO_TIER = "-"
# Members who never bought sort as if their last visit were this long ago.
NEVER = datetime(1900, 1, 1)


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


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _search(q: str, business_id: int, keys: FieldKeys) -> ColumnElement[bool] | None:
    """An exact e-mail or phone, the start of a card number, or whole words of the name.
    Personal data is encrypted (D28), so it is matched through its blind indexes: a part of an
    address or of a word cannot be searched."""
    text = q.strip()
    if not text:
        return None
    found: list[ColumnElement[bool]] = []
    email = pii.email_index(keys, business_id, text)
    if email is not None:
        found.append(members.c.email_index == email)
    phone = pii.phone_index(keys, business_id, text)
    if phone is not None:
        found.append(members.c.phone_index == phone)
    card = normalise_card_number(text)
    if card.isdigit():
        found.append(members.c.card_number.like(card + "%"))
    name = store.name_matches(keys, business_id, text)
    if name is not None:
        found.append(name)
    return or_(*found) if found else members.c.id.is_(None)


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return naive_utc(datetime.combine(day, time(0), tzinfo=tz))


def _last_visit(business_id: int) -> Any:
    return (
        select(func.max(purchases.c.occurred_at))
        .where(purchases.c.business_id == business_id, purchases.c.member_id == members.c.id)
        .scalar_subquery()
    )


def _base(business_id: int) -> tuple[Select[Any], dict[str, Any]]:
    points = accounts.alias("points")
    cashback = accounts.alias("cashback")
    last_visit = _last_visit(business_id)
    exprs = {
        "enrolled": members.c.enrolled_at,
        "last_visit": func.coalesce(last_visit, literal(NEVER, DateTime)),
        "points": func.coalesce(points.c.balance, 0),
    }
    query = (
        select(
            members.c.id,
            members.c.card_number,
            members.c.name,
            members.c.email,
            members.c.phone,
            members.c.status,
            members.c.tags,
            members.c.enrolled_at,
            members.c.enrolled_location_id,
            tier_status.c.tier_id,
            last_visit.label("last_visit"),
            exprs["points"].label("points"),
            func.coalesce(cashback.c.balance, 0).label("cashback"),
        )
        .select_from(members)
        .outerjoin(
            tier_status,
            and_(
                tier_status.c.business_id == business_id,
                tier_status.c.member_id == members.c.id,
            ),
        )
        .outerjoin(
            points,
            and_(
                points.c.business_id == business_id,
                points.c.member_id == members.c.id,
                points.c.code == POINTS_ACCOUNT,
            ),
        )
        .outerjoin(
            cashback,
            and_(
                cashback.c.business_id == business_id,
                cashback.c.member_id == members.c.id,
                cashback.c.code == CASHBACK_ACCOUNT,
            ),
        )
        .where(members.c.business_id == business_id)
    )
    return query, exprs


def _where(
    business_id: int, filters: Filters, tz: ZoneInfo, keys: FieldKeys
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [members.c.business_id == business_id]
    search = _search(filters.q, business_id, keys)
    if search is not None:
        conditions.append(search)
    if filters.tier == NO_TIER:
        conditions.append(tier_status.c.tier_id.is_(None))
    elif filters.tier:
        conditions.append(tier_status.c.tier_id == filters.tier)
    tag = normalise_tag(filters.tag) if filters.tag else None
    if tag:
        # Tags are a JSON list of normalised words (no quotes in them), so the quoted tag in the
        # list's text is exactly one element, on both databases.
        conditions.append(cast(members.c.tags, String).like(_like(f'"{tag}"'), escape="\\"))
    if filters.status:
        conditions.append(members.c.status == filters.status)
    if filters.enrolled_from:
        conditions.append(members.c.enrolled_at >= _local_midnight(filters.enrolled_from, tz))
    if filters.enrolled_to:
        end = _local_midnight(filters.enrolled_to + timedelta(days=1), tz)
        conditions.append(members.c.enrolled_at < end)
    if filters.location_id:
        conditions.append(members.c.enrolled_location_id == filters.location_id)
    return conditions


def count(conn: Connection, business_id: int, filters: Filters, tz: ZoneInfo) -> int:
    query = (
        select(func.count())
        .select_from(members)
        .outerjoin(
            tier_status,
            and_(
                tier_status.c.business_id == business_id,
                tier_status.c.member_id == members.c.id,
            ),
        )
        .where(*_where(business_id, filters, tz, keys_of(conn.dialect)))
    )
    return int(conn.execute(query).scalar_one())


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
    query, exprs = _base(business_id)
    expr = exprs[key]
    query = query.where(*_where(business_id, filters, tz, keys_of(conn.dialect)))
    start = _read_cursor(after, key) if after else None
    if start is not None:
        value, member_id = start
        if descending:
            query = query.where(or_(expr < value, and_(expr == value, members.c.id < member_id)))
        else:
            query = query.where(or_(expr > value, and_(expr == value, members.c.id > member_id)))
    order = (expr.desc(), members.c.id.desc()) if descending else (expr, members.c.id)
    rows = list(conn.execute(query.order_by(*order).limit(limit + 1)))
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
    found = conn.execute(
        select(members.c.status).where(members.c.business_id == business_id).distinct()
    ).scalars()
    return sorted({"active", *found})
