"""Roles, principals and the shapes of credentials."""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class Role(StrEnum):
    staff = "staff"
    manager = "manager"
    owner = "owner"

    @property
    def rank(self) -> int:
        return {"staff": 1, "manager": 2, "owner": 3}[self.value]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: every request is answered inside this principal's business."""

    business_id: int
    role: Role
    location_id: int | None = None
    staff_id: int | None = None
    api_key_id: int | None = None

    @property
    def actor(self) -> str:
        if self.staff_id is not None:
            return f"staff:{self.staff_id}"
        if self.api_key_id is not None:
            return f"api_key:{self.api_key_id}"
        return "system"


API_KEY_PREFIX = "lk"
_API_KEY = re.compile(r"^lk_([a-z0-9]{10})_([A-Za-z0-9_-]{20,64})$")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
LOCALES = ("es", "en")


def new_api_key() -> tuple[str, str, str]:
    """(full key shown once, public prefix, hash stored). A SHA-256 is enough for a key with 256
    random bits, and unlike a password hash it costs nothing on every POS call."""
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    return f"{API_KEY_PREFIX}_{prefix}_{secret}", prefix, hash_secret(secret)


def parse_api_key(value: str) -> tuple[str, str] | None:
    match = _API_KEY.match(value)
    return (match.group(1), match.group(2)) if match else None


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_timezone(name: str) -> bool:
    # A folder of the zone database ("Europe") opens as a directory, not a zone.
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def slugify(name: str) -> str:
    # Accented letters lose their accent rather than the letter: "Café Aurora" is at
    # /join/cafe-aurora on its poster, not /join/caf-aurora.
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return cleaned[:63].strip("-") or "business"
