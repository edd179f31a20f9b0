"""The member list's SQL (listing.py): each member with their tier, balances and last visit,
filtered, sorted and paged by key, and its count. Other domains' columns come from their
stores as joins on the member's id; the tier's join is handed in by the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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

from lealtad.ledger import store as ledger_store
from lealtad.ledger.model import CASHBACK_ACCOUNT, POINTS_ACCOUNT
from lealtad.members import pii, store
from lealtad.members.model import normalise_card_number
from lealtad.members.tables import members
from lealtad.purchases import listing_store as purchases
from lealtad.security.crypto import FieldKeys
from lealtad.security.fields import keys_of

# Members who never bought sort as if their last visit were this long ago.
NEVER = datetime(1900, 1, 1)

# (business id, the list's member id column) -> the tier's table, its ON clause, its tier id.
TierJoin = Callable[[int, Any], tuple[Any, Any, Any]]


@dataclass(frozen=True)
class Wanted:
    """The list's filters as the query takes them: the tag normalised, the enrolment days as
    UTC instants (from the first day's midnight, before the midnight after the last)."""

    q: str = ""
    tier: str = ""
    without_tier: bool = False
    tag: str | None = None
    status: str = ""
    enrolled_from: datetime | None = None
    enrolled_before: datetime | None = None
    location_id: int | None = None


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


def _where(
    business_id: int, wanted: Wanted, tier_id: Any, keys: FieldKeys
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [members.c.business_id == business_id]
    search = _search(wanted.q, business_id, keys)
    if search is not None:
        conditions.append(search)
    if wanted.without_tier:
        conditions.append(tier_id.is_(None))
    elif wanted.tier:
        conditions.append(tier_id == wanted.tier)
    if wanted.tag:
        # Tags are a JSON list of normalised words (no quotes in them), so the quoted tag in the
        # list's text is exactly one element, on both databases.
        conditions.append(cast(members.c.tags, String).like(_like(f'"{wanted.tag}"'), escape="\\"))
    if wanted.status:
        conditions.append(members.c.status == wanted.status)
    if wanted.enrolled_from:
        conditions.append(members.c.enrolled_at >= wanted.enrolled_from)
    if wanted.enrolled_before:
        conditions.append(members.c.enrolled_at < wanted.enrolled_before)
    if wanted.location_id:
        conditions.append(members.c.enrolled_location_id == wanted.location_id)
    return conditions


def count(conn: Connection, business_id: int, wanted: Wanted, tier: TierJoin) -> int:
    tiers, on, tier_id = tier(business_id, members.c.id)
    query = (
        select(func.count())
        .select_from(members)
        .outerjoin(tiers, on)
        .where(*_where(business_id, wanted, tier_id, keys_of(conn.dialect)))
    )
    return int(conn.execute(query).scalar_one())


def _base(business_id: int, tier: TierJoin) -> tuple[Select[Any], dict[str, Any], Any]:
    tiers, on_tier, tier_id = tier(business_id, members.c.id)
    points, on_points = ledger_store.member_account(
        business_id, members.c.id, POINTS_ACCOUNT, "points"
    )
    cashback, on_cashback = ledger_store.member_account(
        business_id, members.c.id, CASHBACK_ACCOUNT, "cashback"
    )
    last_visit = purchases.last_visit(business_id, members.c.id)
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
            tier_id,
            last_visit.label("last_visit"),
            exprs["points"].label("points"),
            func.coalesce(cashback.c.balance, 0).label("cashback"),
        )
        .select_from(members)
        .outerjoin(tiers, on_tier)
        .outerjoin(points, on_points)
        .outerjoin(cashback, on_cashback)
        .where(members.c.business_id == business_id)
    )
    return query, exprs, tier_id


def page(
    conn: Connection,
    business_id: int,
    wanted: Wanted,
    tier: TierJoin,
    *,
    key: str,
    descending: bool,
    start: tuple[Any, int] | None,
    limit: int,
) -> list[Any]:
    """Up to `limit` members in the order of `key`, after the (sort value, member id) `start`."""
    query, exprs, tier_id = _base(business_id, tier)
    expr = exprs[key]
    query = query.where(*_where(business_id, wanted, tier_id, keys_of(conn.dialect)))
    if start is not None:
        value, member_id = start
        if descending:
            query = query.where(or_(expr < value, and_(expr == value, members.c.id < member_id)))
        else:
            query = query.where(or_(expr > value, and_(expr == value, members.c.id > member_id)))
    order = (expr.desc(), members.c.id.desc()) if descending else (expr, members.c.id)
    return list(conn.execute(query.order_by(*order).limit(limit)))


def statuses(conn: Connection, business_id: int) -> list[str]:
    """The statuses the business's members are in."""
    found = conn.execute(
        select(members.c.status).where(members.c.business_id == business_id).distinct()
    ).scalars()
    return list(found)
