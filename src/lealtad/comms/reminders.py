"""Reminders the daily job raises: points about to expire, and win-back for members who stopped
coming (30, 60 and 90 days after their last visit). Each is told once per occasion."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import notices_store
from lealtad.comms.outbox import emit
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger import store as ledger_store
from lealtad.members import store as member_store
from lealtad.purchases import reads_store as purchase_reads
from lealtad.rules import lifecycle

EXPIRY_NOTICE_DAYS = 7
WIN_BACK_DAYS = (30, 60, 90)
WIN_BACK_EVENT = "member.win_back"


def once(
    conn: Connection, business_id: int, member_id: int, kind: str, key: str, now: datetime
) -> bool:
    """True the first time this (member, kind, key) is noted; False ever after."""
    return notices_store.note_once(conn, business_id, member_id, kind, key, now)


def expiring(conn: Connection, business_id: int, now: datetime) -> int:
    """Members whose points expire within the notice period hear it once per expiry date."""
    until = naive_utc(now + timedelta(days=EXPIRY_NOTICE_DAYS))
    rows = ledger_store.points_expiring_between(conn, business_id, naive_utc(now), until)
    told = 0
    for member_id, soonest, points in rows:
        day = as_utc(soonest).date().isoformat()
        if once(conn, business_id, member_id, "points.expiring", day, now):
            emit(
                conn,
                business_id,
                "points.expiring",
                {"member_id": member_id, "points": int(points), "expires_at": day},
                now,
            )
            told += 1
    return told


def win_back(conn: Connection, business_id: int, now: datetime) -> int:
    """Members whose last visit was 30, 60 or 90 days ago hear from the business, once per stage
    of each absence (a new visit starts a new absence)."""
    rows = purchase_reads.last_visits(conn, business_id)
    told = 0
    for member_id, last in rows:
        away = (as_utc(now) - as_utc(last)).days
        stages = [d for d in WIN_BACK_DAYS if away >= d]
        if not stages:
            continue
        stage = stages[-1]
        key = f"{stage}:{as_utc(last).date().isoformat()}"
        if once(conn, business_id, member_id, "member.lapsed", key, now):
            emit(conn, business_id, "member.lapsed", {"member_id": member_id, "days": stage}, now)
            # The optional bonus: a program rule on the custom event "member.win_back" (its
            # value is the days away) awards it, through the same engine as every other award.
            member = member_store.member(conn, business_id, member_id)
            lifecycle.fire(
                conn,
                business_id,
                member,
                "custom",
                at=now,
                now=now,
                actor="system",
                value=Decimal(stage),
                event=WIN_BACK_EVENT,
            )
            told += 1
    return told


def monthly(conn: Connection, business_id: int, now: datetime, tz: Any) -> int:
    """On the first days of a month, each member who has been active hears how the last month
    went (points, tier); once per member per month."""
    local = as_utc(now).astimezone(tz)
    if local.day > 3:
        return 0
    month = f"{local.year}-{local.month:02d}"
    active = purchase_reads.members_who_bought_since(
        conn, business_id, naive_utc(now - timedelta(days=62))
    )
    told = 0
    for member_id in active:
        if once(conn, business_id, member_id, "member.monthly", month, now):
            emit(conn, business_id, "member.monthly", {"member_id": member_id, "month": month}, now)
            told += 1
    return told
