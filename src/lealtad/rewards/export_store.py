"""One member's rows in rewards' tables, for the document of everything the program holds about
them (privacy/export.py)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from lealtad.rewards.tables import ratings


def member_ratings(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """Every rating the member gave, hidden ones too, oldest first."""
    return list(
        conn.execute(
            select(ratings)
            .where(ratings.c.business_id == business_id, ratings.c.member_id == member_id)
            .order_by(ratings.c.id)
        )
    )
