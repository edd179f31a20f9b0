"""All SQL of members' events (events/service.py)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, insert

from lealtad.events.tables import member_events


def insert_event(
    conn: Connection,
    business_id: int,
    event_id: str,
    member_id: int,
    name: str,
    value: Decimal,
    properties: dict[str, Any],
    occurred_at: datetime,
    recorded_at: datetime,
) -> int:
    return int(
        conn.execute(
            insert(member_events)
            .values(
                business_id=business_id,
                event_id=event_id,
                member_id=member_id,
                name=name,
                value=value,
                properties=properties,
                occurred_at=occurred_at,
                recorded_at=recorded_at,
            )
            .returning(member_events.c.id)
        ).scalar_one()
    )
