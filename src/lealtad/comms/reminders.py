"""Reminders the daily job raises: points about to expire, and win-back for members who stopped
coming (30, 60 and 90 days after their last visit). Each is told once per occasion."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select

from lealtad.comms.outbox import emit
from lealtad.comms.tables import notices
from lealtad.db.inserts import insert_if_new
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.ledger.tables import accounts, lots
from lealtad.members import store as member_store
from lealtad.purchases.tables import purchases
from lealtad.rules import lifecycle

EXPIRY_NOTICE_DAYS = 7
WIN_BACK_DAYS = (30, 60, 90)
WIN_BACK_EVENT = "member.win_back"


def once(
    conn: Connection, business_id: int, member_id: int, kind: str, key: str, now: datetime
) -> bool:
    """True the first time this (member, kind, key) is noted; False ever after."""
    row = insert_if_new(
        conn,
        notices,
        business_id=business_id,
        member_id=member_id,
        kind=kind,
        key=key[:100],
        created_at=naive_utc(now),
    )
    return row


def expiring(conn: Connection, business_id: int, now: datetime) -> int:
    """Members whose points expire within the notice period hear it once per expiry date."""
    until = naive_utc(now + timedelta(days=EXPIRY_NOTICE_DAYS))
    rows = conn.execute(
        select(accounts.c.member_id, func.min(lots.c.expires_at), func.sum(lots.c.remaining))
        .join(accounts, accounts.c.id == lots.c.account_id)
        .where(
            lots.c.business_id == business_id,
            accounts.c.code == "points",
            lots.c.remaining > 0,
            lots.c.expires_at.is_not(None),
            lots.c.expires_at > naive_utc(now),
            lots.c.expires_at <= until,
        )
        .group_by(accounts.c.member_id)
    ).all()
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
    rows = conn.execute(
        select(purchases.c.member_id, func.max(purchases.c.occurred_at))
        .where(
            purchases.c.business_id == business_id,
            purchases.c.member_id.is_not(None),
            purchases.c.amount > 0,
        )
        .group_by(purchases.c.member_id)
    ).all()
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
    active = conn.execute(
        select(purchases.c.member_id)
        .where(
            purchases.c.business_id == business_id,
            purchases.c.member_id.is_not(None),
            purchases.c.occurred_at >= naive_utc(now - timedelta(days=62)),
        )
        .distinct()
    ).scalars()
    told = 0
    for member_id in active:
        if once(conn, business_id, member_id, "member.monthly", month, now):
            emit(conn, business_id, "member.monthly", {"member_id": member_id, "month": month}, now)
            told += 1
    return told
