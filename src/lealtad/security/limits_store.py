"""All SQL of the brute-force limits and of card PINs (limits_tables.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import naive_utc
from lealtad.security import limits_model as model
from lealtad.security.limits_tables import attempt_limits, card_pins


def save(conn: Connection, row_id: int, state: model.State) -> None:
    def stored(value: datetime | None) -> datetime | None:
        return naive_utc(value) if value is not None else None

    conn.execute(
        update(attempt_limits)
        .where(attempt_limits.c.id == row_id)
        .values(
            failures=state.failures,
            window_started_at=stored(state.window_started_at),
            level=state.level,
            locked_until=stored(state.locked_until),
            last_failure_at=stored(state.last_failure_at),
        )
    )


def held(conn: Connection, business_id: int, kind: str, keys: Iterable[str]) -> dict[str, Any]:
    """The keys' rows, made if missing and locked until commit, always in key order so that
    two attempts on overlapping keys cannot deadlock. A missing row is inserted with ON CONFLICT
    DO NOTHING: concurrent first failures on PostgreSQL wait for each other instead of one of
    them failing on the unique index (a 409 `conflict` before)."""
    ordered = sorted(set(keys))
    for key in ordered:
        insert_if_new(
            conn, attempt_limits, business_id=business_id, kind=kind, key=key, failures=0, level=0
        )
    rows = conn.execute(
        select(attempt_limits)
        .where(
            attempt_limits.c.business_id == business_id,
            attempt_limits.c.kind == kind,
            attempt_limits.c.key.in_(ordered),
        )
        .order_by(attempt_limits.c.key)
        .with_for_update()
    ).all()
    return {row.key: row for row in rows}


def _pin_of(business_id: int, member_id: int) -> tuple[Any, ...]:
    return (card_pins.c.business_id == business_id, card_pins.c.member_id == member_id)


def pin_hash(conn: Connection, business_id: int, member_id: int) -> str | None:
    return conn.execute(
        select(card_pins.c.pin_hash).where(*_pin_of(business_id, member_id))
    ).scalar_one_or_none()


def update_pin(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    conn.execute(update(card_pins).where(*_pin_of(business_id, member_id)).values(**values))


def insert_pin(conn: Connection, business_id: int, member_id: int, **values: Any) -> None:
    conn.execute(insert(card_pins).values(business_id=business_id, member_id=member_id, **values))


def delete_pin(conn: Connection, business_id: int, member_id: int) -> None:
    conn.execute(delete(card_pins).where(*_pin_of(business_id, member_id)))
