"""Dates and times at the edge: what the API and the console's forms accept, and how a stored time
is put in a zone whatever its year.

Accepted: ISO 8601 text only (a number is refused: "0.5" or 0 read as seconds since 1970 is a
guess, not an answer), from 1900-01-01T00:00:00Z to 2199-12-31T23:59:59Z. The lower bound leaves
room for history imported decades back and the oldest members' birthdays; within the range any
zone's offset (at most 14 hours) and the arithmetic the services do (voucher days, report
periods) stay inside what Python's datetime holds (years 1 to 9999), so no page or report can
overflow on a value the API took. A time without an offset is UTC, as everywhere (kit/clock.py).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, tzinfo
from typing import Annotated, Any

from pydantic import (
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from lealtad.kit.clock import as_utc

EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
FIRST_DAY, LAST_DAY = EARLIEST.date(), LATEST.date()
RANGE_TEXT = {"earliest": "1900-01-01T00:00:00Z", "latest": "2199-12-31T23:59:59Z"}
DAY_RANGE_TEXT = {"earliest": FIRST_DAY.isoformat(), "latest": LAST_DAY.isoformat()}
# The codes a refusal of these types carries; the request-validation handler names them.
CODES = frozenset({"date_not_iso", "date_out_of_range"})
# Validation context for a document read back from the database: a row stored before the range
# was enforced must still load (and be shown), so only its shape is checked.
STORED: dict[str, Any] = {"lealtad_stored": True}

_DATETIME_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[Tt ].*)?", re.DOTALL)
_DATE_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?\s*")


def _stored(info: ValidationInfo) -> bool:
    return isinstance(info.context, dict) and bool(info.context.get("lealtad_stored"))


def _iso_only(
    value: Any, shape: re.Pattern[str], parse: ValidatorFunctionWrapHandler, what: str, example: str
) -> Any:
    """`value` when it is ISO 8601 text (or already a date from our own code); pydantic's own
    refusal for text that is no date at all; `date_not_iso` for what pydantic would otherwise
    have read as seconds since 1970 (a number, a boolean, numeric text)."""
    if isinstance(value, date) or (isinstance(value, str) and shape.fullmatch(value)):
        return value
    if isinstance(value, str) and not _NUMBER.fullmatch(value):
        parse(value)  # its own error for "yesterday"; anything it would take is refused below
    raise PydanticCustomError(
        "date_not_iso",
        "must be an ISO 8601 {what} text such as {example}",
        {"what": what, "example": example},
    )


def _accept_datetime(value: Any, parse: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    at = parse(_iso_only(value, _DATETIME_SHAPE, parse, "date-time", "2026-03-01T09:30:00Z"))
    if _stored(info):
        try:
            return as_utc(at)
        except OverflowError:
            return at
    if not within(at):
        raise PydanticCustomError(
            "date_out_of_range", "must be between {earliest} and {latest}", RANGE_TEXT
        )
    return as_utc(at)


def _accept_date(value: Any, parse: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    day = parse(_iso_only(value, _DATE_SHAPE, parse, "date", "2026-03-01"))
    if not _stored(info) and not FIRST_DAY <= day <= LAST_DAY:
        raise PydanticCustomError(
            "date_out_of_range", "must be between {earliest} and {latest}", DAY_RANGE_TEXT
        )
    return day


# A date-time a client sends: ISO 8601 text within the range, answered as an aware UTC datetime.
IsoDateTime = Annotated[datetime, WrapValidator(_accept_datetime)]
# A calendar day a client sends (YYYY-MM-DD) within the range.
IsoDate = Annotated[date, WrapValidator(_accept_date)]


def within(at: datetime) -> bool:
    """Whether a time (naive UTC or aware) lies in the range the API accepts."""
    try:
        return EARLIEST <= as_utc(at) <= LATEST
    except OverflowError:
        return False


def parse_day(text: str) -> date | None:
    """A day typed in a page's filter: None when empty; ValueError when not YYYY-MM-DD or out of
    the range (the caller says so on the page)."""
    text = text.strip()
    if not text:
        return None
    if not _DATE_SHAPE.fullmatch(text):
        raise ValueError(f"not a YYYY-MM-DD date: {text!r}")
    day = date.fromisoformat(text)
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValueError(f"{text} is outside {FIRST_DAY} to {LAST_DAY}")
    return day


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    """A stored time (naive UTC, or aware) as the wall-clock time of `zone`. A time so close to
    year 1 or 9999 that the zone's offset would leave datetime's range (only rows stored before the
    API refused such years) stays in UTC: shown a few hours off rather than not shown at all."""
    try:
        at = as_utc(value)
    except OverflowError:
        return value
    try:
        return at.astimezone(zone)
    except OverflowError:
        return at
