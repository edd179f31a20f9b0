"""Writing the rollups in the same transaction as the purchase, enrolment or ledger entry they
count, so that the dashboard reads small tables and is never behind the truth (decisions D25)."""

from __future__ import annotations

import time
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lealtad.analytics import fold
from lealtad.analytics.tables import counters, member_stats
from lealtad.kit import held_writes, process_cache
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import batch as ledger_batch
from lealtad.ledger.model import SystemLeg
from lealtad.ledger.subscribers import Posted
from lealtad.members.tables import members
from lealtad.purchases.tables import purchases
from lealtad.tenancy.tables import businesses

# PostgreSQL writers spread one figure over this many rows; SQLite has a single writer anyway.
PG_SHARDS = 8
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


def forget_zone(business_id: int) -> None:
    for key in [k for k in _zones if k[1] == business_id]:
        _zones.pop(key, None)


def local_day(conn: Connection, business_id: int, at: datetime) -> date:
    return as_utc(at).astimezone(zone(conn, business_id)).date()


def shard_of(conn: Connection, some_id: int | None) -> int:
    if conn.dialect.name != "postgresql" or some_id is None:
        return 0
    return some_id % PG_SHARDS


# While a batch of purchases is written (the group commit's batch, `deferred`), the counters'
# deltas are summed on the connection and written once at the batch's end: a few rows per batch
# instead of two upserts per purchase (kit/held_writes.py).
_DEFERRED = "lealtad_deferred_counters"


def deferred(conn: Connection) -> AbstractContextManager[None]:
    """Counter deltas of the block summed and written once when it ends without an error."""
    return held_writes.held(conn, _DEFERRED, lambda summed: _write_summed(conn, summed))


def _write_summed(conn: Connection, summed: dict[tuple[Any, ...], int]) -> None:
    by_business: dict[int, fold.Tally] = {}
    for (business_id, *key), value in summed.items():
        tally = by_business.setdefault(business_id, fold.Tally())
        tally.deltas[tuple(key)] = value
    for business_id, tally in sorted(by_business.items()):
        _write(conn, business_id, tally)


def flush(conn: Connection, business_id: int, tally: fold.Tally) -> None:
    summed = held_writes.waiting(conn, _DEFERRED)
    if summed is not None:
        for key, value in tally.deltas.items():
            if value:
                at = (business_id, *key)
                summed[at] = summed.get(at, 0) + value
        return
    _write(conn, business_id, tally)


def _write(conn: Connection, business_id: int, tally: fold.Tally) -> None:
    rows = [
        {
            "business_id": business_id,
            "metric": metric,
            "day": day,
            "dim": dim,
            "location_id": location,
            "staff_id": staff,
            "shard": shard,
            "value": value,
        }
        for (metric, day, dim, location, staff, shard), value in tally.deltas.items()
        if value
    ]
    if not rows:
        return
    # Sorted so that two transactions touching the same rows lock them in the same order.
    rows.sort(key=lambda r: (r["metric"], r["day"], r["dim"], r["location_id"], r["staff_id"]))
    conn.execute(_upsert(conn.dialect.name), rows)


_UPSERTS: dict[str, Any] = {}


def _upsert(dialect: str) -> Any:
    """One single-row upsert run as executemany: compiled once and cached, where a multi-row
    VALUES would be compiled again for every different number of rows."""
    if dialect not in _UPSERTS:
        dialect_insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = dialect_insert(counters)
        _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[c.name for c in counters.primary_key.columns],
            set_={"value": counters.c.value + statement.excluded.value},
        )
    return _UPSERTS[dialect]


_FIGURE_COLUMNS = [
    member_stats.c[name]
    for name in (
        "enrolled_on",
        "enrolled_location_id",
        "first_purchase_at",
        "last_purchase_at",
        "last_day",
        "purchases",
        "visit_days",
        "spend",
        "first_reward_at",
        "retention_mask",
    )
]


def _figures(row: Any) -> fold.MemberFigures:
    return fold.MemberFigures(
        enrolled_on=row.enrolled_on,
        location_id=row.enrolled_location_id,
        first_purchase_at=row.first_purchase_at,
        last_purchase_at=row.last_purchase_at,
        last_day=row.last_day,
        purchases=row.purchases,
        visit_days=row.visit_days,
        spend=row.spend,
        first_reward_at=row.first_reward_at,
        retention_mask=row.retention_mask,
    )


def values_of(figures: fold.MemberFigures) -> dict[str, Any]:
    values = asdict(figures)
    values["enrolled_location_id"] = values.pop("location_id")
    return values


