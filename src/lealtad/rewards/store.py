"""All SQL of the catalog and vouchers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from lealtad.db import setwise
from lealtad.members.tables import members
from lealtad.rewards.tables import rewards, vouchers

# The redemption path's statements are built once here, with bound parameters: building a Core
# statement and computing its cache key on every call was more than half of a redemption's time
# (docs/benchmarks.md, P4). A prebuilt statement keeps its memoised cache key, so each execution
# goes straight to the compiled-statement cache.
_REWARD = select(rewards).where(
    rewards.c.business_id == bindparam("b"), rewards.c.id == bindparam("r")
)
_TAKE_STOCK = (
    update(rewards)
    .where(
        rewards.c.business_id == bindparam("b"),
        rewards.c.id == bindparam("r"),
        rewards.c.stock > 0,
    )
    .values(stock=rewards.c.stock - 1)
)
_MEMBER_LOCK = (
    select(members.c.id, members.c.status)
    .where(members.c.business_id == bindparam("b"), members.c.id == bindparam("m"))
    .with_for_update()
)
_NEW_VOUCHERS: dict[str, Any] = {}


def _new_voucher(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: a code already taken gives no row, so the
    uniqueness check and the insert are one statement (the unique index decides)."""
    if dialect not in _NEW_VOUCHERS:
        dialect_insert: Any = pg_insert if dialect == "postgresql" else sqlite_insert
        _NEW_VOUCHERS[dialect] = (
            dialect_insert(vouchers)
            .values({c.name: bindparam(c.name) for c in vouchers.c if c.name != "id"})
            .on_conflict_do_nothing(index_elements=["business_id", "code"])
            .returning(vouchers.c.id)
        )
    return _NEW_VOUCHERS[dialect]


VOUCHER_COLUMNS = tuple(c.name for c in vouchers.c if c.name != "id")


def insert_reward(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(rewards).values(**values).returning(rewards.c.id)).scalar_one())


def reward(conn: Connection, business_id: int, reward_id: int, *, lock: bool = False) -> Any:
    query = select(rewards).where(rewards.c.business_id == business_id, rewards.c.id == reward_id)
    return conn.execute(query.with_for_update() if lock else query).first()


def reward_by_slug(conn: Connection, business_id: int, slug: str) -> Any:
    return conn.execute(
        select(rewards).where(rewards.c.business_id == business_id, rewards.c.slug == slug)
    ).first()


def catalog(conn: Connection, business_id: int, *, active_only: bool) -> list[Any]:
    query = select(rewards).where(rewards.c.business_id == business_id)
    if active_only:
        query = query.where(rewards.c.active.is_(True))
    return list(
        conn.execute(query.order_by(rewards.c.featured.desc(), rewards.c.cost, rewards.c.id))
    )


def low_stock(conn: Connection, business_id: int, at_most: int) -> list[Any]:
    """Active rewards with a limited stock of `at_most` or fewer left, the emptiest first."""
    return list(
        conn.execute(
            select(rewards)
            .where(
                rewards.c.business_id == business_id,
                rewards.c.active.is_(True),
                rewards.c.stock.is_not(None),
                rewards.c.stock <= at_most,
            )
            .order_by(rewards.c.stock, rewards.c.id)
        )
    )


def update_reward(conn: Connection, business_id: int, reward_id: int, **values: Any) -> None:
    conn.execute(
        update(rewards)
        .where(rewards.c.business_id == business_id, rewards.c.id == reward_id)
        .values(**values)
    )


def reward_for_redemption(conn: Connection, business_id: int, reward_id: int) -> Any:
    return conn.execute(_REWARD, {"b": business_id, "r": reward_id}).first()


def rewards_for_redemption(conn: Connection, business_id: int, ids: list[int]) -> dict[int, Any]:
    """Several rewards by id, for a set-wise batch of redemptions (rewards/setwise.py). On
    PostgreSQL the ones with a limited stock are then locked in id order and read again: the
    batch counts on their stock until it commits."""
    query = select(rewards).where(rewards.c.business_id == business_id, rewards.c.id.in_(ids))
    found = {int(row.id): row for row in conn.execute(query)}
    limited = sorted(r for r, row in found.items() if row.stock is not None)
    if conn.dialect.name == "postgresql" and limited:
        locked = query.where(rewards.c.id.in_(limited)).order_by(rewards.c.id).with_for_update()
        found.update({int(row.id): row for row in conn.execute(locked)})
    return found


