"""The SQL of causes and donations (rewards/donations.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, func, insert, select, update

from lealtad.rewards.tables import causes, donations


def _with_totals(business_id: int, cause_id: int | None = None) -> Select[Any]:
    """Causes with their donation totals, in one query."""
    totals = select(
        donations.c.cause_id,
        func.sum(donations.c.points).label("total_points"),
        func.count(func.distinct(donations.c.member_id)).label("donors"),
        func.count().label("donations"),
    ).where(donations.c.business_id == business_id)
    query = select(causes).where(causes.c.business_id == business_id)
    if cause_id is not None:
        totals = totals.where(donations.c.cause_id == cause_id)
        query = query.where(causes.c.id == cause_id)
    summed = totals.group_by(donations.c.cause_id).subquery()
    return (
        query.add_columns(summed.c.total_points, summed.c.donors, summed.c.donations)
        .outerjoin(summed, summed.c.cause_id == causes.c.id)
        .order_by(causes.c.id)
    )


def causes_with_totals(conn: Connection, business_id: int) -> list[Any]:
    return list(conn.execute(_with_totals(business_id)))


def cause_with_totals(conn: Connection, business_id: int, cause_id: int) -> Any:
    return conn.execute(_with_totals(business_id, cause_id)).first()


def insert_cause(
    conn: Connection,
    business_id: int,
    name: dict[str, str],
    description: dict[str, str],
    active: bool,
    created_at: datetime,
) -> int:
    return int(
        conn.execute(
            insert(causes)
            .values(
                business_id=business_id,
                name=name,
                description=description,
                active=active,
                created_at=created_at,
            )
            .returning(causes.c.id)
        ).scalar_one()
    )


def update_cause(conn: Connection, business_id: int, cause_id: int, **values: Any) -> bool:
    """Whether the business has the cause; with no values, only that is read."""
    where = (causes.c.business_id == business_id, causes.c.id == cause_id)
    found = (
        conn.execute(update(causes).where(*where).values(**values).returning(causes.c.id)).first()
        if values
        else conn.execute(select(causes.c.id).where(*where)).first()
    )
    return found is not None


def cause_exists(conn: Connection, business_id: int, cause_id: int) -> bool:
    found = conn.execute(
        select(causes.c.id).where(causes.c.business_id == business_id, causes.c.id == cause_id)
    ).first()
    return found is not None


def held_cause(conn: Connection, business_id: int, cause_id: int) -> Any:
    """The cause, held against a concurrent deactivation until commit (a shared lock on
    PostgreSQL, so donations to one cause do not wait for each other); None if there is none."""
    return conn.execute(
        select(causes)
        .where(causes.c.business_id == business_id, causes.c.id == cause_id)
        .with_for_update(read=True)
    ).first()


def insert_donation(conn: Connection, **values: Any) -> int:
    """A donation given from the member's points (rewards/donations.py); its id."""
    return int(
        conn.execute(insert(donations).values(**values).returning(donations.c.id)).scalar_one()
    )


def record_donation(conn: Connection, **values: Any) -> None:
    """A donation made by redeeming a donation reward: on the redemption path, which needs no
    id back (no RETURNING)."""
    conn.execute(insert(donations).values(**values))


def member_donations(
    conn: Connection, business_id: int, member_id: int, *, limit: int, before: int | None
) -> list[Any]:
    """The member's donations with their cause's name, newest first."""
    query = (
        select(donations, causes.c.name.label("cause_name"))
        .join(
            causes,
            (causes.c.id == donations.c.cause_id) & (causes.c.business_id == business_id),
        )
        .where(donations.c.business_id == business_id, donations.c.member_id == member_id)
        .order_by(donations.c.id.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(donations.c.id < before)
    return list(conn.execute(query))
