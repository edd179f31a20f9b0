"""All SQL of tiers: the status rows and the qualifying metrics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Connection,
    DateTime,
    Integer,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)

from lealtad.events.tables import member_events
from lealtad.ledger.tables import accounts, entries, postings
from lealtad.purchases.tables import purchases, refunds
from lealtad.rules.tables import awards
from lealtad.tiers.tables import tier_status

# Built once: read on every purchase (see ledger.store).
_STATUS = select(tier_status).where(
    tier_status.c.business_id == bindparam("b"), tier_status.c.member_id == bindparam("m")
)


def status(conn: Connection, business_id: int, member_id: int) -> Any:
    return conn.execute(_STATUS, {"b": business_id, "m": member_id}).first()


def member_tier_join(business_id: int, member_id: Any) -> tuple[Any, Any, Any]:
    """For a list of members that outer-joins each one's tier: the table, the ON clause on the
    list's member id column, and the tier column."""
    on = and_(tier_status.c.business_id == business_id, tier_status.c.member_id == member_id)
    return tier_status, on, tier_status.c.tier_id


def save(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    key = (tier_status.c.business_id == business_id, tier_status.c.member_id == member_id)
    if conn.execute(update(tier_status).where(*key).values(**values)).rowcount == 0:
        conn.execute(
            insert(tier_status).values(business_id=business_id, member_id=member_id, **values)
        )


def due_for_review(conn: Connection, business_id: int, now: datetime, limit: int) -> list[int]:
    return list(
        conn.execute(
            select(tier_status.c.member_id)
            .where(
                tier_status.c.business_id == business_id,
                tier_status.c.held_until.is_not(None),
                tier_status.c.held_until <= now,
            )
            .order_by(tier_status.c.member_id)
            .limit(limit)
        ).scalars()
    )


def measure(
    conn: Connection,
    business_id: int,
    member_id: int,
    kind: str,
    event: str | None,
    since: datetime,
    until: datetime,
    *,
    ask_later: bool = False,
) -> tuple[Decimal, bool]:
    """The metric over the window, and (when asked) whether the member has a transaction that
    re-checks the tier dated after `until`: then this check is out of date order and the tier is
    replayed (D75). The question rides in the metric's own statement, so an in-order check runs
    no statement more."""
    params = {"b": business_id, "m": member_id, "since": since, "until": until, "event": event}
    row = conn.execute(_MEASURE[kind, ask_later], params).one()
    value = Decimal(row[0])
    if kind == "points_earned":
        # Points awarded in the window less what refunds took back: never the spendable balance.
        value += Decimal(conn.execute(_POINTS_REVERSED, params).scalar_one())
    return value, bool(row[1]) if ask_later else False


def _metric(kind: str) -> Any:
    b: Any = bindparam("b")
    m: Any = bindparam("m")
    since: Any = bindparam("since")
    until: Any = bindparam("until")
    if kind in ("spend", "visits"):
        p = purchases.c
        window = (
            p.business_id == b,
            p.member_id == m,
            p.occurred_at >= since,
            p.occurred_at <= until,
        )
        if kind == "spend":
            return select(func.coalesce(func.sum(p.amount - p.refunded_amount), 0)).where(*window)
        return select(func.count()).where(*window, p.amount > 0, p.refunded_amount < p.amount)
    if kind == "points_earned":
        a = awards.c
        return select(func.coalesce(func.sum(a.amount), 0)).where(
            a.business_id == b,
            a.member_id == m,
            a.unit == "points",
            a.occurred_at >= since,
            a.occurred_at <= until,
        )
    e = member_events.c
    return select(func.coalesce(func.sum(e.value), 0)).where(
        e.business_id == b,
        e.member_id == m,
        e.name == bindparam("event"),
        e.occurred_at >= since,
        e.occurred_at <= until,
    )


def _later(kind: str) -> Any:
    """Whether a sale, a refund, or (for the metrics that count them) a points award or the
    counted event of the member is dated after the window's end."""
    b: Any = bindparam("b")
    m: Any = bindparam("m")
    after: Any = bindparam("until")
    # Aliases: inside the metric's statement the same tables would otherwise be correlated.
    p, r, a, e = purchases.alias(), refunds.alias(), awards.alias(), member_events.alias()
    own = (p.c.business_id == b, p.c.member_id == m)
    found = [
        exists().where(*own, p.c.occurred_at > after),
        exists().where(*own, r.c.purchase_id == p.c.id, r.c.occurred_at > after),
    ]
    if kind == "points_earned":
        found.append(
            exists().where(
                a.c.business_id == b,
                a.c.member_id == m,
                a.c.unit == "points",
                a.c.occurred_at > after,
            )
        )
    if kind == "custom":
        found.append(
            exists().where(
                e.c.business_id == b,
                e.c.member_id == m,
                e.c.name == bindparam("event"),
                e.c.occurred_at > after,
            )
        )
    return or_(*found).label("later")


# Built once, as `_STATUS`: a check runs on every purchase of a tiers program.
_MEASURE = {
    (kind, later): _metric(kind).add_columns(_later(kind)) if later else _metric(kind)
    for kind in ("spend", "visits", "points_earned", "custom")
    for later in (False, True)
}
_POINTS_REVERSED = (
    select(func.coalesce(func.sum(postings.c.amount), 0))
    .join(entries, entries.c.id == postings.c.entry_id)
    .join(accounts, accounts.c.id == postings.c.account_id)
    .where(
        entries.c.business_id == bindparam("b"),
        entries.c.kind == "refund",
        accounts.c.member_id == bindparam("m"),
        accounts.c.unit == "points",
        entries.c.occurred_at >= bindparam("since"),
        entries.c.occurred_at <= bindparam("until"),
    )
)


def history(
    conn: Connection, business_id: int, member_id: int, *, points: bool, event: str | None
) -> tuple[list[Any], list[Any], list[Any], list[Any]]:
    """What a replay reads, all of the member's dated transactions at once: sales (id, at,
    amount), refunds (purchase id, at, amount), points awarded and taken back by refunds
    (at, amount; only when a policy counts them), the counted event (at, value)."""
    own = (purchases.c.business_id == business_id, purchases.c.member_id == member_id)
    sales = list(
        conn.execute(
            select(purchases.c.id, purchases.c.occurred_at, purchases.c.amount).where(*own)
        )
    )
    returned = list(
        conn.execute(
            select(refunds.c.purchase_id, refunds.c.occurred_at, refunds.c.amount)
            .join(purchases, purchases.c.id == refunds.c.purchase_id)
            .where(*own)
        )
    )
    earned: list[Any] = []
    if points:
        earned = list(
            conn.execute(
                select(awards.c.occurred_at, awards.c.amount).where(
                    awards.c.business_id == business_id,
                    awards.c.member_id == member_id,
                    awards.c.unit == "points",
                )
            )
        )
        earned += list(
            conn.execute(
                select(entries.c.occurred_at, postings.c.amount)
                .join(entries, entries.c.id == postings.c.entry_id)
                .join(accounts, accounts.c.id == postings.c.account_id)
                .where(
                    entries.c.business_id == business_id,
                    entries.c.kind == "refund",
                    accounts.c.member_id == member_id,
                    accounts.c.unit == "points",
                )
            )
        )
    counted: list[Any] = []
    if event is not None:
        counted = list(
            conn.execute(
                select(member_events.c.occurred_at, member_events.c.value).where(
                    member_events.c.business_id == business_id,
                    member_events.c.member_id == member_id,
                    member_events.c.name == event,
                )
            )
        )
    return sales, returned, earned, counted


def members_with_history(conn: Connection, business_id: int) -> list[int]:
    """Every member with a tier status or a purchase: those a rebuild replays."""
    held = select(tier_status.c.member_id).where(tier_status.c.business_id == business_id)
    bought = select(purchases.c.member_id).where(
        purchases.c.business_id == business_id, purchases.c.member_id.is_not(None)
    )
    return sorted({int(m) for m in conn.execute(held.union(bought)).scalars()})


def tiers_of(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, str | None]:
    """Each member's current tier id, for several members in one read per 500 (those without a
    status row are absent)."""
    found: dict[int, str | None] = {}
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), 500):
        query = select(tier_status.c.member_id, tier_status.c.tier_id).where(
            tier_status.c.business_id == business_id,
            tier_status.c.member_id.in_(unique[start : start + 500]),
        )
        found.update({int(m): t for m, t in conn.execute(query)})
    return found


