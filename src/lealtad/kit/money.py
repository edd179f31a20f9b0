"""Money as integer minor units plus an ISO 4217 currency; never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from functools import cache
from typing import Literal

from babel.numbers import get_currency_precision, list_currencies

RoundingMode = Literal["floor", "half_up", "ceil"]
_ROUNDING = {"floor": ROUND_FLOOR, "half_up": ROUND_HALF_UP, "ceil": ROUND_CEILING}

# Above this a purchase amount is a typo or an attack, not a sale; it also keeps every sum far
# from the 64-bit limit of both databases.
MAX_MINOR = 10**12


@cache
def known_currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def is_known_currency(code: str) -> bool:
    return code in known_currencies()


@cache
def minor_exponent(currency: str) -> int:
    return int(get_currency_precision(currency))


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str

    def major(self) -> Decimal:
        return Decimal(self.minor).scaleb(-minor_exponent(self.currency))

    def __str__(self) -> str:
        exp = minor_exponent(self.currency)
        return f"{self.major():.{exp}f} {self.currency}"


def round_to_int(value: Decimal, mode: RoundingMode) -> int:
    return int(value.to_integral_value(rounding=_ROUNDING[mode]))
