"""Calendar periods in a business's zone: where cap periods start and end, when points expire.

Expected instants are written in UTC so that a wrong offset cannot hide behind the same wall
time; the results' own zone and wall time are checked separately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from lealtad.rules.periods import Period, expiry_for, next_period_start, period_end, period_start

MADRID = ZoneInfo("Europe/Madrid")
MEXICO = ZoneInfo("America/Mexico_City")
LAST = timedelta(microseconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def end_utc(*parts: int) -> datetime:
    """One microsecond before the given UTC instant: the last instant of a period."""
    return utc(*parts) - LAST


# fmt: off
CASES: list[tuple[str, datetime, Period, ZoneInfo, datetime, datetime]] = [
    # id, at, period, zone, expected start (UTC), expected end (UTC)
    ("day-madrid-summer", utc(2026, 6, 10, 12), "day", MADRID, utc(2026, 6, 9, 22), end_utc(2026, 6, 10, 22)),
    ("day-madrid-winter", utc(2026, 1, 15, 12), "day", MADRID, utc(2026, 1, 14, 23), end_utc(2026, 1, 15, 23)),
    # 23:30 UTC is already the next day in Madrid, still the same day in Mexico City
    ("day-madrid-after-local-midnight", utc(2026, 1, 15, 23, 30), "day", MADRID, utc(2026, 1, 15, 23), end_utc(2026, 1, 16, 23)),
    ("day-mexico-before-local-midnight", utc(2026, 1, 16, 5, 59), "day", MEXICO, utc(2026, 1, 15, 6), end_utc(2026, 1, 16, 6)),
    ("day-mexico-at-local-midnight", utc(2026, 1, 16, 6), "day", MEXICO, utc(2026, 1, 16, 6), end_utc(2026, 1, 17, 6)),
    # spring forward: a 23-hour day; fall back: a 25-hour day
    ("day-madrid-spring-forward", utc(2026, 3, 29, 12), "day", MADRID, utc(2026, 3, 28, 23), end_utc(2026, 3, 29, 22)),
    ("day-madrid-spring-forward-in-the-gap", utc(2026, 3, 29, 1, 30), "day", MADRID, utc(2026, 3, 28, 23), end_utc(2026, 3, 29, 22)),
    ("day-madrid-fall-back", utc(2026, 10, 25, 12), "day", MADRID, utc(2026, 10, 24, 22), end_utc(2026, 10, 25, 23)),
    ("day-madrid-fall-back-second-0230", utc(2026, 10, 25, 1, 30), "day", MADRID, utc(2026, 10, 24, 22), end_utc(2026, 10, 25, 23)),
    # Mexico City kept daylight saving until 2022
    ("day-mexico-2022-spring-forward", utc(2022, 4, 3, 18), "day", MEXICO, utc(2022, 4, 3, 6), end_utc(2022, 4, 4, 5)),
    ("day-mexico-2022-fall-back", utc(2022, 10, 30, 18), "day", MEXICO, utc(2022, 10, 30, 5), end_utc(2022, 10, 31, 6)),
    # weeks start on Monday; 2026-03-29 is a Sunday, the last day of its week
    ("week-madrid-spring-forward-sunday", utc(2026, 3, 29, 12), "week", MADRID, utc(2026, 3, 22, 23), end_utc(2026, 3, 29, 22)),
    ("week-madrid-monday-after-local-midnight", utc(2026, 3, 29, 22, 30), "week", MADRID, utc(2026, 3, 29, 22), end_utc(2026, 4, 5, 22)),
    ("week-madrid-fall-back", utc(2026, 10, 21, 12), "week", MADRID, utc(2026, 10, 18, 22), end_utc(2026, 10, 25, 23)),
    ("week-mexico-across-new-year", utc(2026, 1, 1, 12), "week", MEXICO, utc(2025, 12, 29, 6), end_utc(2026, 1, 5, 6)),
    ("week-mexico-sunday-night", utc(2026, 1, 5, 5, 59), "week", MEXICO, utc(2025, 12, 29, 6), end_utc(2026, 1, 5, 6)),
    ("month-madrid-february", utc(2026, 2, 15), "month", MADRID, utc(2026, 1, 31, 23), end_utc(2026, 2, 28, 23)),
    ("month-madrid-leap-february", utc(2028, 2, 15), "month", MADRID, utc(2028, 1, 31, 23), end_utc(2028, 2, 29, 23)),
    # 23:30 UTC on 28 February is 00:30 on 1 March in Madrid; March holds the change to CEST
    ("month-madrid-after-local-month-end", utc(2026, 2, 28, 23, 30), "month", MADRID, utc(2026, 2, 28, 23), end_utc(2026, 3, 31, 22)),
    ("month-mexico-before-local-month-end", utc(2026, 3, 1, 5, 30), "month", MEXICO, utc(2026, 2, 1, 6), end_utc(2026, 3, 1, 6)),
    ("month-madrid-october-fall-back", utc(2026, 10, 31, 22, 30), "month", MADRID, utc(2026, 9, 30, 22), end_utc(2026, 10, 31, 23)),
    ("month-madrid-december", utc(2026, 12, 31, 22, 59), "month", MADRID, utc(2026, 11, 30, 23), end_utc(2026, 12, 31, 23)),
    ("quarter-madrid-q1", utc(2026, 2, 15), "quarter", MADRID, utc(2025, 12, 31, 23), end_utc(2026, 3, 31, 22)),
    ("quarter-madrid-q2-after-local-midnight", utc(2026, 3, 31, 22, 30), "quarter", MADRID, utc(2026, 3, 31, 22), end_utc(2026, 6, 30, 22)),
    ("quarter-mexico-q1-before-local-midnight", utc(2026, 4, 1, 5, 30), "quarter", MEXICO, utc(2026, 1, 1, 6), end_utc(2026, 4, 1, 6)),
    ("quarter-madrid-q3", utc(2026, 9, 30, 21, 59), "quarter", MADRID, utc(2026, 6, 30, 22), end_utc(2026, 9, 30, 22)),
    ("quarter-madrid-q4", utc(2026, 10, 15), "quarter", MADRID, utc(2026, 9, 30, 22), end_utc(2026, 12, 31, 23)),
    ("year-madrid", utc(2026, 6, 10), "year", MADRID, utc(2025, 12, 31, 23), end_utc(2026, 12, 31, 23)),
    ("year-madrid-after-local-new-year", utc(2026, 12, 31, 23, 30), "year", MADRID, utc(2026, 12, 31, 23), end_utc(2027, 12, 31, 23)),
    ("year-mexico-before-local-new-year", utc(2027, 1, 1, 5, 30), "year", MEXICO, utc(2026, 1, 1, 6), end_utc(2027, 1, 1, 6)),
    ("year-utc", utc(2026, 12, 31, 23, 59, 59), "year", ZoneInfo("UTC"), utc(2026, 1, 1), end_utc(2027, 1, 1)),
]
# fmt: on


@pytest.mark.parametrize(
    ("at", "period", "tz", "start", "end"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_a_period_runs_from_local_midnight_to_the_last_instant_before_the_next(
    at: datetime, period: Period, tz: ZoneInfo, start: datetime, end: datetime
) -> None:
    got_start, got_end = period_start(at, period, tz), period_end(at, period, tz)
    assert got_start is not None
    assert got_start.astimezone(UTC) == start
    assert got_end.astimezone(UTC) == end
    assert got_start <= at <= got_end


@pytest.mark.parametrize(
    ("at", "period", "tz"), [case[1:4] for case in CASES], ids=[c[0] for c in CASES]
)
def test_periods_are_given_in_the_business_zone_at_local_midnight(
    at: datetime, period: Period, tz: ZoneInfo
) -> None:
    start, end = period_start(at, period, tz), period_end(at, period, tz)
    assert start is not None
    assert start.tzinfo is tz
    assert end.tzinfo is tz
    assert start.time().isoformat() == "00:00:00"
    assert end.time().isoformat() == "23:59:59.999999"


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (utc(2026, 3, 29, 12), 23),
        (utc(2026, 10, 25, 12), 25),
        (utc(2026, 6, 10, 12), 24),
    ],
)
def test_a_day_lasts_as_long_as_the_clocks_say_on_daylight_saving_days(
    day: datetime, hours: int
) -> None:
    start, end = period_start(day, "day", MADRID), period_end(day, "day", MADRID)
    assert start is not None
    assert end.astimezone(UTC) - start.astimezone(UTC) + LAST == timedelta(hours=hours)


@pytest.mark.parametrize("period", ["day", "week", "month", "quarter", "year"])
@pytest.mark.parametrize("tz", [MADRID, MEXICO], ids=["madrid", "mexico"])
def test_the_next_period_starts_one_microsecond_after_the_period_ends(
    period: Period, tz: ZoneInfo
) -> None:
    at = utc(2026, 3, 29, 12)
    start = period_start(at, period, tz)
    assert start is not None
    following = next_period_start(start, period)
    assert following.astimezone(UTC) == period_end(at, period, tz).astimezone(UTC) + LAST
    assert period_start(following, period, tz) == following


def test_a_lifetime_period_has_no_start() -> None:
    assert period_start(utc(2026, 6, 10), "lifetime", MADRID) is None


def test_a_lifetime_period_has_no_end() -> None:
    with pytest.raises(AssertionError, match="lifetime has no end"):
        period_end(utc(2026, 6, 10), "lifetime", MADRID)


# --- expiry --------------------------------------------------------------------------------------


def test_points_that_never_expire_have_no_expiry() -> None:
    assert expiry_for(utc(2026, 6, 10), "never", None, MADRID) is None


@pytest.mark.parametrize(
    ("earned_at", "days", "expected"),
    [
        (utc(2026, 6, 10, 12), 1, utc(2026, 6, 11, 12)),
        (utc(2026, 6, 10, 12), 30, utc(2026, 7, 10, 12)),
        (utc(2026, 12, 31, 23, 59), 1, utc(2027, 1, 1, 23, 59)),
        (utc(2028, 2, 28, 12), 1, utc(2028, 2, 29, 12)),
        (utc(2026, 6, 10, 12), 365, utc(2027, 6, 10, 12)),
        # across the clock change: whole days of 24 hours
        (utc(2026, 3, 28, 12), 2, utc(2026, 3, 30, 12)),
    ],
)
def test_points_that_expire_after_days_expire_that_many_days_later(
    earned_at: datetime, days: int, expected: datetime
) -> None:
    assert expiry_for(earned_at, "days", days, MADRID) == expected


# fmt: off
EXPIRY_CASES: list[tuple[str, datetime, str, ZoneInfo, datetime]] = [
    ("month-madrid", utc(2026, 6, 10), "end_of_month", MADRID, end_utc(2026, 6, 30, 22)),
    ("month-madrid-local-next-month", utc(2026, 6, 30, 22, 30), "end_of_month", MADRID, end_utc(2026, 7, 31, 22)),
    ("month-mexico-local-same-month", utc(2026, 7, 1, 5, 30), "end_of_month", MEXICO, end_utc(2026, 7, 1, 6)),
    ("month-madrid-march-dst", utc(2026, 3, 1), "end_of_month", MADRID, end_utc(2026, 3, 31, 22)),
    ("month-madrid-october-dst", utc(2026, 10, 1), "end_of_month", MADRID, end_utc(2026, 10, 31, 23)),
    ("quarter-madrid", utc(2026, 5, 10), "end_of_quarter", MADRID, end_utc(2026, 6, 30, 22)),
    ("quarter-mexico", utc(2026, 11, 10), "end_of_quarter", MEXICO, end_utc(2027, 1, 1, 6)),
    ("quarter-madrid-local-next-quarter", utc(2026, 3, 31, 22, 30), "end_of_quarter", MADRID, end_utc(2026, 6, 30, 22)),
    ("year-madrid", utc(2026, 1, 1), "end_of_year", MADRID, end_utc(2026, 12, 31, 23)),
    ("year-madrid-local-next-year", utc(2026, 12, 31, 23, 30), "end_of_year", MADRID, end_utc(2027, 12, 31, 23)),
    ("year-mexico-local-same-year", utc(2027, 1, 1, 5, 30), "end_of_year", MEXICO, end_utc(2027, 1, 1, 6)),
]
# fmt: on


@pytest.mark.parametrize(
    ("earned_at", "policy", "tz", "expected"),
    [case[1:] for case in EXPIRY_CASES],
    ids=[case[0] for case in EXPIRY_CASES],
)
def test_points_that_expire_at_a_period_end_expire_at_its_last_local_instant(
    earned_at: datetime, policy: str, tz: ZoneInfo, expected: datetime
) -> None:
    expires = expiry_for(earned_at, policy, None, tz)
    assert expires is not None
    assert expires.astimezone(UTC) == expected
    assert expires.tzinfo is tz
    assert expires.time().isoformat() == "23:59:59.999999"
