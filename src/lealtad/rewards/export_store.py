"""One member's rows in rewards' tables, for the document of everything the program holds about
them (privacy/export.py); and how many vouchers a rebuild of the analytics rollups replays."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.rewards.tables import ratings, vouchers


def member_ratings(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    """Every rating the member gave, hidden ones too, oldest first."""
    return list(
        conn.execute(
            select(ratings)
            .where(ratings.c.business_id == business_id, ratings.c.member_id == member_id)
            .order_by(ratings.c.id)
        )
    )


def voucher_count(conn: Connection, business_id: int) -> int:
    query = select(func.count()).where(vouchers.c.business_id == business_id)
    return int(conn.execute(query).scalar_one())