def take_stock_of(conn: Connection, business_id: int, taken: dict[int, int]) -> None:
    """Takes each reward's count from its stock, as that many `take_limited_stock` would; a
    stock that no longer covers it (never, under the batch's locks) raises."""
    for reward_id, count in sorted(taken.items()):
        result = conn.execute(
            update(rewards)
            .where(
                rewards.c.business_id == business_id,
                rewards.c.id == reward_id,
                rewards.c.stock >= count,
            )
            .values(stock=rewards.c.stock - count)
        )
        if result.rowcount != 1:
            raise RuntimeError(f"reward {reward_id} has less stock than the batch counted")


def insert_vouchers(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """A set-wise batch's vouchers, in one executemany; their ids in the rows' order. A code
    already taken raises (the batch's savepoint then rolls back)."""
    return setwise.insert_returning_ids(conn, vouchers, rows)


def lock_member(conn: Connection, business_id: int, member_id: int) -> Any:
    """Holds the member's row until commit (PostgreSQL; SQLite's write transaction already
    does), and returns its id and status (None if there is no such member): one statement."""
    return conn.execute(_MEMBER_LOCK, {"b": business_id, "m": member_id}).first()


def take_limited_stock(conn: Connection, business_id: int, reward_id: int) -> bool:
    """One unit of a limited reward's stock, if any is left. The check and the decrement are one
    statement, so stock never goes below zero."""
    result = conn.execute(_TAKE_STOCK, {"b": business_id, "r": reward_id})
    return result.rowcount == 1


def try_insert_voucher(conn: Connection, values: dict[str, Any]) -> int | None:
    """The new voucher's id, or None when its code is taken in this business."""
    found = conn.execute(_new_voucher(conn.dialect.name), values).scalar()
    return None if found is None else int(found)


def give_back_stock(conn: Connection, business_id: int, reward_id: int) -> None:
    conn.execute(
        update(rewards)
        .where(
            rewards.c.business_id == business_id,
            rewards.c.id == reward_id,
            rewards.c.stock.is_not(None),
        )
        .values(stock=rewards.c.stock + 1)
    )


def redeemed_since(
    conn: Connection, business_id: int, member_id: int, reward_id: int, since: datetime | None
) -> int:
    query = select(func.count()).where(
        vouchers.c.business_id == business_id,
        vouchers.c.member_id == member_id,
        vouchers.c.reward_id == reward_id,
        vouchers.c.status != "cancelled",
    )
    if since is not None:
        query = query.where(vouchers.c.issued_at >= since)
    return int(conn.execute(query).scalar_one())


def voucher(conn: Connection, business_id: int, code: str, *, lock: bool = False) -> Any:
    query = select(vouchers).where(vouchers.c.business_id == business_id, vouchers.c.code == code)
    return conn.execute(query.with_for_update() if lock else query).first()


def update_voucher(conn: Connection, business_id: int, voucher_id: int, **values: Any) -> None:
    conn.execute(
        update(vouchers)
        .where(vouchers.c.business_id == business_id, vouchers.c.id == voucher_id)
        .values(**values)
    )


def member_vouchers(conn: Connection, business_id: int, member_id: int, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(vouchers)
            .where(vouchers.c.business_id == business_id, vouchers.c.member_id == member_id)
            .order_by(vouchers.c.id.desc())
            .limit(limit)
        )
    )


def expired_vouchers(conn: Connection, business_id: int, now: datetime, limit: int) -> list[Any]:
    return list(
        conn.execute(
            select(vouchers.c.code)
            .where(
                vouchers.c.business_id == business_id,
                vouchers.c.status == "issued",
                vouchers.c.expires_at.is_not(None),
                vouchers.c.expires_at <= now,
            )
            .order_by(vouchers.c.id)
            .limit(limit)
        ).scalars()
    )


def rewards_had(conn: Connection, business_id: int, member_id: int) -> set[int]:
    """Rewards the member has had a voucher for; a cancelled one gave its cost back, so it
    does not count as having had the reward."""
    rows = conn.execute(
        select(vouchers.c.reward_id)
        .where(
            vouchers.c.business_id == business_id,
            vouchers.c.member_id == member_id,
            vouchers.c.status != "cancelled",
        )
        .distinct()
    )
    return {int(r) for (r,) in rows}
