"""The keys a location's till signs its receipt codes with: made by the owner, shown once,
kept encrypted, rotated by making a new one and retiring the old when no receipt in the age
limit carries it any more."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.errors import NotFound
from lealtad.kit.clock import as_utc, naive_utc
from lealtad.tenancy import store as tenancy_store
from lealtad.tickets import store
from lealtad.tickets.schemas import KeyOut

ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"


def secret_bytes(secret: str) -> bytes:
    return base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))


def _out(row: Any, secret: str | None = None) -> KeyOut:
    return KeyOut(
        key_id=row.key_id,
        location_id=row.location_id,
        created_at=as_utc(row.created_at),
        retired_at=as_utc(row.retired_at) if row.retired_at else None,
        secret=secret,
    )


def make(conn: Connection, business_id: int, location_id: int, actor: str, now: datetime) -> KeyOut:
    """A new key for the location; its secret is in this answer only."""
    if tenancy_store.location(conn, business_id, location_id) is None:
        raise NotFound(f"no location {location_id} in this business", code="location_not_found")
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    key_id = "".join(secrets.choice(ALPHABET) for _ in range(8))
    store.insert_key(
        conn,
        business_id=business_id,
        location_id=location_id,
        key_id=key_id,
        secret=secret,
        created_by=actor,
        created_at=naive_utc(now),
        retired_at=None,
    )
    return _out(store.key(conn, business_id, key_id), secret)


def listing(conn: Connection, business_id: int) -> list[KeyOut]:
    return [_out(row) for row in store.keys(conn, business_id)]


def retire(conn: Connection, business_id: int, key_id: str, now: datetime) -> KeyOut:
    if store.key(conn, business_id, key_id[:16]) is None:
        raise NotFound(f"no ticket key {key_id!r}", code="ticket_key_not_found")
    store.retire_key(conn, business_id, key_id, naive_utc(now))
    return _out(store.key(conn, business_id, key_id))
