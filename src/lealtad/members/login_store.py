"""The SQL of the wallet's sign-in codes (members/login.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.members.tables import member_login_codes

_codes = member_login_codes.c


def codes_since(conn: Connection, business_id: int, member_id: int, since: datetime) -> int:
    """How many codes the member was sent since `since`."""
    return len(
        conn.execute(
            select(_codes.id).where(
                _codes.business_id == business_id,
                _codes.member_id == member_id,
                _codes.created_at >= since,
            )
        ).all()
    )


def void_open_codes(conn: Connection, business_id: int, member_id: int, at: datetime) -> None:
    conn.execute(
        update(member_login_codes)
        .where(
            _codes.business_id == business_id,
            _codes.member_id == member_id,
            _codes.used_at.is_(None),
        )
        .values(used_at=at)
    )


def insert_code(
    conn: Connection,
    business_id: int,
    member_id: int,
    code_hash: str,
    created_at: datetime,
    expires_at: datetime,
) -> None:
    conn.execute(
        insert(member_login_codes).values(
            business_id=business_id,
            member_id=member_id,
            code_hash=code_hash,
            created_at=created_at,
            expires_at=expires_at,
            attempts=0,
        )
    )


def latest_open_code(conn: Connection, business_id: int, member_id: int, at: datetime) -> Any:
    """The member's newest code neither used nor expired at `at`, or None."""
    return conn.execute(
        select(member_login_codes)
        .where(
            _codes.business_id == business_id,
            _codes.member_id == member_id,
            _codes.used_at.is_(None),
            _codes.expires_at > at,
        )
        .order_by(_codes.id.desc())
        .limit(1)
    ).first()


def count_wrong_try(conn: Connection, code_id: int, attempts: int) -> None:
    conn.execute(update(member_login_codes).where(_codes.id == code_id).values(attempts=attempts))


def use_code(conn: Connection, code_id: int, at: datetime) -> None:
    conn.execute(update(member_login_codes).where(_codes.id == code_id).values(used_at=at))