# Built once with bound parameters: these run on every purchase and redemption, and building a
# Core statement per call (and its cache key) cost more than running it (docs/benchmarks.md, P4).
_LOAD = select(*_FIGURE_COLUMNS).where(
    member_stats.c.member_id == bindparam("m"), member_stats.c.business_id == bindparam("b")
)
_SAVE = (
    update(member_stats)
    .where(
        member_stats.c.member_id == bindparam("m_"), member_stats.c.business_id == bindparam("b_")
    )
    .values({c.name: bindparam(c.name) for c in _FIGURE_COLUMNS})
)


def load(conn: Connection, business_id: int, member_id: int) -> fold.MemberFigures:
    """The member's figures; a member enrolled before the rollups existed starts from its
    enrolment (`lealtad analytics rebuild` fills in its history)."""
    row = conn.execute(_LOAD, {"m": member_id, "b": business_id}).first()
    if row is not None:
        return _figures(row)
    member = conn.execute(
        select(members.c.enrolled_at, members.c.enrolled_location_id).where(
            members.c.id == member_id, members.c.business_id == business_id
        )
    ).one()
    figures = fold.MemberFigures(
        enrolled_on=local_day(conn, business_id, member.enrolled_at),
        location_id=member.enrolled_location_id or 0,
    )
    _insert(conn, business_id, member_id, figures)
    return figures


def _insert(
    conn: Connection, business_id: int, member_id: int, figures: fold.MemberFigures
) -> None:
    conn.execute(
        member_stats.insert().values(
            member_id=member_id, business_id=business_id, **values_of(figures)
        )
    )


def save(conn: Connection, business_id: int, member_id: int, figures: fold.MemberFigures) -> None:
    conn.execute(_SAVE, {"m_": member_id, "b_": business_id, **values_of(figures)})


def on_enrolment(
    conn: Connection,
    business_id: int,
    member_id: int,
    *,
    enrolled_at: datetime,
    location_id: int | None,
    staff_id: int | None,
) -> None:
    figures = fold.MemberFigures(
        enrolled_on=local_day(conn, business_id, enrolled_at), location_id=location_id or 0
    )
    _insert(conn, business_id, member_id, figures)
    tally = fold.Tally()
    fold.enrolment(tally, figures, staff_id, shard_of(conn, member_id))
    flush(conn, business_id, tally)


def on_purchase(
    conn: Connection,
    business_id: int,
    purchase_id: int,
    *,
    member_id: int | None,
    location_id: int | None,
    staff_id: int | None,
    amount: int,
    at: datetime,
) -> None:
    figures = load(conn, business_id, member_id) if member_id is not None else None
    tally = fold.Tally()
    fold.purchase(
        tally,
        figures,
        at=naive_utc(at),
        day=local_day(conn, business_id, at),
        amount=amount,
        location_id=location_id,
        staff_id=staff_id,
        shard=shard_of(conn, purchase_id),
        seen=lambda first, last: member_purchases(
            conn, business_id, member_id, first, last, excluding=(purchase_id,)
        ),
    )
    flush(conn, business_id, tally)
    if figures is not None and member_id is not None:
        save(conn, business_id, member_id, figures)


def member_purchases(
    conn: Connection,
    business_id: int,
    member_id: int | None,
    first: date,
    last: date,
    *,
    excluding: Collection[int],
) -> list[fold.Seen]:
    """The member's recorded purchases on the local days from `first` to `last`, other than the
    `excluding` ones (not yet counted): one query on the member's purchases (indexed by member),
    run only for a purchase that occurred before the member's latest one."""
    tz = zone(conn, business_id)
    start = datetime.combine(first, day_time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), day_time(), tz).astimezone(UTC)
    found = conn.execute(
        _MEMBER_PURCHASES,
        {
            "m": member_id,
            "b": business_id,
            "start": start.replace(tzinfo=None),
            "end": end.replace(tzinfo=None),
            "excluding": list(excluding),
        },
    )
    return [
        fold.Seen(as_utc(at).astimezone(tz).date(), at, location or 0, staff or 0)
        for at, location, staff in found
    ]


# Built once, as _LOAD: a history imported newest first runs it for nearly every purchase.
_MEMBER_PURCHASES = select(
    purchases.c.occurred_at, purchases.c.location_id, purchases.c.staff_id
).where(
    purchases.c.member_id == bindparam("m"),
    purchases.c.business_id == bindparam("b"),
    purchases.c.occurred_at >= bindparam("start"),
    purchases.c.occurred_at < bindparam("end"),
    purchases.c.id.not_in(bindparam("excluding", expanding=True)),
)


