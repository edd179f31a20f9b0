"""The name of a program thing in a language, the one way every surface says it: rules, stamp
cards and tiers by their titles (or the name the business wrote, for programs without titles),
rewards by their catalog titles, and amounts of the program's units with the language's plural
forms ("1 sello", "2 sellos"), never an id, a slug or "sello(s)"."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from babel.numbers import format_currency, format_decimal

from lealtad.kit.catalog import gettext, ngettext
from lealtad.kit.money import Money
from lealtad.rules.definition import ProgramDefinition, Tier, Titles


class Named(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def title(self) -> Titles | None: ...


def name_in(thing: Named, lang: str) -> str:
    """A rule's, card's or tier's title in the language, else its name."""
    title = thing.title
    text = (title.es if lang == "es" else title.en) if title is not None else ""
    return text or thing.name


def perks_in(tier: Tier, lang: str) -> list[str]:
    if not tier.perk_titles:
        return list(tier.perks)
    return [(t.es if lang == "es" else t.en) or t.en or t.es for t in tier.perk_titles]


def reward_title(titles: Mapping[str, str] | None, lang: str) -> str:
    """A catalog reward's title in the language (the catalog asks for both)."""
    titles = titles or {}
    return str(titles.get(lang) or titles.get("es" if lang == "en" else "en") or "")


@dataclass(frozen=True)
class ProgramNames:
    """The names a page or a message needs, made once from the program and the catalog."""

    lang: str
    currency: str = "EUR"
    rules: Mapping[str, str] = field(default_factory=dict)
    cards: Mapping[str, str] = field(default_factory=dict)
    card_rewards: Mapping[str, str] = field(default_factory=dict)  # card id -> reward slug
    tiers: Mapping[str, str] = field(default_factory=dict)
    rewards: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        definition: ProgramDefinition | None,
        reward_titles: Mapping[str, Mapping[str, str]],
        lang: str,
        currency: str = "EUR",
    ) -> ProgramNames:
        levels = definition.tiers.levels if definition and definition.tiers else []
        cards = definition.stamp_cards if definition else []
        return cls(
            lang,
            currency,
            rules={r.id: name_in(r, lang) for r in (definition.rules if definition else [])},
            cards={c.id: name_in(c, lang) for c in cards},
            card_rewards={c.id: c.reward for c in cards},
            tiers={t.id: name_in(t, lang) for t in levels},
            rewards={slug: reward_title(t, lang) for slug, t in reward_titles.items()},
        )

    def tier(self, tier_id: str | None) -> str:
        if not tier_id:
            return ""
        return self.tiers.get(tier_id) or gettext(self.lang)("a tier no longer in the program")

    def card(self, card_id: str) -> str:
        return self.cards.get(card_id) or gettext(self.lang)("a card no longer in the program")

    def reward(self, slug: str) -> str:
        found = self.rewards.get(slug)
        if found:
            return found
        _ = gettext(self.lang)
        card = next((c for c, r in self.card_rewards.items() if r == slug), None)
        if card is not None:
            return _("The %(card)s card's reward") % {"card": self.card(card)}
        return _("A reward")

    def rule(self, rule_id: str) -> str:
        """A rule by its title; a tier's multiplier ("tier:gold") by the tier's name."""
        if rule_id.startswith("tier:"):
            tier = rule_id.removeprefix("tier:")
            return gettext(self.lang)("%(tier)s tier") % {"tier": self.tier(tier)}
        return self.rules.get(rule_id) or gettext(self.lang)("a rule no longer in the program")

    def count(self, n: int) -> str:
        return format_decimal(n, locale=self.lang)

    def money(self, minor: int) -> str:
        return format_currency(Money(minor, self.currency).major(), self.currency, locale=self.lang)

    def amount(self, unit: str, n: int) -> str:
        """So much of a unit: "12 puntos", "2 sellos", "1,25 € de cashback", "Café gratis"."""
        n_ = ngettext(self.lang)
        values = {"count": self.count(n)}
        if unit == "points":
            return n_("%(count)s point", "%(count)s points", n) % values
        if unit == "points.pending":
            return n_("%(count)s pending point", "%(count)s pending points", n) % values
        if unit == "cashback":
            return gettext(self.lang)("%(money)s cashback") % {"money": self.money(n)}
        if unit.startswith("stamps."):
            return n_("%(count)s stamp", "%(count)s stamps", n) % values
        if unit.startswith("reward."):
            title = self.reward(unit.removeprefix("reward."))
            return title if n == 1 else f"{self.count(n)} × {title}"
        return self.count(n)

    def award(self, unit: str, n: int) -> str:
        """What was earned, said whole: "2 sellos en la tarjeta Café", "12 puntos"."""
        if unit.startswith("stamps."):
            values = {"count": self.count(n), "card": self.card(unit.removeprefix("stamps."))}
            return (
                ngettext(self.lang)(
                    "%(count)s stamp on the card %(card)s",
                    "%(count)s stamps on the card %(card)s",
                    n,
                )
                % values
            )
        return self.amount(unit, n)

    def unit(self, unit: str) -> str:
        """A balance's label: "Puntos", "Tarjeta Café", "Café gratis"."""
        _ = gettext(self.lang)
        labels = {"points": _("Points"), "points.pending": _("Pending points")}
        if unit in labels:
            return labels[unit]
        if unit == "cashback":
            return _("Cashback")
        if unit.startswith("stamps."):
            return self.card(unit.removeprefix("stamps."))
        if unit.startswith("reward."):
            return self.reward(unit.removeprefix("reward."))
        return unit

    def have_of(self, have: int, need: int) -> str:
        """A card's progress: "3 de 10 sellos"."""
        values = {"have": self.count(have), "need": self.count(need)}
        return (
            ngettext(self.lang)("%(have)s of %(need)s stamp", "%(have)s of %(need)s stamps", need)
            % values
        )

    def missing_for(self, unit: str, n: int, reward: str) -> str:
        """What is still needed for a reward: "Te faltan 3 sellos para: Café gratis"."""
        n_ = ngettext(self.lang)
        values = {"count": self.count(n), "reward": reward}
        if unit == "points":
            return (
                n_(
                    "%(count)s more point for: %(reward)s",
                    "%(count)s more points for: %(reward)s",
                    n,
                )
                % values
            )
        if unit.startswith("stamps."):
            return (
                n_(
                    "%(count)s more stamp for: %(reward)s",
                    "%(count)s more stamps for: %(reward)s",
                    n,
                )
                % values
            )
        if unit == "cashback":
            values["count"] = self.money(n)
            return gettext(self.lang)("%(count)s more cashback for: %(reward)s") % values
        return n_("%(count)s more for: %(reward)s", "%(count)s more for: %(reward)s", n) % values
