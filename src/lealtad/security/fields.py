"""Encrypted column types. The keys travel with the engine (on its dialect, set by
`lealtad.db.engine.Database`), not in a process global, so two apps with different secrets can run
in one process; code above the store reads and writes plain values."""

from __future__ import annotations

import json
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import Dialect, Text
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from lealtad.security.crypto import FieldKeyError, FieldKeys, _b64decode, derive, parse_keys

if TYPE_CHECKING:
    from lealtad.config import Settings

ATTRIBUTE = "lealtad_field_keys"


def keys_for_settings(settings: Settings) -> FieldKeys:
    """LEALTAD_FIELD_KEYS (the first encrypts, all decrypt) and LEALTAD_FIELD_INDEX_KEY; outside
    production a key derived from the secret key is always among them, so that a development
    database made before any key was configured still opens after one is."""
    configured = parse_keys(settings.field_keys)
    if settings.env != "prod" and "dev" not in {kid for kid, _ in configured}:
        configured.append(
            ("dev", derive(settings.effective_secret_key, "lealtad field encryption v1"))
        )
    if settings.field_index_key:
        index_key = _b64decode(settings.field_index_key.strip())
        if len(index_key) < 32:
            raise FieldKeyError("LEALTAD_FIELD_INDEX_KEY must be at least 32 bytes, base64url")
    else:
        index_key = derive(settings.effective_secret_key, "lealtad blind index v1")
    return FieldKeys(tuple(configured), index_key)


def attach(dialect: Dialect, keys: FieldKeys | None) -> None:
    setattr(dialect, ATTRIBUTE, keys)


def keys_of(dialect: Dialect) -> FieldKeys:
    keys: FieldKeys | None = getattr(dialect, ATTRIBUTE, None)
    if keys is None:
        raise FieldKeyError(
            "this database has no field keys: build it with Database(url, keys=...)"
        )
    return keys


class _Sealed(TypeDecorator[Any]):
    """Ciphertext in a TEXT column. Comparing the column to a value cannot work (every
    encryption differs), so it is refused: search its blind index instead."""

    impl = Text
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[Any]):
        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            if op not in (operators.is_, operators.is_not):
                raise TypeError("an encrypted column can only be tested for NULL; use its index")
            return super().operate(op, *other, **kwargs)

    comparator_factory = Comparator

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def dump(self, value: Any) -> str:
        return str(value)

    def load(self, text: str) -> Any:
        return text

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return keys_of(dialect).encrypt(self.dump(value), self.column)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        return self.load(keys_of(dialect).decrypt(value, self.column))


class EncryptedString(_Sealed):
    cache_ok = True


class EncryptedDate(_Sealed):
    cache_ok = True

    def dump(self, value: Any) -> str:
        return str(value.isoformat())

    def load(self, text: str) -> Any:
        return date.fromisoformat(text)


class EncryptedJSON(_Sealed):
    cache_ok = True

    def dump(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), default=str)

    def load(self, text: str) -> Any:
        return json.loads(text)
