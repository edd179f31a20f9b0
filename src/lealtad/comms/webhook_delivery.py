"""Webhook delivery, signed as the Standard Webhooks convention has it (webhook-id,
webhook-timestamp, webhook-signature) and retried with exponential backoff.

The worker drives delivery in two steps, each safe to repeat and to run in several workers:
`fan_out(conn, outbox_row, now)` inside the transaction that handles an outbox row, then
`deliver_due(db, now)` on its own. Delivery is at least once: a receiver that answers after the
lease ran out may see a message twice, with the same webhook-id, as the convention allows."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from lealtad import __version__
from lealtad.comms import addresses, webhooks_store
from lealtad.comms.webhooks import ALL, TEST_TOPIC, Status
from lealtad.db.engine import Database
from lealtad.kit.clock import as_utc, naive_utc

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("lealtad.webhooks")

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=6)
# How long a claimed delivery is held from other workers, plus the worst case of its batch.
LEASE = timedelta(seconds=60)


# Signing


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The webhook-signature header value: "v1," + base64 HMAC-SHA256 of "id.timestamp.body",
    keyed with the base64-decoded part of the secret after "whsec_"."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


# Fan-out


def fan_out(conn: Connection, outbox_row: Any, now: datetime) -> int:
    """Queue one delivery of an outbox event (a row of `outbox`: id, business_id, topic,
    payload, created_at) per active endpoint of its business subscribed to its topic (or "*").
    Call it in the transaction that marks the outbox row handled. Idempotent: a second call
    for the same row adds nothing. Returns how many deliveries it queued."""
    if outbox_row.topic == TEST_TOPIC:
        endpoint_id = (outbox_row.payload or {}).get("endpoint_id")
        found = webhooks_store.active_endpoint(conn, outbox_row.business_id, endpoint_id)
    else:
        found = webhooks_store.active_endpoints(conn, outbox_row.business_id)
    targets = [
        row.id
        for row in found
        if outbox_row.topic == TEST_TOPIC or ALL in row.topics or outbox_row.topic in row.topics
    ]
    if not targets:
        return 0
    at = naive_utc(now)
    payload = {
        "type": outbox_row.topic,
        "timestamp": as_utc(outbox_row.created_at).isoformat().replace("+00:00", "Z"),
        "data": outbox_row.payload,
    }
    queued = 0
    for endpoint_id in targets:
        inserted = webhooks_store.queue_delivery(
            conn,
            business_id=outbox_row.business_id,
            endpoint_id=endpoint_id,
            outbox_id=outbox_row.id,
            message_id=f"msg_{outbox_row.id}",
            topic=outbox_row.topic,
            payload=payload,
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
        queued += inserted
    return queued


# Delivery


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """The wait after the `attempts`-th failure: 30 s, 2 min, 8 min, ... at most 6 h, plus up to
    10 % jitter so that endpoints recovering from an outage are not hit all at once."""
    factor: int = 4 ** min(max(attempts, 1) - 1, 10)
    base = min(FIRST_RETRY * factor, MAX_RETRY)
    jitter = rng.uniform(0, 0.1) if rng else random.uniform(0, 0.1)
    return base * (1 + jitter)


@dataclass(frozen=True)
class _Claimed:
    id: int
    endpoint_id: int
    message_id: str
    payload: dict[str, Any]
    attempts: int
    url: str
    secret: str


def _claim(db: Database, at: datetime, limit: int, timeout: float) -> list[_Claimed]:
    """Take up to `limit` due deliveries by moving their next attempt past a lease, in one short
    transaction. PostgreSQL workers skip rows another is claiming; SQLite has one writer."""
    with db.transaction() as conn:
        claimed = [
            _Claimed(**row._mapping) for row in webhooks_store.due_deliveries(conn, at, limit)
        ]
        if claimed:
            lease = LEASE + timedelta(seconds=timeout) * len(claimed)
            webhooks_store.lease_deliveries(conn, [c.id for c in claimed], at + lease)
    return claimed


def _send(
    client: httpx.Client, delivery: _Claimed, at: datetime, allow_private: bool
) -> tuple[int | None, str | None]:
    """POST one delivery: (HTTP status or None, error text or None). Reads at most a little of
    the answer, so a receiver cannot make the worker download a large body."""
    # Checked again at sending: the name may have been pointed at a private address since.
    problem = None if allow_private else addresses.refusal(delivery.url, resolve=True)
    if problem:
        return None, f"refused: {problem}"[:500]
    body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()
    timestamp = int(as_utc(at).timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": f"Lealtad-Webhooks/{__version__}",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.secret, delivery.message_id, timestamp, body),
    }
    try:
        with client.stream("POST", delivery.url, content=body, headers=headers) as resp:
            if 200 <= resp.status_code < 300:
                return resp.status_code, None
            head = next(resp.iter_bytes(200), b"")[:200].decode("utf-8", "replace")
            return resp.status_code, f"HTTP {resp.status_code}: {head}".strip()[:500]
    except Exception as exc:  # a bad URL or a dead receiver is that delivery's failure only
        return None, f"{type(exc).__name__}: {exc}"[:500]


def _record(
    db: Database, delivery: _Claimed, code: int | None, error: str | None, at: datetime
) -> Status:
    attempts = delivery.attempts + 1
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_status_code": code,
        "last_error": error,
    }
    status: Status
    if error is None:
        status = "succeeded"
        values |= {"delivered_at": naive_utc(at), "next_attempt_at": None}
    elif attempts >= MAX_ATTEMPTS:
        status = "failed"
        values["next_attempt_at"] = None
    else:
        status = "pending"
        values["next_attempt_at"] = naive_utc(at + backoff(attempts))
    with db.transaction() as conn:
        webhooks_store.record_attempt(conn, delivery.id, status, values)
    return status


def deliver_due(
    db: Database,
    now: datetime,
    *,
    limit: int = 100,
    timeout: float = 5.0,
    client: httpx.Client | None = None,
    allow_private: bool = True,
) -> dict[str, int]:
    """Send up to `limit` deliveries that are due at `now`, each outside any database transaction,
    and record each answer in its own: 2xx succeeds; anything else is retried after `backoff`,
    and fails for good after MAX_ATTEMPTS. `client` lets a worker reuse one httpx.Client (its
    own timeout then applies). Returns {"claimed", "succeeded", "retrying", "failed"}."""
    started = time.monotonic()
    claimed = _claim(db, now, limit, timeout)
    counts = {"claimed": len(claimed), "succeeded": 0, "retrying": 0, "failed": 0}
    if not claimed:
        return counts
    import httpx  # only the worker sends; the web app never needs an HTTP client

    own = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        for delivery in claimed:
            # The injected clock plus the time this batch has taken: signatures stay fresh.
            at = now + timedelta(seconds=time.monotonic() - started)
            code, error = _send(http, delivery, at, allow_private)
            status = _record(db, delivery, code, error, at)
            counts["retrying" if status == "pending" else status] += 1
            if error:
                # The endpoint's id, not its URL: URLs can carry the receiver's own tokens.
                log.info(
                    "webhook %s to endpoint %s: %s",
                    delivery.message_id,
                    delivery.endpoint_id,
                    error,
                )
    finally:
        if own:
            http.close()
    return counts
