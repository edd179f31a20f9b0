"""Members rate the rewards they redeemed; a manager can hide a rating from the catalog. The
catalog's average and count are a projection of the visible ratings, kept in the same
transaction as each change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection, func, insert, select, update

from lealtad.errors import Conflict, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.ids import MAX_ID
from lealtad.members import service as members
from lealtad.rewards import service
from lealtad.rewards.tables import ratings, rewards, vouchers


class RatingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reward_id: int = Field(ge=1, le=MAX_ID)
    stars: int = Field(ge=1, le=5)
    text: str = Field(default="", max_length=1000)


class ModerationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    hidden: bool


class RatingOut(BaseModel):
    id: int
    reward_id: int
    member_id: int
    stars: int
    text: str
    hidden: bool
    created_at: datetime


def _out(row: Any) -> RatingOut:
    return RatingOut(
        id=row.id,
        reward_id=row.reward_id,
        member_id=row.member_id,
        stars=row.stars,
        text=row.text,
        hidden=row.hidden,
        created_at=as_utc(row.created_at),
    )


def _refresh(conn: Connection, business_id: int, reward_id: int) -> None:
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


def rate(
    conn: Connection, business_id: int, member_id: int, data: RatingIn, now: datetime
) -> RatingOut:
    """A member's rating of a reward they redeemed; rating again replaces the earlier one."""
    members.get(conn, business_id, member_id)
    service.get(conn, business_id, data.reward_id, lock=True)
    redeemed = conn.execute(
        select(vouchers.c.id)
        .where(
            vouchers.c.business_id == business_id,
            vouchers.c.member_id == member_id,
            vouchers.c.reward_id == data.reward_id,
            vouchers.c.status != "cancelled",
        )
        .limit(1)
    ).first()
    if redeemed is None:
        raise Conflict("only a member who redeemed this reward can rate it", code="not_redeemed")
    key = (
        ratings.c.business_id == business_id,
        ratings.c.reward_id == data.reward_id,
        ratings.c.member_id == member_id,
    )
    existing = conn.execute(select(ratings.c.id).where(*key)).first()
    values = {"stars": data.stars, "text": data.text.strip(), "created_at": naive_utc(now)}
    if existing is None:
        conn.execute(
            insert(ratings).values(
                business_id=business_id,
                reward_id=data.reward_id,
                member_id=member_id,
                hidden=False,
                **values,
            )
        )
    else:
        conn.execute(update(ratings).where(*key).values(**values))
    _refresh(conn, business_id, data.reward_id)
    return _out(conn.execute(select(ratings).where(*key)).one())


def moderate(conn: Connection, business_id: int, rating_id: int, hidden: bool) -> RatingOut:
    row = conn.execute(
        select(ratings).where(ratings.c.business_id == business_id, ratings.c.id == rating_id)
    ).first()
    if row is None:
        raise NotFound(f"no rating {rating_id} in this business", code="rating_not_found")
    service.get(conn, business_id, row.reward_id, lock=True)
    conn.execute(
        update(ratings)
        .where(ratings.c.business_id == business_id, ratings.c.id == rating_id)
        .values(hidden=hidden)
    )
    _refresh(conn, business_id, row.reward_id)
    return _out(
        conn.execute(
            select(ratings).where(ratings.c.business_id == business_id, ratings.c.id == rating_id)
        ).one()
    )


def of_reward(
    conn: Connection, business_id: int, reward_id: int, *, include_hidden: bool
) -> list[RatingOut]:
    service.get(conn, business_id, reward_id)
    query = select(ratings).where(
        ratings.c.business_id == business_id, ratings.c.reward_id == reward_id
    )
    if not include_hidden:
        query = query.where(ratings.c.hidden.is_(False))
    return [_out(r) for r in conn.execute(query.order_by(ratings.c.id.desc()))]
