"""`--as-of` of the commands that run "now" (jobs, settle, analytics refresh and report): the
instant a command takes as its clock, so that a business can replay its history as it would
have happened.

A date (2025-06-30) means the end of that day in the business's own time zone: the day's
birthdays and anniversaries, every expiry due by its last instant, and its purchases all in.
The business's today means now (its end has not come). A date and time is that instant; one
without an offset is UTC, as everywhere (kit/clock.py). A date or instant after now is refused:
nothing is settled, scored or reported ahead of the clock.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from lealtad.kit.clock import as_utc
from lealtad.kit.dates import EARLIEST, LATEST


class AsOfRefused(ValueError):
    """The text is no date, or names a time after now."""


def parse(text: str) -> date | datetime:
    """An ISO date or an ISO date and time (Z or an offset allowed)."""
    value = text.strip()
    try:
        if len(value) == 10:
            return date.fromisoformat(value)
        return datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError as exc:
        raise AsOfRefused(
            f"--as-of {text!r} is neither a date (2025-06-30) nor a date and time "
            "(2025-06-30T18:00:00Z) / no es una fecha ISO"
        ) from exc


def instant(value: date | datetime, zone: str, now: datetime) -> datetime:
    """The instant in UTC that `value` stands for in a business whose time zone is `zone`."""
    try:
        return _instant(value, zone, now)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00+01:00, before the first UTC instant
        raise AsOfRefused(_OUT_OF_RANGE) from exc


_OUT_OF_RANGE = "--as-of is out of range (years 1900 to 2199) / fuera de rango"


def _instant(value: date | datetime, zone: str, now: datetime) -> datetime:
    if isinstance(value, datetime):
        at = as_utc(value)
        if at > as_utc(now):
            raise AsOfRefused(
                f"--as-of {value.isoformat()} is in the future; now is "
                f"{as_utc(now).isoformat(timespec='seconds')} / está en el futuro"
            )
    else:
        tz = ZoneInfo(zone)
        today = as_utc(now).astimezone(tz).date()
        if value > today:
            raise AsOfRefused(
                f"--as-of {value.isoformat()} is in the future; today is {today.isoformat()} "
                f"in {zone} / está en el futuro"
            )
        if value == today:
            return as_utc(now)
        at = as_utc(datetime.combine(value + timedelta(days=1), time.min, tz)) - timedelta(
            microseconds=1
        )
    if not EARLIEST <= at <= LATEST:
        raise AsOfRefused(_OUT_OF_RANGE)
    return at
