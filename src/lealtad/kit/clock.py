"""The clock is injected so that tests and imports of history can say what time it is."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Protocol

from pydantic import AfterValidator


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at


def as_utc(value: datetime) -> datetime:
    """Naive datetimes from the database are UTC by convention; aware ones are converted."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def naive_utc(value: datetime) -> datetime:
    """The form every timestamp is stored in, on both databases."""
    return as_utc(value).replace(tzinfo=None)


# A timestamp in an API answer: the database gives naive UTC, and the OpenAPI "date-time" format
# (RFC 3339) needs the offset, so answers say "+00:00" instead of leaving clients to guess.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]
