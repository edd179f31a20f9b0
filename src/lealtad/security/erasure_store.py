"""What a member's erasure removes from security's tables (privacy/erasure.py): the card PIN
and the wrong-attempt counters kept under keys that lead back to the member."""

from __future__ import annotations

from sqlalchemy import Connection, delete

from lealtad.security.limits_tables import attempt_limits, card_pins


def delete_card_pin(conn: Connection, business_id: int, member_id: int) -> int:
    """How many PINs went: 1 when the member had set one, else 0."""
    removed = conn.execute(
        delete(card_pins).where(
            card_pins.c.business_id == business_id, card_pins.c.member_id == member_id
        )
    ).rowcount
    return int(removed or 0)


def delete_counter(conn: Connection, business_id: int, kind: str, key: str) -> None:
    conn.execute(
        delete(attempt_limits).where(
            attempt_limits.c.business_id == business_id,
            attempt_limits.c.kind == kind,
            attempt_limits.c.key == key,
        )
    )
