"""SQL of a business's sending policy (weekly cap, quiet hours, purchase e-mails)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, update

from lealtad.comms.tables import comms_policies


def sending_policy(conn: Connection, business_id: int) -> Any:
    """The business's stored policy row, or None while it keeps the defaults."""
    return conn.execute(
        select(comms_policies).where(comms_policies.c.business_id == business_id)
    ).first()


def save_sending_policy(conn: Connection, business_id: int, values: dict[str, Any]) -> None:
    key = comms_policies.c.business_id == business_id
    if conn.execute(update(comms_policies).where(key).values(**values)).rowcount == 0:
        conn.execute(comms_policies.insert().values(business_id=business_id, **values))
