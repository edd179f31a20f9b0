"""All SQL of branding."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.branding.tables import brands

_LOOK = (brands.c.colour, brands.c.logo_hash)


def look(conn: Connection, business_id: int) -> Any:
    """The colour and the logo's hash, not the image: read on every branded page."""
    return conn.execute(select(*_LOOK).where(brands.c.business_id == business_id)).first()


def logo(conn: Connection, business_id: int) -> Any:
    return conn.execute(
        select(brands.c.logo, brands.c.logo_type, brands.c.logo_hash).where(
            brands.c.business_id == business_id
        )
    ).first()


def save(conn: Connection, business_id: int, now: datetime, **values: Any) -> None:
    """Updates the business's brand row, or makes it the first time."""
    done = conn.execute(
        update(brands).where(brands.c.business_id == business_id).values(updated_at=now, **values)
    )
    if done.rowcount == 0:
        conn.execute(insert(brands).values(business_id=business_id, updated_at=now, **values))
