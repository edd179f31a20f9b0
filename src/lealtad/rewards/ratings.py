"""Members rate the rewards they redeemed; a manager can hide a rating from the catalog. The
catalog's average and count are a projection of the visible ratings, kept in the same
transaction as each change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Connection

from lealtad.errors import Conflict, NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.kit.ids import MAX_ID
from lealtad.members import service as members
from lealtad.rewards import ratings_store as store
from lealtad.rewards import service


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


def rate(
    conn: Connection, business_id: int, member_id: int, data: RatingIn, now: datetime
) -> RatingOut:
    """A member's rating of a reward they redeemed; rating again replaces the earlier one."""
    members.get(conn, business_id, member_id)
    service.get(conn, business_id, data.reward_id, lock=True)
    if not store.has_redeemed(conn, business_id, member_id, data.reward_id):
        raise Conflict("only a member who redeemed this reward can rate it", code="not_redeemed")
    store.save_members_rating(
        conn,
        business_id,
        data.reward_id,
        member_id,
        stars=data.stars,
        text=data.text.strip(),
        created_at=naive_utc(now),
    )
    store.refresh_reward_rating(conn, business_id, data.reward_id)
    return _out(store.members_rating(conn, business_id, data.reward_id, member_id))


def moderate(conn: Connection, business_id: int, rating_id: int, hidden: bool) -> RatingOut:
    row = store.rating(conn, business_id, rating_id)
    if row is None:
        raise NotFound(f"no rating {rating_id} in this business", code="rating_not_found")
    service.get(conn, business_id, row.reward_id, lock=True)
    store.set_hidden(conn, business_id, rating_id, hidden)
    store.refresh_reward_rating(conn, business_id, row.reward_id)
    # Read again, as the answer shows the rating as stored.
    return _out(store.rating(conn, business_id, rating_id))


def of_reward(
    conn: Connection, business_id: int, reward_id: int, *, include_hidden: bool
) -> list[RatingOut]:
    service.get(conn, business_id, reward_id)
    rows = store.reward_ratings(conn, business_id, reward_id, include_hidden=include_hidden)
    return [_out(r) for r in rows]
