"""Replay safety for POS calls: the first answer to a key is stored with the change it describes,
in the same transaction; a replay gets that answer back, a different payload under the key a 409."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from lealtad.db import setwise
from lealtad.errors import Conflict
from lealtad.kit.clock import naive_utc
from lealtad.ledger import idempotency_store as store
from lealtad.ledger.tables import idempotency_keys

MAX_KEY = 200


@dataclass(frozen=True)
class StoredAnswer:
    status_code: int
    body: Any


def request_hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def begin(
    conn: Connection, business_id: int, key: str, payload: Any, now: datetime
) -> StoredAnswer | None:
    """None when this call goes ahead; the stored answer when it is a replay."""
    digest = request_hash(payload)
    if store.claim_idempotency_key(conn, business_id, key[:MAX_KEY], digest, naive_utc(now)):
        return None
    found = store.find_idempotent(conn, business_id, key[:MAX_KEY])
    if found.request_hash != digest:
        raise Conflict(
            "this idempotency key was already used with a different request",
            code="idempotency_key_reused",
            details={"key": key},
        )
    return StoredAnswer(found.status_code, found.response)


def finish(conn: Connection, business_id: int, key: str, status_code: int, body: Any) -> None:
    store.store_idempotent_response(conn, business_id, key[:MAX_KEY], status_code, body)


def first_answers(
    conn: Connection, business_id: int, answers: list[tuple[str, Any, int, Any, datetime]]
) -> None:
    """Keys first used by a set-wise batch (purchases/setwise.py), each with its request, its
    answer and its request's time [(key, request, status, body, now)]: the rows `begin` then
    `finish` leave, in one statement. On SQLite the caller read the keys under the write lock,
    so they are new. On PostgreSQL another process may have claimed one since: the insert then
    waits for it, as `begin` does, and raises `KeyTaken` so that the caller records that sale
    through `begin` instead (its savepoint rolled back)."""
    rows = [
        dict(
            business_id=business_id,
            key=key[:MAX_KEY],
            request_hash=request_hash(payload),
            status_code=status,
            response=body,
            created_at=naive_utc(now),
        )
        for key, payload, status, body, now in answers
    ]
    if conn.dialect.name != "postgresql":
        setwise.insert_many(conn, idempotency_keys, rows)
        return
    if len(setwise.insert_new_many(conn, idempotency_keys, rows)) != len(rows):
        raise KeyTaken("an idempotency key of the batch was claimed by another transaction")


class KeyTaken(Exception):
    """A key a set-wise batch meant to claim was claimed first elsewhere."""
