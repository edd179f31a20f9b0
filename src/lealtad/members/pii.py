"""Blind indexes of a member's personal data: what the store writes next to the ciphertext so that
an exact e-mail, phone, name word or birthday can be found without decrypting every row."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Any

from sqlalchemy import Connection

from lealtad.members import model
from lealtad.security.crypto import FieldKeys
from lealtad.security.fields import keys_of

INDEXED = ("name", "email", "phone", "birthday")
_WORD = re.compile(r"\w+")


def name_words(text: str) -> list[str]:
    """Lowercase words without accents, so "José" is found by "jose" too."""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in plain if not unicodedata.combining(ch))
    return sorted(set(_WORD.findall(plain)))


def month_day(day: date) -> str:
    return f"{day.month:02d}-{day.day:02d}"


def email_index(keys: FieldKeys, business_id: int, email: str) -> str | None:
    normal = model.normalise_email(email)
    return keys.index("email", business_id, normal) if normal else None


def phone_index(keys: FieldKeys, business_id: int, phone: str) -> str | None:
    normal = model.normalise_phone(phone)
    return keys.index("phone", business_id, normal) if normal else None


def birthday_index(keys: FieldKeys, business_id: int, day: date) -> str:
    return keys.index("birthday", business_id, month_day(day))


def name_index(keys: FieldKeys, business_id: int, name: str) -> str | None:
    words = name_words(name)
    if not words:
        return None
    # Space-delimited, so that a LIKE '% <token> %' matches whole tokens only.
    return " " + " ".join(sorted(keys.index("name", business_id, w) for w in words)) + " "


def index_values(keys: FieldKeys, business_id: int, values: dict[str, Any]) -> dict[str, Any]:
    """The index columns matching whichever personal fields `values` sets."""
    out: dict[str, Any] = {}
    if "email" in values:
        email = values["email"]
        out["email_index"] = email_index(keys, business_id, email) if email else None
    if "phone" in values:
        phone = values["phone"]
        out["phone_index"] = phone_index(keys, business_id, phone) if phone else None
    if "name" in values:
        name = values["name"]
        out["name_index"] = name_index(keys, business_id, name) if name else None
    if "birthday" in values:
        day = values["birthday"]
        out["birthday_index"] = birthday_index(keys, business_id, day) if day else None
    return out


def with_indexes(conn: Connection, business_id: int, values: dict[str, Any]) -> dict[str, Any]:
    if not any(field in values for field in INDEXED):
        return values
    return {**values, **index_values(keys_of(conn.dialect), business_id, values)}


def name_patterns(keys: FieldKeys, business_id: int, text: str) -> list[str]:
    """LIKE patterns on the name's index, one per word of `text`, that together find the members
    having every word in their name (exact words, not prefixes); none when `text` has no word."""
    return [f"% {keys.index('name', business_id, w)} %" for w in name_words(text)]
