"""What the poster promises a customer, in plain words, from the program in force: "Join and
your 11th coffee is free", "Join and earn 4 points per £1", "Join and get 10% back". The first
line is the headline; the second says how (the card's reward, the tiers)."""

from __future__ import annotations

from decimal import Decimal

from babel import Locale
from babel.numbers import format_currency, format_percent

from lealtad.kit.catalog import gettext
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import CashbackPercent, PointsPerUnit, Stamps
from lealtad.rules.names import ProgramNames


def ordinal(n: int, lang: str) -> str:
    if lang == "es":
        return f"{n}.º"
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def whole_money(amount: Decimal, currency: str, lang: str) -> str:
    """ "£1", "1 €", "100 $": a round amount without its zero cents."""
    pattern = Locale.parse("en_GB" if lang == "en" else lang).currency_formats["standard"].pattern
    pattern = pattern.split(";")[0].replace(".00", "")
    return format_currency(amount, currency, format=pattern, locale=lang, currency_digits=False)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _purchase_rules(definition: ProgramDefinition) -> list[object]:
    return [r.action for r in definition.rules if r.trigger == "purchase"]


def promise(definition: ProgramDefinition, names: ProgramNames) -> list[str]:
    """[headline, how] in the names' language."""
    lang = names.lang
    _ = gettext(lang)
    actions = _purchase_rules(definition)
    headline, how = _("Join our loyalty program"), _("Free, in a few seconds, from your phone.")
    stamps = next((a for a in actions if isinstance(a, Stamps)), None)
    cashback = next((a for a in actions if isinstance(a, CashbackPercent)), None)
    points = next((a for a in actions if isinstance(a, PointsPerUnit)), None)
    card = next((c for c in definition.stamp_cards if stamps and c.id == stamps.card), None)
    if card is not None:
        what = _lower_first(names.card(card.id))
        headline = _("Join and your %(nth)s %(what)s is free") % {
            "nth": ordinal(card.stamps_required + 1, lang),
            "what": what,
        }
        how = _("%(reward)s when your card has %(count)s stamps.") % {
            "reward": names.reward(card.reward),
            "count": names.count(card.stamps_required),
        }
    elif cashback is not None:
        headline = _("Join and get %(percent)s back on every purchase") % {
            "percent": format_percent(cashback.percent / 100, locale=lang)
        }
    elif points is not None:
        headline = _points_headline(points.rate, names)
    if definition.tiers is not None and card is None:
        levels = [names.tier(t.id) for t in definition.tiers.levels]
        how = _("Levels: %(tiers)s.") % {"tiers": ", ".join(levels)}
    return [headline, how]


def _points_headline(rate: Decimal, names: ProgramNames) -> str:
    """Points per one unit of money, or one point per so much money when a unit earns less."""
    lang = names.lang
    _ = gettext(lang)
    if rate >= 1:
        return _("Join and earn %(points)s per %(money)s") % {
            "points": names.quantity("points", int(rate)),
            "money": whole_money(Decimal(1), names.currency, lang),
        }
    per = (Decimal(1) / rate).quantize(Decimal(1))
    return _("Join and earn %(points)s per %(money)s") % {
        "points": names.quantity("points", 1),
        "money": whole_money(per, names.currency, lang),
    }
