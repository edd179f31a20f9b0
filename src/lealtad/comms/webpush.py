"""The Web Push protocol on `cryptography` and httpx: a VAPID token (RFC 8292) and an
`aes128gcm` payload (RFC 8188 record, RFC 8291 keys) posted to the browser's push service."""

from __future__ import annotations

import base64
import json
import os
import struct
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF, HKDFExpand
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

if TYPE_CHECKING:
    # httpx (with rich, click and pygments, which it imports when they are installed) is loaded
    # by the process that sends, never by a web worker that only serves (P6).
    import httpx

RECORD_SIZE = 4096
# Push services accept 4096 bytes of body; the header (86 bytes) and the tag and delimiter (17)
# leave this much for the payload itself.
MAX_PAYLOAD = RECORD_SIZE - 86 - 17
TOKEN_LIFETIME = timedelta(hours=12)
TIMEOUT = 10.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    """Browsers give the keys in base64url without padding; some libraries pad or use '+/'."""
    clean = text.strip().replace("+", "-").replace("/", "_").rstrip("=")
    return base64.urlsafe_b64decode(clean + "=" * (-len(clean) % 4))


def public_bytes(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point (65 bytes), the form both RFCs put on the wire."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def origin(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def vapid_token(key: ec.EllipticCurvePrivateKey, audience: str, subject: str, now: datetime) -> str:
    """An ES256 JWT naming the push service's origin; services refuse an expiry past 24 hours."""
    header = {"typ": "JWT", "alg": "ES256"}
    claims = {"aud": audience, "exp": int((now + TOKEN_LIFETIME).timestamp()), "sub": subject}
    signing_input = ".".join(
        b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    # JWS wants r and s as two 32-byte big-endian numbers, not the DER that cryptography returns.
    return f"{signing_input}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _hmac(key: bytes, data: bytes) -> bytes:
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(data)
    return mac.finalize()


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    salt: bytes | None = None,
    server_key: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """One `aes128gcm` record for the browser holding the private half of `ua_public`.
    A fresh server key and salt per message unless given (the RFC's test vector gives them)."""
    if len(plaintext) > MAX_PAYLOAD:
        raise ValueError(f"a push payload holds at most {MAX_PAYLOAD} bytes")
    salt = salt or os.urandom(16)
    server_key = server_key or ec.generate_private_key(ec.SECP256R1())
    as_public = public_bytes(server_key)
    browser = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), ua_public)
    shared = server_key.exchange(ec.ECDH(), browser)
    # RFC 8291 section 3.4: the auth secret and both public keys go into the input keying material.
    info = b"WebPush: info\x00" + ua_public + as_public
    ikm = HKDF(hashes.SHA256(), 32, salt=auth_secret, info=info).derive(shared)
    prk = _hmac(salt, ikm)
    cek = HKDFExpand(hashes.SHA256(), 16, b"Content-Encoding: aes128gcm\x00").derive(prk)
    nonce = HKDFExpand(hashes.SHA256(), 12, b"Content-Encoding: nonce\x00").derive(prk)
    # 0x02 marks the last (and only) record; no padding beyond it.
    sealed = AESGCM(cek).encrypt(nonce, plaintext + b"\x02", None)
    header = salt + struct.pack("!IB", RECORD_SIZE, len(as_public)) + as_public
    return header + sealed


def send(
    client: httpx.Client,
    endpoint: str,
    ua_public: bytes,
    auth_secret: bytes,
    payload: bytes,
    key: ec.EllipticCurvePrivateKey,
    subject: str,
    now: datetime,
    *,
    ttl: int,
    urgency: str = "normal",
) -> int:
    """Posts one push message; the push service's status code (201 when it took it)."""
    token = vapid_token(key, origin(endpoint), subject, now)
    response = client.post(
        endpoint,
        content=encrypt(payload, ua_public, auth_secret),
        headers={
            "Authorization": f"vapid t={token}, k={b64url(public_bytes(key))}",
            "Content-Encoding": "aes128gcm",
            "Content-Type": "application/octet-stream",
            "TTL": str(ttl),
            "Urgency": urgency,
        },
    )
    return response.status_code


def client() -> httpx.Client:
    import httpx

    # Push services never redirect a message; following one would re-send it elsewhere.
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)
