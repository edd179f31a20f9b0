"""A business's members as the whole-business tasks measure them: how many a rebuild of the
analytics rollups enrols (`lealtad analytics rebuild`'s progress)."""

from __future__ import annotations

from sqlalchemy import Connection, func, select

from lealtad.members.tables import members


def member_count(conn: Connection, business_id: int) -> int:
    """Every member of the business, erased ones too."""
    query = select(func.count()).where(members.c.business_id == business_id)
    return int(conn.execute(query).scalar_one())
