"""Members whose day it is, for the daily program job (events/jobs.py): birthdays found through
their blind index (the date itself is encrypted), anniversaries by the day they enrolled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from lealtad.members.tables import members


def active_born_on(conn: Connection, business_id: int, birthday_index: str) -> list[int]:
    """The active members whose birthday's month-day index is this one, by id."""
    return list(
        conn.execute(
            select(members.c.id)
            .where(
                members.c.business_id == business_id,
                members.c.status == "active",
                members.c.birthday_index == birthday_index,
            )
            .order_by(members.c.id)
        ).scalars()
    )


def active_enrolments(conn: Connection, business_id: int) -> list[tuple[int, datetime]]:
    """(member id, enrolled at) of every active member, to find whose anniversary it is."""
    rows = conn.execute(
        select(members.c.id, members.c.enrolled_at).where(
            members.c.business_id == business_id, members.c.status == "active"
        )
    ).all()
    return [(row.id, row.enrolled_at) for row in rows]
