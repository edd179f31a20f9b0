"""SQL of the notices: which occasions (points expiring on a day, a stage of an absence, a
month's summary) each member has already been told of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from lealtad.comms.tables import notices
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc


def note_once(
    conn: Connection, business_id: int, member_id: int, kind: str, key: str, now: datetime
) -> bool:
    """True when this (member, kind, key) is noted now; False when it already was."""
    return insert_if_new(
        conn,
        notices,
        business_id=business_id,
        member_id=member_id,
        kind=kind,
        key=key[:100],
        created_at=naive_utc(now),
    )
