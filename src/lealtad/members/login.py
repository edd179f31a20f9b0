"""A member opens the wallet with a six-digit code sent by e-mail (decisions D18)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lealtad.comms.catalog import LOGIN_CODE, Kind
from lealtad.comms.tables import messages
from lealtad.config import Settings
from lealtad.errors import LealtadError
from lealtad.kit.clock import naive_utc
from lealtad.members import model, store
from lealtad.members.tables import member_login_codes

CODE_MINUTES = 10
MAX_TRIES = 5
# A member may ask again this often; more is someone hammering an address.
CODES_PER_HOUR = 5


class CodeRefused(LealtadError):
    http_status = 401
    code = "login_code_refused"


def _hash(secret_key: str, business_id: int, member_id: int, code: str) -> str:
    # Keyed, and bound to the member: a leaked table row cannot be tried against anyone else.
    message = f"{business_id}:{member_id}:{code}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()


def request_code(
    conn: Connection,
    business_id: int,
    email: str,
    secret_key: str,
    now: datetime,
    kind: Kind = LOGIN_CODE,
) -> int | None:
    """Queues a code for the member with this e-mail; returns the message id, or None when no
    member has the address or they asked too often. The caller answers the same either way, so
    the form does not reveal who is a member. `kind` is the message that carries the code: the
    wallet's sign-in, or a sign-up's welcome (comms/catalog.py)."""
    normal = model.normalise_email(email)
    member = store.member_by(conn, business_id, "email", normal) if normal else None
    if member is None or member.status != "active":
        return None
    at = naive_utc(now)
    recent = conn.execute(
        select(member_login_codes.c.id).where(
            member_login_codes.c.business_id == business_id,
            member_login_codes.c.member_id == member.id,
            member_login_codes.c.created_at >= at - timedelta(hours=1),
        )
    ).all()
    if len(recent) >= CODES_PER_HOUR:
        return None
    # A new code voids the ones before it.
    conn.execute(
        update(member_login_codes)
        .where(
            member_login_codes.c.business_id == business_id,
            member_login_codes.c.member_id == member.id,
            member_login_codes.c.used_at.is_(None),
        )
        .values(used_at=at)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    conn.execute(
        insert(member_login_codes).values(
            business_id=business_id,
            member_id=member.id,
            code_hash=_hash(secret_key, business_id, member.id, code),
            created_at=at,
            expires_at=at + timedelta(minutes=CODE_MINUTES),
            attempts=0,
        )
    )
    result = conn.execute(
        insert(messages).values(
            business_id=business_id,
            member_id=member.id,
            channel="email",
            category=kind.category,
            template=kind.template,
            locale=member.locale,
            context={"code": code},
            status="queued",
            attempts=0,
            send_after=at,
            created_at=at,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def shown_on_page(settings: Settings) -> bool:
    """A development install without a mail server: codes cannot be e-mailed, so the demo shows
    them (the console, and the sign-up's code page). Never in test or production."""
    return settings.env == "dev" and not settings.smtp_host


def pending_code(conn: Connection, business_id: int, message_id: int) -> str:
    """The code of a login message not sent yet (for a development console only)."""
    context = conn.execute(
        select(messages.c.context).where(
            messages.c.business_id == business_id, messages.c.id == message_id
        )
    ).scalar_one()
    return str(context.get("code", ""))


def forget_code(conn: Connection, business_id: int, message_id: int) -> None:
    """Once the e-mail has gone, the log keeps that a code was sent, not the code."""
    conn.execute(
        update(messages)
        .where(
            messages.c.business_id == business_id,
            messages.c.id == message_id,
            messages.c.status != "queued",
        )
        .values(context={"code": "******"})
    )


def check_code(
    conn: Connection, business_id: int, email: str, code: str, secret_key: str, now: datetime
) -> Any | None:
    """The member, if `code` is their latest unexpired one, else None. Each wrong try counts and
    after MAX_TRIES the code is dead; the count is a write, so the caller commits before it
    refuses (raising here would roll the count back)."""
    normal = model.normalise_email(email)
    member = store.member_by(conn, business_id, "email", normal) if normal else None
    if member is None:
        return None
    at = naive_utc(now)
    row = conn.execute(
        select(member_login_codes)
        .where(
            member_login_codes.c.business_id == business_id,
            member_login_codes.c.member_id == member.id,
            member_login_codes.c.used_at.is_(None),
            member_login_codes.c.expires_at > at,
        )
        .order_by(member_login_codes.c.id.desc())
        .limit(1)
    ).first()
    if row is None or row.attempts >= MAX_TRIES:
        return None
    digits = "".join(ch for ch in code if ch.isdigit())[:6]
    if not hmac.compare_digest(row.code_hash, _hash(secret_key, business_id, member.id, digits)):
        conn.execute(
            update(member_login_codes)
            .where(member_login_codes.c.id == row.id)
            .values(attempts=row.attempts + 1)
        )
        return None
    conn.execute(
        update(member_login_codes).where(member_login_codes.c.id == row.id).values(used_at=at)
    )
    return member
