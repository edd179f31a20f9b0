"""All SQL of the set-up."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.onboarding.tables import setups


def setup(conn: Connection, business_id: int) -> Any:
    return conn.execute(select(setups).where(setups.c.business_id == business_id)).first()


def insert_setup(conn: Connection, business_id: int, step: str, now: datetime) -> None:
    conn.execute(
        insert(setups).values(business_id=business_id, step=step, answers={}, started_at=now)
    )


def update_setup(conn: Connection, business_id: int, **values: Any) -> None:
    conn.execute(update(setups).where(setups.c.business_id == business_id).values(**values))