def statuses(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, Any]:
    """`status` for the distinct members of a batch, one read."""
    query = select(tier_status).where(
        tier_status.c.business_id == business_id, tier_status.c.member_id.in_(member_ids)
    )
    return {int(row.member_id): row for row in conn.execute(query)}


# A window per member: (member id, since, until), naive UTC.
Window = tuple[int, datetime, datetime]


def measure_many(
    conn: Connection, business_id: int, kind: str, windows: list[Window]
) -> dict[int, tuple[Decimal, bool]]:
    """`measure(..., ask_later=True)` for several members at once, each over their own window,
    in one statement: a spend or visits metric, and whether the member has a sale or refund
    dated after their window's end. The windows come in as a derived table of literals."""
    assert kind in ("spend", "visits"), kind
    rows = [
        select(
            literal(m, Integer).label("m"),
            literal(since, DateTime).label("since"),
            literal(until, DateTime).label("until"),
        )
        for m, since, until in windows
    ]
    w = (union_all(*rows) if len(rows) > 1 else rows[0]).subquery("w")
    p = purchases.c
    counted = [
        p.business_id == business_id,
        p.member_id == w.c.m,
        p.occurred_at >= w.c.since,
        p.occurred_at <= w.c.until,
    ]
    if kind == "spend":
        value: Any = func.coalesce(func.sum(p.amount - p.refunded_amount), 0)
    else:
        counted += [p.amount > 0, p.refunded_amount < p.amount]
        value = func.count(p.id)
    later_sale, refunded = purchases.alias(), purchases.alias()
    own = (later_sale.c.business_id == business_id, later_sale.c.member_id == w.c.m)
    later = or_(
        exists().where(*own, later_sale.c.occurred_at > w.c.until),
        exists().where(
            refunded.c.business_id == business_id,
            refunded.c.member_id == w.c.m,
            refunds.c.purchase_id == refunded.c.id,
            refunds.c.occurred_at > w.c.until,
        ),
    )
    query = (
        select(w.c.m, value, later)
        .select_from(w.outerjoin(purchases, and_(*counted)))
        .group_by(w.c.m, w.c.until)
    )
    return {int(m): (Decimal(v), bool(late)) for m, v, late in conn.execute(query)}


def save_many(
    conn: Connection, business_id: int, saves: list[tuple[int, dict[str, Any], bool]]
) -> None:
    """`save` for several members: (member id, values, whether their status row exists). The
    rows that exist are updated and the others inserted, one executemany per set of columns, in
    the order given."""
    groups: dict[tuple[bool, tuple[str, ...]], list[tuple[int, dict[str, Any]]]] = {}
    for member_id, values, held in saves:
        groups.setdefault((held, tuple(sorted(values))), []).append((member_id, values))
    for (held, columns), rows in groups.items():
        if not held:
            inserted = [{"business_id": business_id, "member_id": m, **v} for m, v in rows]
            conn.execute(insert(tier_status), inserted)
            continue
        # Bound names apart from the columns': SQLAlchemy keeps those for the SET clause.
        statement = (
            update(tier_status)
            .where(
                tier_status.c.business_id == business_id,
                tier_status.c.member_id == bindparam("member"),
            )
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        bound = [{"member": m, **{f"new_{c}": v[c] for c in columns}} for m, v in rows]
        conn.execute(statement, bound)
