"""What the set-up's pages say: the steps, each template in plain words with what a customer
gets, the numbers' labels, and refusals that name the field by its label."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal

from lealtad.branding.promise import promise
from lealtad.errors import LealtadError
from lealtad.onboarding.numbers import TITLE_MAX, Number, NumberRefused, label_parts, numbers_of
from lealtad.onboarding.service import STEPS
from lealtad.rules.names import ProgramNames
from lealtad.rules.templates import TEMPLATES, Template
from lealtad.web.admin.settings.business import error_message
from lealtad.web.branding.routes import brand_refusal
from lealtad.web.i18n import translator


def step_titles(lang: str) -> dict[str, str]:
    _ = translator(lang)
    return {
        "business": _("Your business"),
        "program": _("Your program"),
        "numbers": _("Its numbers"),
        "places": _("Places and staff"),
        "review": _("Review and go live"),
    }


@dataclass(frozen=True)
class Choice:
    """A template as a card of the second step."""

    name: str
    title: str
    description: str
    gets: list[str]  # what a customer gets, in plain words


def _names(template: Template, lang: str, currency: str) -> ProgramNames:
    titles = {r.slug: r.title.model_dump() for r in template.rewards}
    return ProgramNames.of(template.build(), titles, lang, currency)


def choices(lang: str, currency: str) -> list[Choice]:
    out = []
    for t in TEMPLATES.values():
        out.append(
            Choice(
                t.name,
                t.title_es if lang == "es" else t.title_en,
                t.description_es if lang == "es" else t.description_en,
                promise(t.build(), _names(t, lang, currency)),
            )
        )
    return out


def template_title(name: str | None, lang: str) -> str:
    t = TEMPLATES.get(name or "")
    if t is None:
        return ""
    return t.title_es if lang == "es" else t.title_en


@dataclass(frozen=True)
class NumberField:
    number: Number
    label: str
    hint: str
    value: str


def number_label(template: Template, number: Number, lang: str, currency: str) -> str:
    _ = translator(lang)
    values = label_parts(template, number, lang) | {"currency": currency}
    labels = {
        "stamps": _("Stamps to fill the %(thing)s card"),
        "rate": _("Points per 1 %(currency)s spent (%(thing)s)"),
        "percent": _("Cashback percentage (%(thing)s)"),
    }
    if number.kind == "title":
        said = _("Reward of a full card, in Spanish")
        if number.lang == "en":
            said = _("Reward of a full card, in English")
        return said
    if number.kind == "threshold":
        if number.money:
            return _("%(thing)s tier from (%(currency)s spent in the period)") % values
        return _("%(thing)s tier from (points earned in the period)") % values
    return labels[number.kind] % values


def number_fields(
    template: Template, currency: str, lang: str, typed: dict[str, str]
) -> list[NumberField]:
    _ = translator(lang)
    out = []
    for number in numbers_of(template, currency):
        hint = ""
        if number.kind != "title":
            hint = _("From %(low)s to %(high)s.") % {
                "low": format_decimal(number.low, locale=lang),
                "high": format_decimal(number.high, locale=lang),
            }
        value = typed.get(number.key, number.default)
        out.append(NumberField(number, number_label(template, number, lang, currency), hint, value))
    return out


def number_refusal(
    template: Template, currency: str, lang: str, exc: NumberRefused
) -> tuple[str, str]:
    """(the field's key, a sentence naming it by its label)."""
    _ = translator(lang)
    if exc.key == "tiers":
        return exc.key, _("Tier thresholds: each tier must start above the one before it.")
    number = next(n for n in numbers_of(template, currency) if n.key == exc.key)
    label = number_label(template, number, lang, currency)
    sentences = {
        "out_of_range": _("enter a number from %(low)s to %(high)s."),
        "not_a_number": _("enter a number."),
        "not_whole": _("enter a whole number."),
        "too_precise": _("use at most 4 decimals."),
        "too_long": _("at most %(max)s characters."),
    }
    values = {
        "low": format_decimal(number.low, locale=lang),
        "high": format_decimal(number.high, locale=lang),
        "max": str(TITLE_MAX),
    }
    return exc.key, f"{label}: {sentences.get(exc.code, _('enter a number.')) % values}"


def business_refusal(lang: str, exc: LealtadError) -> str:
    """A refusal of the first step, naming the field by its label."""
    _ = translator(lang)
    fields = {
        "invalid_name": _("Business name"),
        "unknown_currency": _("Currency"),
        "unknown_timezone": _("Time zone"),
        "unknown_locale": _("Language of the business"),
        "invalid_colour": _("Brand colour"),
    }
    if exc.code == "unknown_currency":
        sentence = _("use a three-letter code such as EUR, USD or MXN.")
        return f"{fields[exc.code]}: {sentence}"
    if exc.code == "currency_fixed":
        sentence = _("the business has recorded sales, so its currency stays.")
        return f"{fields['unknown_currency']}: {sentence}"
    label = fields.get(exc.code) or (_("Logo") if exc.code.startswith("logo_") else "")
    said = brand_refusal(lang, exc)
    return f"{label}: {said}" if label else said


def place_refusal(lang: str, exc: LealtadError, labels: dict[str, str]) -> str:
    said = error_message(lang, exc)
    label = labels.get(exc.code, "")
    return f"{label}: {said}" if label else said


def progress(lang: str, current: str, reached: str) -> list[dict[str, Any]]:
    """The steps as the page's progress list: done, current, or still to come."""
    titles = step_titles(lang)
    last = STEPS.index(reached)
    return [
        {
            "key": key,
            "title": titles[key],
            "number": i + 1,
            "current": key == current,
            "open": i <= last,
        }
        for i, key in enumerate(STEPS)
    ]


def plain(value: Decimal) -> str:
    return format(value.normalize(), "f")
