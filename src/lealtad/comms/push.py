"""Web push to members: the server's VAPID key, the browsers' subscriptions, and one message
posted to every browser a member subscribed. A push service that answers 404 or 410 has
forgotten the subscription, so it is retired; other refusals count as failures to retry."""

from __future__ import annotations

import binascii
import json
import os
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Connection

from lealtad.comms import push_store, webpush
from lealtad.config import Settings
from lealtad.errors import Invalid, NotFound
from lealtad.members import store as member_store

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TITLE_CHARS = 120
BODY_CHARS = 400
# How long a push service keeps a message for a phone that is off: a day for news, a week for a
# voucher the member is waiting for.
TTL = {"marketing": 24 * 3600, "transactional": 7 * 24 * 3600}


# --- the server's key -------------------------------------------------------------------------


def enabled(settings: Settings) -> bool:
    """Production needs a configured key: a generated one would change with the data directory
    and orphan every subscription, which browsers tie to the key they were given."""
    return bool(settings.vapid_private_key.strip()) or settings.env != "prod"


def vapid_key(settings: Settings) -> ec.EllipticCurvePrivateKey:
    return _load_key(settings.vapid_private_key.strip(), str(settings.data_dir))


@lru_cache(maxsize=8)
def _load_key(configured: str, data_dir: str) -> ec.EllipticCurvePrivateKey:
    if configured:
        return _parse_key(configured.encode())
    path = Path(data_dir) / "vapid.pem"
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # Created 0600 in one step, and only if absent: two workers starting together keep
            # whichever key was written first.
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(handle, "wb") as out:
                out.write(pem)
    return _parse_key(path.read_bytes())


def _parse_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    if data.lstrip().startswith(b"-----BEGIN"):
        key = serialization.load_pem_private_key(data, password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ValueError("the VAPID key must be a P-256 (prime256v1) key")
        return key
    raw = webpush.unb64url(data.decode())
    if len(raw) != 32:
        raise ValueError("a raw VAPID key is the 32-byte private scalar in base64url")
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def public_key_b64(settings: Settings) -> str:
    """The applicationServerKey the wallet hands to `pushManager.subscribe`."""
    return webpush.b64url(webpush.public_bytes(vapid_key(settings)))


# --- subscriptions -----------------------------------------------------------------------------


def _check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip()
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
    except ValueError:
        parts, host = None, ""
    local = parts is not None and parts.scheme == "http" and host in LOCAL_HOSTS
    if parts is None or not host or not (parts.scheme == "https" or local):
        raise Invalid("the push endpoint must be an https URL", code="invalid_push_endpoint")
    if len(endpoint) > 1000:
        raise Invalid("the push endpoint is too long", code="invalid_push_endpoint")
    return endpoint


def _decode(value: str, code: str, what: str) -> bytes:
    try:
        return webpush.unb64url(value)
    except (binascii.Error, ValueError) as exc:
        raise Invalid(f"{what} is not base64url", code=code) from exc


def _check_keys(p256dh: str, auth: str) -> tuple[str, str]:
    point = _decode(p256dh, "invalid_push_key", "p256dh")
    try:
        if len(point) != 65:
            raise ValueError
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError as exc:
        raise Invalid(
            "p256dh must be an uncompressed P-256 public key (65 bytes)", code="invalid_push_key"
        ) from exc
    secret = _decode(auth, "invalid_push_auth", "auth")
    if len(secret) != 16:
        raise Invalid("auth must be a 16-byte secret", code="invalid_push_auth")
    return webpush.b64url(point), webpush.b64url(secret)


def subscribe(
    conn: Connection,
    business_id: int,
    member_id: int,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str | None,
    now: datetime,
) -> int:
    """Stores the browser's subscription; the same endpoint again (a renewed subscription, or
    another member on the same browser) updates it and makes it active again."""
    endpoint = _check_endpoint(endpoint)
    p256dh, auth = _check_keys(p256dh, auth)
    if member_store.member(conn, business_id, member_id) is None:
        raise NotFound(f"no member {member_id} in this business", code="member_not_found")
    values = {
        "member_id": member_id,
        "p256dh": p256dh,
        "auth": auth,
        "user_agent": (user_agent or "")[:300] or None,
        "active": True,
        "failures": 0,
    }
    return push_store.save_subscription(conn, business_id, endpoint, values, now)


def unsubscribe(conn: Connection, business_id: int, member_id: int, endpoint: str) -> bool:
    """True when the member had this subscription active."""
    return push_store.end_subscription(conn, business_id, member_id, endpoint.strip())


def active_subscriptions(conn: Connection, business_id: int, member_id: int) -> list[Any]:
    return push_store.active_subscriptions(conn, business_id, member_id)


# --- sending -----------------------------------------------------------------------------------


def payload(title: str, body: str, url: str, tag: str) -> bytes:
    """The JSON the wallet's service worker shows. Cut to fit one encrypted record: a campaign's
    text may be long, and the push service refuses more than 4 kB."""

    def cut(text: str, limit: int) -> str:
        return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"

    return json.dumps(
        {"title": cut(title, TITLE_CHARS), "body": cut(body, BODY_CHARS), "url": url, "tag": tag},
        ensure_ascii=False,
    ).encode()


@dataclass(frozen=True)
class Delivery:
    accepted: int
    retired: int
    failed: int
    error: str | None

    @property
    def outcome(self) -> str:
        """ "sent" (some browser has it), "gone" (every subscription retired) or "failed"."""
        if self.accepted:
            return "sent"
        return "failed" if self.failed else "gone"


def deliver(
    conn: Connection,
    settings: Settings,
    business_id: int,
    member_id: int,
    body: bytes,
    category: str,
    now: datetime,
) -> Delivery:
    """Posts the payload to each active subscription of the member and records each answer."""
    accepted = retired = failed = 0
    error = None
    key = vapid_key(settings)
    urgency = "high" if category == "transactional" else "normal"
    import httpx  # here, not at the top: see webpush

    with webpush.client() as http:
        for sub in active_subscriptions(conn, business_id, member_id):
            try:
                status = webpush.send(
                    http,
                    sub.endpoint,
                    webpush.unb64url(sub.p256dh),
                    webpush.unb64url(sub.auth),
                    body,
                    key,
                    settings.vapid_subject,
                    now,
                    ttl=TTL.get(category, TTL["marketing"]),
                    urgency=urgency,
                )
            except httpx.HTTPError as exc:
                status, error = 0, f"push service unreachable: {exc}"[:200]
            answer: push_store.Answer
            if 200 <= status < 300:
                accepted += 1
                answer = "accepted"
            elif status in (404, 410):
                retired += 1
                answer = "retired"
            else:
                failed += 1
                error = error if status == 0 else f"push service answered {status}"
                answer = "failed"
            push_store.record_answer(conn, sub.id, answer, now)
    return Delivery(accepted, retired, failed, error)
