"""All SQL of members' events: events/service.py records them, and other domains read them (a
challenge measuring an event's total). It imports only the events' tables, so it sits in the core
beside them (tests/unit/layer_contract.py): rewards reads through it while events' jobs call
rewards."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, insert, select

from lealtad.events.tables import member_events


def event_total(
    conn: Connection,
    business_id: int,
    member_id: int,
    name: str,
    window: tuple[datetime | None, datetime | None],
) -> Decimal:
    """The sum of the values of the member's events of this name in the window [since, until)
    of naive UTC (either end open when None); 0 when there are none."""
    since, until = window
    where = [
        member_events.c.business_id == business_id,
        member_events.c.member_id == member_id,
        member_events.c.name == name,
    ]
    if since is not None:
        where.append(member_events.c.occurred_at >= since)
    if until is not None:
        where.append(member_events.c.occurred_at < until)
    query = select(func.coalesce(func.sum(member_events.c.value), 0)).where(*where)
    return Decimal(str(conn.execute(query).scalar_one()))


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
