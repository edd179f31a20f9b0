"""A row of an opening-balances file (`lealtad import balances`) as what it brings, or the reason
it cannot: who (member_id, email or card number, current or previous), how many points with when
they were earned and when they expire, stamps on one stamp card, cashback, and the previous system's lifetime totals as of a date
(shown apart, never counted: D68). Nothing here touches
the database; whether the member and the stamp card exist is checked by imports/opening.py."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from typing import Any

from lealtad.imports.model import RANGES, _whole_number
from lealtad.kit.clock import as_utc
from lealtad.kit.dates import FIRST_DAY, LAST_DAY, within

_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?([Zz]|[+-]\d{2}:?\d{2})?"
)
AMOUNTS = ("points", "stamps", "cashback")
LIFETIME = ("lifetime_visits", "lifetime_spend", "lifetime_points")


@dataclass(frozen=True)
class Lifetime:
    """What the previous system counted for the member in total, as of a day of the business's
    calendar; a figure the row does not give is None."""

    as_of: date
    visits: int | None
    spend: int | None  # minor units, as purchases' amounts
    points: int | None

    def shown(self) -> str:
        given = [
            f"{name} {value}"
            for name, value in zip(LIFETIME, (self.visits, self.spend, self.points), strict=True)
            if value is not None
        ]
        return ", ".join(given) + f" as of {self.as_of}"


@dataclass(frozen=True)
class OpeningRow:
    member_id: int | None
    email: str | None
    card_number: str | None
    points: int
    stamps: int
    stamp_card: str | None
    cashback: int
    # Aware UTC; None: when the file is imported.
    earned_at: datetime | None
    expires_at: datetime | None
    lifetime: Lifetime | None = None


def opening(fields: dict[str, Any], zone: tzinfo, now: datetime) -> OpeningRow:
    """The row as an OpeningRow; ValueError with the reason (English / Spanish) otherwise."""
    data = dict(fields)
    for name in AMOUNTS:
        _amount(data, name)
    if "member_id" in data:
        _whole_number(data, "member_id")
    points, stamps, cashback = (int(data.get(n, 0)) for n in AMOUNTS)
    lifetime = _lifetime(data, zone, now)
    if not (points or stamps or cashback or lifetime):
        raise ValueError(
            "nothing to bring: give points, stamps or cashback above 0, or lifetime figures / "
            "nada que traer: indique points, stamps o cashback mayores que 0, o cifras históricas"
        )
    card = _text(data, "stamp_card")
    if stamps and card is None:
        raise ValueError("stamps need a stamp_card (its id) / los sellos necesitan stamp_card")
    if card is not None and not stamps:
        raise ValueError("stamp_card without stamps / stamp_card sin stamps")
    earned_at = when(data, "earned_at", zone)
    expires_at = when(data, "expires_at", zone)
    if earned_at is not None and earned_at > now:
        raise ValueError(
            f"earned_at {data['earned_at']} is in the future / earned_at está en el futuro"
        )
    if expires_at is not None:
        if not (points or cashback):
            raise ValueError(
                "expires_at applies to points and cashback; stamps do not expire here / "
                "expires_at es para points y cashback; los sellos no caducan aquí"
            )
        if expires_at <= (earned_at or now):
            raise ValueError(
                f"expires_at {data['expires_at']} is not after the earning date "
                f"{data.get('earned_at', 'of the import')} / expires_at no es posterior a la "
                "fecha en que se ganaron"
            )
    email, number = _text(data, "email"), _text(data, "card_number")
    member_id = data.get("member_id")
    if member_id is None and email is None and number is None:
        raise ValueError(
            "name the member by member_id, email or card_number / indique el socio por "
            "member_id, email o card_number"
        )
    return OpeningRow(
        member_id=member_id,
        email=email,
        card_number=number,
        points=points,
        stamps=stamps,
        stamp_card=card,
        cashback=cashback,
        earned_at=earned_at,
        expires_at=expires_at,
        lifetime=lifetime,
    )


def _lifetime(data: dict[str, Any], zone: tzinfo, now: datetime) -> Lifetime | None:
    """The lifetime_* columns; their date is a day of the business's calendar (a date-time
    counts as its local day), by default the day of the import, never later."""
    for name in LIFETIME:
        _amount(data, name)
    visits, spend, points = (data.get(n) for n in LIFETIME)
    at = when(data, "lifetime_as_of", zone)
    if visits is None and spend is None and points is None:
        if at is not None:
            raise ValueError(
                "lifetime_as_of without lifetime_spend, lifetime_visits or lifetime_points / "
                "lifetime_as_of sin cifras históricas"
            )
        return None
    today = as_utc(now).astimezone(zone).date()
    as_of = today if at is None else at.astimezone(zone).date()
    if as_of > today:
        raise ValueError(
            f"lifetime_as_of {data['lifetime_as_of']} is in the future / lifetime_as_of está en "
            "el futuro"
        )
    return Lifetime(as_of=as_of, visits=visits, spend=spend, points=points)


def _amount(data: dict[str, Any], name: str) -> None:
    value = data.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{name} must be a whole number / {name} debe ser un número entero")
    if (isinstance(value, int) and value < 0) or (isinstance(value, str) and value.startswith("-")):
        raise ValueError(
            f"{name} is negative ({value}): an opening balance is 0 or more / {name} es "
            "negativo: un saldo inicial es 0 o más"
        )
    assert name in RANGES
    _whole_number(data, name)


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    text = str(value).strip()
    if len(text) > 200:
        raise ValueError(f"{name} is too long / {name} es demasiado largo")
    return text or None


def when(data: dict[str, Any], name: str, zone: tzinfo) -> datetime | None:
    """A day (YYYY-MM-DD: its first moment in the business's zone) or an ISO 8601 date-time
    (UTC without an offset, as everywhere), within the years the API accepts."""
    value = data.get(name)
    if value is None:
        return None
    text = str(value).strip()
    bad = (
        f"{name} must be a date (YYYY-MM-DD) or an ISO 8601 date-time, got {text[:40]!r} / "
        f"{name} debe ser una fecha (AAAA-MM-DD) o una fecha y hora ISO 8601"
    )
    out_of_range = (
        f"{name} {text[:40]} is outside {FIRST_DAY} to {LAST_DAY} / {name} fuera del intervalo"
    )
    try:
        if _DAY.fullmatch(text):
            day = date.fromisoformat(text)
            if not FIRST_DAY <= day <= LAST_DAY:
                raise ValueError(out_of_range)
            return as_utc(datetime.combine(day, time(), tzinfo=zone))
        if _DATE_TIME.fullmatch(text):
            at = datetime.fromisoformat(text.replace("z", "Z"))
            if not within(at):
                raise ValueError(out_of_range)
            return as_utc(at)
    except ValueError as exc:
        if str(exc) == out_of_range:
            raise
        raise ValueError(bad) from None
    except OverflowError:
        raise ValueError(out_of_range) from None
    raise ValueError(bad)
