"""A member opens the wallet with a six-digit code sent by e-mail (decisions D18)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from lealtad.comms import queue_store
from lealtad.comms.catalog import LOGIN_CODE, Kind
from lealtad.config import Settings
from lealtad.errors import LealtadError
from lealtad.kit.clock import naive_utc
from lealtad.members import login_store, model, store

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
    recent = login_store.codes_since(conn, business_id, member.id, at - timedelta(hours=1))
    if recent >= CODES_PER_HOUR:
        return None
    # A new code voids the ones before it.
    login_store.void_open_codes(conn, business_id, member.id, at)
    code = f"{secrets.randbelow(10**6):06d}"
    login_store.insert_code(
        conn,
        business_id,
        member.id,
        _hash(secret_key, business_id, member.id, code),
        created_at=at,
        expires_at=at + timedelta(minutes=CODE_MINUTES),
    )
    message_id = queue_store.queue_email(
        conn, business_id, member.id, kind, member.locale, {"code": code}, at
    )
    assert message_id is not None
    return message_id


def shown_on_page(settings: Settings) -> bool:
    """A development install without a mail server: codes cannot be e-mailed, so the demo shows
    them (the console, and the sign-up's code page). Never in test or production."""
    return settings.env == "dev" and not settings.smtp_host


def pending_code(conn: Connection, business_id: int, message_id: int) -> str:
    """The code of a login message not sent yet (for a development console only)."""
    context = queue_store.message_context(conn, business_id, message_id)
    return str(context.get("code", ""))


def forget_code(conn: Connection, business_id: int, message_id: int) -> None:
    """Once the e-mail has gone, the log keeps that a code was sent, not the code."""
    queue_store.replace_context_once_sent(conn, business_id, message_id, {"code": "******"})


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
    row = login_store.latest_open_code(conn, business_id, member.id, at)
    if row is None or row.attempts >= MAX_TRIES:
        return None
    digits = "".join(ch for ch in code if ch.isdigit())[:6]
    if not hmac.compare_digest(row.code_hash, _hash(secret_key, business_id, member.id, digits)):
        login_store.count_wrong_try(conn, row.id, row.attempts + 1)
        return None
    login_store.use_code(conn, row.id, at)
    return member
