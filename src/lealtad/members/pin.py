"""Card PINs: a member may set a 4-6 digit PIN, asked before points are spent for a member whom
staff named by a typed card number (or e-mail, phone, member id) rather than by the wallet's
rotating code, which proves the phone is at the counter (decisions D20). Hashed with argon2,
never stored in the clear; wrong PINs count per card and per address (security/limits.py)."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import Forbidden, Invalid
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.security import limits, limits_store
from lealtad.tenancy.passwords import check_password, hash_password

# A counter page opened from a rotating wallet code vouches for the member this long.
PRESENCE_MINUTES = 10


def valid_pin(pin: str) -> bool:
    return 4 <= len(pin) <= 6 and pin.isascii() and pin.isdigit()


def set_pin(conn: Connection, business_id: int, member_id: int, pin: str, now: datetime) -> None:
    if not valid_pin(pin):
        raise Invalid("a card PIN is 4 to 6 digits", code="card_pin_invalid")
    values = {"pin_hash": hash_password(pin), "updated_at": naive_utc(now)}
    if has_pin(conn, business_id, member_id):
        limits_store.update_pin(conn, business_id, member_id, **values)
    else:
        limits_store.insert_pin(conn, business_id, member_id, **values)


def remove_pin(conn: Connection, business_id: int, member_id: int) -> None:
    limits_store.delete_pin(conn, business_id, member_id)


def _stored(conn: Connection, business_id: int, member_id: int) -> str | None:
    return limits_store.pin_hash(conn, business_id, member_id)


def has_pin(conn: Connection, business_id: int, member_id: int) -> bool:
    return _stored(conn, business_id, member_id) is not None


def presence_proof(secret_key: str, business_id: int, member_id: int, now: datetime) -> str:
    """Signed "the rotating wallet code of this member was scanned at this minute"."""
    minute = int(as_utc(now).timestamp()) // 60
    return f"{minute}.{_mac(secret_key, business_id, member_id, minute)}"


def _mac(secret_key: str, business_id: int, member_id: int, minute: int) -> str:
    text = f"card-presence:{business_id}:{member_id}:{minute}".encode()
    return hmac.new(secret_key.encode(), text, hashlib.sha256).hexdigest()[:32]


def proves_presence(
    secret_key: str, business_id: int, member_id: int, proof: str, now: datetime
) -> bool:
    minute_text, _, mac = proof.partition(".")
    if not minute_text.isdigit() or not mac:
        return False
    minute = int(minute_text)
    age = int(as_utc(now).timestamp()) // 60 - minute
    if not 0 <= age <= PRESENCE_MINUTES:
        return False
    return hmac.compare_digest(mac, _mac(secret_key, business_id, member_id, minute))


def is_rotating_code(code: str | None) -> bool:
    return bool(code) and str(code).strip().upper().startswith("LT2-")


def require(
    db: Any,
    request: Any,
    business_id: int,
    member_id: int,
    pin: str | None,
    *,
    present: bool,
    now: datetime,
) -> None:
    """Refuses (403 card_pin_required / card_pin_wrong, 429 when locked) unless the member has no
    PIN, the rotating wallet code vouched for them, or the right PIN came. The lock is checked
    before the PIN, so a locked card learns nothing."""
    with db.read() as conn:
        stored = _stored(conn, business_id, member_id)
    if stored is None or present:
        return
    if not pin:
        raise Forbidden(
            "this member has a card PIN: ask for it (or scan the wallet's code)",
            code="card_pin_required",
        )
    account = limits.account_key("card", business_id, member_id)
    settings = request.app.state.settings
    guard = limits.attempt(db, request, settings, business_id, limits.CARD_PIN, account, now)

    def check() -> None:
        if not check_password(stored, pin.strip()):
            raise Forbidden("the card PIN is wrong", code="card_pin_wrong")

    limits.guarded(guard, lambda exc: exc.code == "card_pin_wrong", check)


def wallet_code_names(
    conn: Connection,
    business_id: int,
    member_id: int,
    secret_key: str,
    code: str | None,
    now: datetime,
) -> bool:
    """True when `code` is a fresh rotating wallet code (LT2) of this very member."""
    from lealtad.errors import LealtadError
    from lealtad.members import service

    if code is None or not is_rotating_code(code):
        return False
    try:
        found = service.find(conn, business_id, secret_key, qr_token=code.strip(), now=now)
    except LealtadError:
        return False
    return bool(found.id == member_id)


def require_at_counter(
    db: Any,
    request: Any,
    secret_key: str,
    business_id: int,
    member_id: int,
    pin: str,
    presence: str,
    *,
    now: datetime,
) -> None:
    """`require` at the counter: the wallet's rotating code, scanned a moment ago (`presence`),
    stands for the PIN; without it the PIN typed by the member is asked for."""
    here = bool(presence) and proves_presence(secret_key, business_id, member_id, presence, now)
    require(db, request, business_id, member_id, pin or None, present=here, now=now)
