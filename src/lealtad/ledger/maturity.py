"""Time-driven ledger moves: pending points unlock, lots expire. Run by `lealtad ledger settle`
and the worker; a spend also settles the member first so that it never takes expired units."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import service, store
from lealtad.ledger.model import POINTS_ACCOUNT, Entry, MemberLeg, SystemLeg


@dataclass
class Settled:
    unlocked_lots: int = 0
    unlocked_units: int = 0
    expired_lots: int = 0
    expired_units: int = 0

    def add(self, column: str, units: int) -> None:
        if column == "unlocks_at":
            self.unlocked_lots += 1
            self.unlocked_units += units
        else:
            self.expired_lots += 1
            self.expired_units += units


def settle(
    conn: Connection,
    business_id: int,
    now: datetime,
    *,
    batch: int = 1000,
    member_id: int | None = None,
) -> Settled:
    """Unlocks and expires up to `batch` due lots of each kind; call again while it finds some.
    Unlocking goes first, so points that unlock already past their expiry expire in the same run."""
    done = Settled()
    at = naive_utc(now)
    # A spend settles its member first, on every redemption and payment with points: one read
    # finds both kinds, and nearly always nothing (profile, P4).
    member_due = (
        None if member_id is None else store.due_member_lots(conn, business_id, member_id, at)
    )
    for column, build in (("unlocks_at", _unlock), ("expires_at", _expire)):
        if member_due is None:
            due = store.due_lots(conn, business_id, at, column=column, limit=batch)
        elif column == "unlocks_at" or not done.unlocked_lots:
            due = sorted(
                (r for r in member_due if _due(r, column, at)),
                key=lambda r: (getattr(r, column), r.id),
            )
        else:
            # What unlocked may already be past its expiry: its new lot is not in the first read.
            due = store.due_lots(
                conn, business_id, at, column=column, limit=batch, member_id=member_id
            )
        for row in due:
            remaining = _still_open(conn, business_id, row, now)
            if remaining:
                service.post(conn, business_id, build(row, remaining), now)
                done.add(column, remaining)
    return done


def _due(row: Any, column: str, at: datetime) -> bool:
    when = getattr(row, column)
    return when is not None and bool(when <= at)


def _unlock(row: Any, remaining: int) -> Entry:
    return Entry(
        kind="unlock",
        memo="pending points unlocked",
        occurred_at=as_utc(row.unlocks_at),
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


def _expire(row: Any, remaining: int) -> Entry:
    return Entry(
        kind="expire",
        memo=f"{row.unit} expired",
        occurred_at=as_utc(row.expires_at),
        member_id=row.member_id,
        legs=(
            MemberLeg(row.member_id, row.code, row.unit, -remaining, lot_ids=(row.id,)),
            SystemLeg("expired", row.unit, remaining),
        ),
    )


def _still_open(conn: Connection, business_id: int, row: Any, now: datetime) -> int:
    """What the lot holds once its account is locked: a concurrent spend or settle may have
    taken it between the look-up and the lock."""
    service.lock_member_balance(conn, business_id, row.member_id, row.code, row.unit, now)
    return store.lot_remaining(conn, business_id, row.id)
