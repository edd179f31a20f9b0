"""Ledger I/O: balances and the explained history."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class BalanceOut(BaseModel):
    member_id: int
    points: int
    pending_points: int
    cashback: int
    stamps: dict[str, int]
    rewards: dict[str, int]
    accounts: dict[str, int]
    next_expiry: datetime | None
    next_expiry_amount: int


class HistoryEntry(BaseModel):
    entry_id: int
    kind: str
    reason: str
    changes: dict[str, int]
    purchase_id: int | None
    refund_id: int | None
    actor: str
    occurred_at: datetime
    recorded_at: datetime