def on_refund(
    conn: Connection,
    business_id: int,
    refund_id: int,
    *,
    member_id: int | None,
    location_id: int | None,
    staff_id: int | None,
    amount: int,
    at: datetime,
) -> None:
    figures = load(conn, business_id, member_id) if member_id is not None else None
    tally = fold.Tally()
    fold.refund(
        tally,
        figures,
        day=local_day(conn, business_id, at),
        amount=amount,
        location_id=location_id,
        staff_id=staff_id,
        shard=shard_of(conn, refund_id),
    )
    flush(conn, business_id, tally)
    if figures is not None and member_id is not None:
        save(conn, business_id, member_id, figures)


def on_entries(conn: Connection, business_id: int, posted: Sequence[Posted]) -> None:
    """The ledger's subscriber (named in lealtad.wiring): the issued/redeemed flows of the entries
    just posted and a member's first reward, in one flush, whether one entry came through
    `ledger.post` or many through `ledger.batch.post_many`."""
    tally = fold.Tally()
    # The redeeming members' figures in one read (a batch of redemptions posts many entries).
    redeemers = {p.entry.member_id for p in posted if p.entry.kind == "redeem"}
    figures = load_many(conn, business_id, sorted(m for m in redeemers if m is not None))
    firsts: set[int] = set()
    for one in posted:
        entry = one.entry
        day = local_day(conn, business_id, entry.occurred_at)
        shard = shard_of(conn, one.entry_id)
        legs = [(g.name, g.unit, g.amount) for g in entry.legs if isinstance(g, SystemLeg)]
        fold.ledger_flows(tally, day, legs, shard)
        if entry.kind == "redeem" and entry.member_id is not None:
            at = naive_utc(entry.occurred_at)
            if fold.first_reward(
                tally,
                figures[entry.member_id],
                at,
                day,
                shard,
                day_of=lambda t: local_day(conn, business_id, t),
            ):
                firsts.add(entry.member_id)
    for member_id in sorted(firsts):
        save(conn, business_id, member_id, figures[member_id])
    flush(conn, business_id, tally)


def load_many(
    conn: Connection, business_id: int, member_ids: list[int]
) -> dict[int, fold.MemberFigures]:
    """`load` for several members: one read, and `load` itself for one without a row yet."""
    if len(member_ids) <= 1:
        return {m: load(conn, business_id, m) for m in member_ids}
    found: dict[int, fold.MemberFigures] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_stats.c.member_id.in_(member_ids[start : start + 500])
        query = select(member_stats.c.member_id, *_FIGURE_COLUMNS).where(
            member_stats.c.business_id == business_id, chunk
        )
        found.update({int(row.member_id): _figures(row) for row in conn.execute(query)})
    return {m: found[m] if m in found else load(conn, business_id, m) for m in member_ids}


def save_many(conn: Connection, business_id: int, figures: dict[int, fold.MemberFigures]) -> None:
    """`save` for a batch's members, one executemany. The values are read off the figures'
    slots: `values_of`'s `asdict` deep-copies every figure and was most of this step's time."""
    if not figures:
        return
    slots = [
        ("location_id" if c.name == "enrolled_location_id" else c.name) for c in _FIGURE_COLUMNS
    ]
    rows = [
        {
            **{c.name: getattr(f, slot) for c, slot in zip(_FIGURE_COLUMNS, slots, strict=True)},
            "business_id": business_id,
            "member_id": m,
        }
        for m, f in sorted(figures.items())
    ]
    ledger_batch.update_many(conn, member_stats, rows, where=("business_id", "member_id"))


def segments_of(conn: Connection, business_id: int, member_ids: list[int]) -> dict[int, str | None]:
    """Each member's value segment (members without figures yet are absent), one read per 500."""
    found: dict[int, str | None] = {}
    unique = sorted(set(member_ids))
    for start in range(0, len(unique), 500):
        query = select(member_stats.c.member_id, member_stats.c.segment).where(
            member_stats.c.business_id == business_id,
            member_stats.c.member_id.in_(unique[start : start + 500]),
        )
        found.update({int(m): s for m, s in conn.execute(query)})
    return found


def on_redemptions(
    conn: Connection, business_id: int, made: list[tuple[int, int, datetime]]
) -> None:
    """The redemptions' counters for these vouchers [(voucher id, reward id, at)]: one, or a
    set-wise batch's, summed and written once."""
    tally = fold.Tally()
    for voucher_id, reward_id, at in made:
        day = local_day(conn, business_id, at)
        fold.redemption(tally, day, reward_id, shard=shard_of(conn, voucher_id))
    flush(conn, business_id, tally)
