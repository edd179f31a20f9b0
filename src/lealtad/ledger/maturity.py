"""Time-driven ledger moves: pending points unlock, lots expire. Run by `lealtad ledger settle`
and the worker; a spend also settles the member first so that it never takes expired units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.kit.clock import naive_utc
from lealtad.ledger import service, store
from lealtad.ledger.model import POINTS_ACCOUNT, Entry, MemberLeg, SystemLeg


@dataclass
class Settled:
    unlocked_lots: int = 0
    unlocked_units: int = 0
    expired_lots: int = 0
    expired_units: int = 0


def settle(
    conn: Connection,
    business_id: int,
    now: datetime,
    *,
    batch: int = 1000,
    member_id: int | None = None,
) -> Settled:
    """Unlocks and expires up to `batch` due lots of each kind; call again while it finds some."""
    done = Settled()
    at = naive_utc(now)
    for row in store.due_lots(
        conn, business_id, at, column="unlocks_at", limit=batch, member_id=member_id
    ):
        remaining = _still_open(conn, business_id, row, now)
        if not remaining:
            continue
        entry = Entry(
            kind="unlock",
            memo="pending points unlocked",
            occurred_at=now,
            member_id=row.member_id,
            legs=(
                MemberLeg(row.member_id, row.code, row.unit, -remaining, lot_ids=(row.id,)),
                MemberLeg(
                    row.member_id,
                    POINTS_ACCOUNT,
                    row.unit,
                    remaining,
                    expires_at=row.expires_at,
                    origin_purchase_id=row.origin_purchase_id,
                ),
            ),
        )
        service.post(conn, business_id, entry, now)
        done.unlocked_lots += 1
        done.unlocked_units += remaining
    for row in store.due_lots(
        conn, business_id, at, column="expires_at", limit=batch, member_id=member_id
    ):
        remaining = _still_open(conn, business_id, row, now)
        if not remaining:
            continue
        entry = Entry(
            kind="expire",
            memo=f"{row.unit} expired",
            occurred_at=now,
            member_id=row.member_id,
            legs=(
                MemberLeg(row.member_id, row.code, row.unit, -remaining, lot_ids=(row.id,)),
                SystemLeg("expired", row.unit, remaining),
            ),
        )
        service.post(conn, business_id, entry, now)
        done.expired_lots += 1
        done.expired_units += remaining
    return done


def _still_open(conn: Connection, business_id: int, row: Any, now: datetime) -> int:
    """What the lot holds once its account is locked: a concurrent spend or settle may have
    taken it between the look-up and the lock."""
    service.lock_member_balance(conn, business_id, row.member_id, row.code, row.unit, now)
    return store.lot_remaining(conn, business_id, row.id)
