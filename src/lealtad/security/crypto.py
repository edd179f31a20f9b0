"""Field encryption and blind indexes for personal data (decision D28).

A value is sealed with AES-256-GCM under the newest key and stored as `e1:<kid>:<base64url(nonce |
ciphertext)>`; every configured key still opens what it sealed, so keys can be rotated while the
program runs (`lealtad keys rotate`). The column's name is the associated data, so a ciphertext
copied into another column does not open. Equality search goes through a blind index: an
HMAC-SHA256, under a separate key, of the business and the normalised value, so the same address
in two businesses does not give the same index."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from lealtad.errors import LealtadError

VERSION = "e1"
_KID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
# 128 bits of HMAC: collisions between distinct addresses of one business are not a concern.
INDEX_HEX = 32


class FieldKeyError(LealtadError):
    """A personal-data key is missing, malformed or wrong. Never shown as garbage data."""

    def __init__(self, message: str) -> None:
        super().__init__(message, code="field_key_error", http_status=500)


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def derive(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


def new_key() -> str:
    """A fresh key as `<kid>:<base64url key>`, for LEALTAD_FIELD_KEYS."""
    return f"k{secrets.token_hex(3)}:{_b64encode(secrets.token_bytes(32))}"


def parse_keys(text: str) -> list[tuple[str, bytes]]:
    """`kid:base64key` entries separated by commas or whitespace; the first one encrypts."""
    found: list[tuple[str, bytes]] = []
    for entry in re.split(r"[,\s]+", text.strip()):
        if not entry:
            continue
        kid, sep, encoded = entry.partition(":")
        if not sep or not _KID.match(kid):
            raise FieldKeyError(f"field key {kid!r}: write each key as <id>:<base64url key>")
        try:
            key = _b64decode(encoded)
        except ValueError:
            raise FieldKeyError(f"field key {kid!r} is not base64url") from None
        if len(key) != 32:
            raise FieldKeyError(f"field key {kid!r} must be 32 bytes (a 256-bit key)")
        if kid in {k for k, _ in found}:
            raise FieldKeyError(f"field key id {kid!r} appears twice")
        found.append((kid, key))
    return found


@dataclass(frozen=True)
class FieldKeys:
    keys: tuple[tuple[str, bytes], ...]
    index_key: bytes

    def __post_init__(self) -> None:
        if not self.keys:
            raise FieldKeyError("no field encryption key is configured (LEALTAD_FIELD_KEYS)")

    @classmethod
    def derived(cls, secret: str) -> FieldKeys:
        """Outside production: keys derived from the secret key, so a dev install needs none."""
        return cls(
            (("dev", derive(secret, "lealtad field encryption v1")),),
            derive(secret, "lealtad blind index v1"),
        )

    @property
    def current(self) -> str:
        return self.keys[0][0]

    def encrypt(self, plaintext: str, column: str) -> str:
        kid, key = self.keys[0]
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), column.encode())
        return f"{VERSION}:{kid}:{_b64encode(nonce + sealed)}"

    def decrypt(self, token: str, column: str) -> str:
        version, _, rest = token.partition(":")
        kid, _, body = rest.partition(":")
        if version != VERSION or not body:
            raise FieldKeyError(f"{column} holds a value that is not encrypted")
        key = dict(self.keys).get(kid)
        if key is None:
            raise FieldKeyError(
                f"{column} was encrypted with key {kid!r}, which is not configured: "
                "add it back to LEALTAD_FIELD_KEYS (after the first one) and run `lealtad keys "
                "rotate` before removing it"
            )
        try:
            data = _b64decode(body)
            return AESGCM(key).decrypt(data[:12], data[12:], column.encode()).decode()
        except (InvalidTag, ValueError):
            raise FieldKeyError(
                f"{column} does not open with key {kid!r}: the key is wrong or the data altered"
            ) from None

    def key_id(self, token: str | None) -> str | None:
        if token is None:
            return None
        return token.split(":", 2)[1] if token.startswith(VERSION + ":") else ""

    def index(self, kind: str, business_id: int, value: str) -> str:
        message = f"{kind}\x00{business_id}\x00{value}".encode()
        return hmac.new(self.index_key, message, hashlib.sha256).hexdigest()[:INDEX_HEX]
