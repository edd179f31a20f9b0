"""What `--as-of` means (kit/as_of.py): a date is the last instant of that day in the business's
zone (across a change of clocks too), the business's today is now, a date and time is that
instant (UTC without an offset), and anything after now, or not ISO, is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from lealtad.kit.as_of import AsOfRefused, instant, parse

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # the day Madrid moves its clocks forward


def test_a_date_is_the_end_of_that_day_in_the_business_zone() -> None:
    assert instant(date(2026, 3, 28), "Europe/Madrid", NOW) == datetime(
        2026, 3, 28, 22, 59, 59, 999999, tzinfo=UTC
    )
    assert instant(date(2026, 3, 28), "America/Santiago", NOW) == datetime(
        2026, 3, 29, 2, 59, 59, 999999, tzinfo=UTC
    )
    # 2026-03-29 in Madrid is 23 hours long: it ends at 22:00 UTC, not 23:00.
    later = NOW + timedelta(days=2)
    assert instant(date(2026, 3, 29), "Europe/Madrid", later) == datetime(
        2026, 3, 29, 21, 59, 59, 999999, tzinfo=UTC
    )


def test_the_business_today_is_now_and_tomorrow_is_refused() -> None:
    assert instant(date(2026, 3, 29), "Europe/Madrid", NOW) == NOW
    with pytest.raises(AsOfRefused, match="in the future"):
        instant(date(2026, 3, 30), "Europe/Madrid", NOW)
    # Already the 30th in Auckland: there it is today.
    assert instant(date(2026, 3, 30), "Pacific/Auckland", NOW) == NOW


def test_a_date_and_time_is_that_instant_and_utc_without_an_offset() -> None:
    assert parse("2026-03-01T10:00:00") == datetime(2026, 3, 1, 10, 0)
    assert instant(parse("2026-03-01T10:00:00"), "Europe/Madrid", NOW) == datetime(
        2026, 3, 1, 10, 0, tzinfo=UTC
    )
    assert instant(parse("2026-03-01T10:00:00+01:00"), "Europe/Madrid", NOW) == datetime(
        2026, 3, 1, 9, 0, tzinfo=UTC
    )
    assert instant(parse("2026-03-01T10:00:00Z"), "Europe/Madrid", NOW) == datetime(
        2026, 3, 1, 10, 0, tzinfo=UTC
    )
    with pytest.raises(AsOfRefused, match="in the future"):
        instant(parse("2026-03-29T12:00:01Z"), "Europe/Madrid", NOW)


@pytest.mark.parametrize("text", ["", "next tuesday", "2026-13-01", "2026-02-30", "1700000000"])
def test_anything_else_is_refused_as_no_date(text: str) -> None:
    with pytest.raises(AsOfRefused, match="neither a date"):
        parse(text)


@pytest.mark.parametrize(
    "value", [date(1899, 12, 30), date(1, 1, 1), parse("0001-01-01T00:00:00+01:00")]
)
def test_a_date_out_of_the_platforms_range_is_refused(value: date | datetime) -> None:
    with pytest.raises(AsOfRefused, match="out of range"):
        instant(value, "Europe/Madrid", NOW)
