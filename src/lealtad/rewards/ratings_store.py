"""The SQL of ratings and of the catalog's projection of them (rewards/ratings.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from lealtad.rewards.tables import ratings, rewards, vouchers


def refresh_reward_rating(conn: Connection, business_id: int, reward_id: int) -> None:
    """The reward's rating count and total, from its visible ratings."""
    count, total = conn.execute(
        select(func.count(), func.coalesce(func.sum(ratings.c.stars), 0)).where(
            ratings.c.business_id == business_id,
            ratings.c.reward_id == reward_id,
            ratings.c.hidden.is_(False),
        )
    ).one()
    conn.execute(
        update(rewards)
        .where(rewards.c.business_id == business_id, rewards.c.id == reward_id)
        .values(rating_count=int(count), rating_total=int(total))
    )


def has_redeemed(conn: Connection, business_id: int, member_id: int, reward_id: int) -> bool:
    """Whether the member holds a voucher of the reward that was not cancelled."""
    found = conn.execute(
        select(vouchers.c.id)
        .where(
            vouchers.c.business_id == business_id,
            vouchers.c.member_id == member_id,
            vouchers.c.reward_id == reward_id,
            vouchers.c.status != "cancelled",
        )
        .limit(1)
    ).first()
    return found is not None


def _members_rating(
    business_id: int, reward_id: int, member_id: int
) -> tuple[ColumnElement[bool], ...]:
    return (
        ratings.c.business_id == business_id,
        ratings.c.reward_id == reward_id,
        ratings.c.member_id == member_id,
    )


def save_members_rating(
    conn: Connection,
    business_id: int,
    reward_id: int,
    member_id: int,
    stars: int,
    text: str,
    created_at: datetime,
) -> None:
    """The member's rating of the reward, in place of any earlier one (shown unless it was
    hidden)."""
    key = _members_rating(business_id, reward_id, member_id)
    existing = conn.execute(select(ratings.c.id).where(*key)).first()
    values = {"stars": stars, "text": text, "created_at": created_at}
    if existing is None:
        conn.execute(
            insert(ratings).values(
                business_id=business_id,
                reward_id=reward_id,
                member_id=member_id,
                hidden=False,
                **values,
            )
        )
    else:
        conn.execute(update(ratings).where(*key).values(**values))


def members_rating(conn: Connection, business_id: int, reward_id: int, member_id: int) -> Any:
    return conn.execute(
        select(ratings).where(*_members_rating(business_id, reward_id, member_id))
    ).one()


def _rating(business_id: int, rating_id: int) -> tuple[ColumnElement[bool], ...]:
    return (ratings.c.business_id == business_id, ratings.c.id == rating_id)


def rating(conn: Connection, business_id: int, rating_id: int) -> Any:
    return conn.execute(select(ratings).where(*_rating(business_id, rating_id))).first()


def set_hidden(conn: Connection, business_id: int, rating_id: int, hidden: bool) -> None:
    conn.execute(update(ratings).where(*_rating(business_id, rating_id)).values(hidden=hidden))


def reward_ratings(
    conn: Connection, business_id: int, reward_id: int, *, include_hidden: bool
) -> list[Any]:
    """The reward's ratings, newest first."""
    query = select(ratings).where(
        ratings.c.business_id == business_id, ratings.c.reward_id == reward_id
    )
    if not include_hidden:
        query = query.where(ratings.c.hidden.is_(False))
    return list(conn.execute(query.order_by(ratings.c.id.desc())))
