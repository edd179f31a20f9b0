"""All SQL of challenges and badges (rewards.gamification measures and awards them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, true, update

from lealtad.db.inserts import insert_if_new
from lealtad.rewards.tables import badges, challenges

# Built once: every purchase and redemption asks (see ledger.store).
_ACTIVE = (
    select(challenges)
    .where(challenges.c.business_id == bindparam("b"), challenges.c.active == true())
    .order_by(challenges.c.id)
)


def active_challenges(conn: Connection, business_id: int) -> list[Any]:
    return list(conn.execute(_ACTIVE, {"b": business_id}))


def challenges_of(conn: Connection, business_id: int) -> list[Any]:
    """Active or not, in the order they were created."""
    return list(
        conn.execute(
            select(challenges)
            .where(challenges.c.business_id == business_id)
            .order_by(challenges.c.id)
        )
    )


def challenge(conn: Connection, business_id: int, challenge_id: int) -> Any:
    return conn.execute(
        select(challenges).where(
            challenges.c.business_id == business_id, challenges.c.id == challenge_id
        )
    ).first()


def challenge_by_slug(conn: Connection, business_id: int, slug: str) -> Any:
    """The id of the business's challenge with this slug, or None."""
    return conn.execute(
        select(challenges.c.id).where(
            challenges.c.business_id == business_id, challenges.c.slug == slug
        )
    ).first()


def insert_challenge(conn: Connection, **values: Any) -> int:
    return int(
        conn.execute(insert(challenges).values(**values).returning(challenges.c.id)).scalar_one()
    )


def update_challenge(conn: Connection, business_id: int, challenge_id: int, **values: Any) -> None:
    conn.execute(
        update(challenges)
        .where(challenges.c.business_id == business_id, challenges.c.id == challenge_id)
        .values(**values)
    )


def badge_earned(
    conn: Connection, business_id: int, member_id: int, challenge_id: int, period_key: str
) -> bool:
    found = conn.execute(
        select(badges.c.id).where(
            badges.c.business_id == business_id,
            badges.c.member_id == member_id,
            badges.c.challenge_id == challenge_id,
            badges.c.period_key == period_key,
        )
    ).first()
    return found is not None


def insert_badge_if_new(conn: Connection, **values: Any) -> bool:
    """False when the member already has this challenge's badge for the period."""
    return insert_if_new(conn, badges, **values)


def member_badges(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """The member's badges, oldest first, each with its challenge's slug and title (None once
    the challenge is gone)."""
    return list(
        conn.execute(
            select(badges, challenges.c.slug, challenges.c.title)
            .select_from(
                badges.outerjoin(
                    challenges,
                    (challenges.c.id == badges.c.challenge_id)
                    & (challenges.c.business_id == badges.c.business_id),
                )
            )
            .where(badges.c.business_id == business_id, badges.c.member_id == member_id)
            .order_by(badges.c.earned_at, badges.c.id)
        )
    )
