"""Writing the rollups in the same transaction as the purchase, enrolment or ledger entry they
count, so that the dashboard reads small tables and is never behind the truth (decisions D25)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from typing import Any

from sqlalchemy import Connection, bindparam, select

from lealtad.analytics import figures_store, fold
from lealtad.analytics.figures_store import load, load_many, save
from lealtad.analytics.tables import counters
from lealtad.analytics.zone_store import day_in, local_day, zone
from lealtad.db import setwise
from lealtad.kit import held_writes
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger.model import SystemLeg
from lealtad.ledger.subscribers import Posted
from lealtad.purchases.tables import purchases

# PostgreSQL writers spread one figure over this many rows; SQLite has a single writer anyway.
PG_SHARDS = 8


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
    # Sorted so that two transactions touching the same rows lock them in the same order (on
    # PostgreSQL the rows go in as arrays, inserted in the arrays' order).
    rows.sort(key=lambda r: (r["metric"], r["day"], r["dim"], r["location_id"], r["staff_id"]))
    setwise.add_many(conn, counters, rows, add="value")


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
    figures_store.insert(conn, business_id, member_id, figures)
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
    if not posted:
        return
    tally = fold.Tally()
    # The redeeming members' figures in one read (a batch of redemptions posts many entries).
    redeemers = {p.entry.member_id for p in posted if p.entry.kind == "redeem"}
    figures = load_many(conn, business_id, sorted(m for m in redeemers if m is not None))
    firsts: set[int] = set()
    tz = zone(conn, business_id)  # once for all the entries: read when nothing is pinned
    for one in posted:
        entry = one.entry
        day = day_in(tz, entry.occurred_at)
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
                day_of=lambda t: day_in(tz, t),
            ):
                firsts.add(entry.member_id)
    for member_id in sorted(firsts):
        save(conn, business_id, member_id, figures[member_id])
    flush(conn, business_id, tally)


def on_redemptions(
    conn: Connection, business_id: int, made: list[tuple[int, int, datetime]]
) -> None:
    """The redemptions' counters for these vouchers [(voucher id, reward id, at)]: one, or a
    set-wise batch's, summed and written once."""
    tally = fold.Tally()
    tz = zone(conn, business_id)
    for voucher_id, reward_id, at in made:
        day = day_in(tz, at)
        fold.redemption(tally, day, reward_id, shard=shard_of(conn, voucher_id))
    flush(conn, business_id, tally)
