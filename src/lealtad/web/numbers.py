"""Numbers, percentages and money in the page's language, by Babel: "12,5 %" and "1,80 €" in
Spanish, "12.5%" and "€1.80" in English. The `percent` and `number` filters read the page's
`lang`, so a template writes `{{ share | percent }}` and never formats a number itself."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from lealtad.kit.money import Money
from lealtad.web.times import BABEL_LOCALES


def _locale(lang: str) -> str:
    return BABEL_LOCALES.get(lang, "en_GB")


def percent(fraction: float | Decimal | None, lang: str) -> str:
    """A share (0.5) as a percentage with at most one decimal: "50 %" / "50%"."""
    if fraction is None:
        return "–"
    rounded = round(float(fraction), 3)
    return str(format_percent(rounded, locale=_locale(lang), decimal_quantization=False))


def number(value: float | Decimal | int | None, lang: str) -> str:
    if value is None:
        return "–"
    return str(format_decimal(round(Decimal(str(value)), 2), locale=_locale(lang)))


def money(minor: int, currency: str, lang: str) -> str:
    return str(format_currency(Money(minor, currency).major(), currency, locale=_locale(lang)))


@pass_context
def _percent(context: Context, fraction: float | None) -> str:
    return percent(fraction, str(context.get("lang") or "en"))


@pass_context
def _number(context: Context, value: float | None) -> str:
    return number(value, str(context.get("lang") or "en"))


def install(env: Environment) -> None:
    env.filters["percent"] = _percent
    env.filters["number"] = _number
