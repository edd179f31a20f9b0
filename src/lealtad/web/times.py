"""Times on the pages of the three surfaces. Times are stored in UTC; a page shows them as the
wall-clock time of the zone it is about (the business's, a location's or the member's, as the
page decides), formatted by Babel in the page's language: "2 mar 2026, 11:30" in Spanish,
"2 Mar 2026, 11:30" in English (day first and a 24-hour clock in both, as in the business's
own country). The console labels its times with the zone's name, since an owner away from the
shop, or a chain with shops in several zones, would otherwise read them as their own.

Templates use the filters `local_time`, `local_day` and `zoned` (a table heading with the zone);
they find the zone in a `times` value of the page, else in its `business`."""

from __future__ import annotations

from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from lealtad.kit.dates import in_zone

# Babel locales for the page languages: English is written the British way, day before month
# and a 24-hour clock, like the Spanish.
BABEL_LOCALES = {"es": "es_ES", "en": "en_GB"}


def _zone(zone: str | tzinfo) -> tzinfo:
    if isinstance(zone, tzinfo):
        return zone
    try:
        return ZoneInfo(zone)
    except (KeyError, ValueError, OSError):
        return UTC  # a zone dropped by a tzdata update: shown in UTC, and labelled so


class Times:
    """Stored times as one zone's wall-clock time, in one language."""

    def __init__(self, zone: str | tzinfo, lang: str) -> None:
        self.zone = _zone(zone)
        self.zone_name = "UTC" if self.zone is UTC else str(self.zone)
        self.lang = lang
        self.locale = BABEL_LOCALES.get(lang, "en_GB")

    def local(self, value: datetime) -> datetime:
        return in_zone(value, self.zone)

    def moment(self, value: datetime | None, *, seconds: bool = False) -> str:
        """Date and time; "–" for none."""
        if value is None:
            return "–"
        local = self.local(value)
        clock = format_time(local, "medium" if seconds else "short", locale=self.locale)
        return f"{format_date(local, 'medium', locale=self.locale)}, {clock}"

    def labelled(self, value: datetime | None, *, seconds: bool = False) -> str:
        """Date and time with the zone's name, where the reader cannot be told it otherwise."""
        if value is None:
            return "–"
        return f"{self.moment(value, seconds=seconds)} ({self.zone_name})"

    def day(self, value: date | datetime | None, *, width: str = "medium") -> str:
        """The calendar day (of this zone, for a time)."""
        if value is None:
            return "–"
        if isinstance(value, datetime):
            value = self.local(value).date()
        return str(format_date(value, width, locale=self.locale))

    def heading(self, text: str) -> str:
        """A table column's heading with the zone its times are in."""
        return f"{text} ({self.zone_name})"


def of_page(context: Context | dict[str, Any]) -> Times:
    found = context.get("times")
    if isinstance(found, Times):
        return found
    lang = str(context.get("lang") or "en")
    business = context.get("business")
    zone = getattr(business, "timezone", None)
    return Times(zone or UTC, lang)


@pass_context
def _local_time(
    context: Context, value: datetime | None, seconds: bool = False, label: bool = False
) -> str:
    times = of_page(context)
    return times.labelled(value, seconds=seconds) if label else times.moment(value, seconds=seconds)


@pass_context
def _local_day(context: Context, value: date | datetime | None) -> str:
    return of_page(context).day(value)


@pass_context
def _zoned(context: Context, text: str) -> str:
    return of_page(context).heading(text)


def install(env: Environment) -> None:
    env.filters["local_time"] = _local_time
    env.filters["local_day"] = _local_day
    env.filters["zoned"] = _zoned
