"""The name of a program thing in a language, the one way every surface says it: rules, stamp
cards and tiers by their titles (or the name the business wrote, for programs without titles),
rewards by their catalog titles, and amounts of the program's units with the language's plural
forms ("1 sello", "2 sellos"), never an id, a slug or "sello(s)"."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from babel import Locale
from babel.numbers import format_currency, format_decimal

from lealtad.kit.catalog import gettext, ngettext
from lealtad.kit.money import Money
from lealtad.rules.definition import ProgramDefinition, Tier
from lealtad.rules.program_parts import Titles


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


def _tier_words(lang: str) -> str:
    return gettext(lang)("%(tier)s tier")


_PURCHASE = re.compile(r"^purchase (\S+?)(?:: (.*))?$", re.S)
_REFUND = re.compile(r"^refund of (?:purchase )?(\S+)$")
_REWARD = re.compile(r"^reward ([a-z0-9][a-z0-9_-]*): ")
_CARD = re.compile(r"^(.*) complete: (\d+) x ([a-z0-9][a-z0-9_-]*)$", re.S)
# The word a card's name may carry ("Coffee card", "Tarjeta café") where a sentence says it too.
_CARD_WORD = re.compile(r"^\s*tarjeta\s+|\s+card\s*$", re.I)


def in_phrase(card_name: str) -> str:
    """A card's name for a sentence that says "card" itself ("on the Coffee card", "en la tarjeta
    Café"): without the word its own name may carry, which would read twice."""
    return _CARD_WORD.sub("", card_name) or card_name


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
    card_sizes: Mapping[str, int] = field(default_factory=dict)  # card id -> stamps to fill
    tiers: Mapping[str, str] = field(default_factory=dict)
    rewards: Mapping[str, str] = field(default_factory=dict)
    # What the journal's memos say (rules' and cards' `name`s, as the system wrote them) -> title
    written: Mapping[str, str] = field(default_factory=dict)
    # The program's own word for its points, one and many ("estrella", "estrellas"), if it has one.
    points_words: tuple[str, str] = ("", "")

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
            card_sizes={c.id: c.stamps_required for c in cards},
            tiers={t.id: name_in(t, lang) for t in levels},
            rewards={slug: reward_title(t, lang) for slug, t in reward_titles.items()},
            written={r.name: name_in(r, lang) for r in (definition.rules if definition else [])}
            | {f"{t.name} tier": _tier_words(lang) % {"tier": name_in(t, lang)} for t in levels},
            points_words=_points_words(definition, lang),
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
            return _("The %(card)s card's reward") % {"card": in_phrase(self.card(card))}
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

    def quantity(self, unit: str, n: int) -> str:
        """So much of a unit as a price or a shortfall: "12 puntos", "2 sellos", "1,25 €",
        "1 tarjeta Café completa"."""
        n_ = ngettext(self.lang)
        values = {"count": self.count(n)}
        if unit == "points":
            one, many = self.points_words
            if many:
                word = one if Locale.parse(self.lang).plural_form(n) == "one" else many
                return f"{values['count']} {word}"
            return n_("%(count)s point", "%(count)s points", n) % values
        if unit == "points.pending":
            return n_("%(count)s pending point", "%(count)s pending points", n) % values
        if unit == "cashback":
            return self.money(n)
        if unit.startswith("stamps."):
            return n_("%(count)s stamp", "%(count)s stamps", n) % values
        if unit.startswith("reward."):
            slug = unit.removeprefix("reward.")
            card = next((c for c, r in self.card_rewards.items() if r == slug), None)
            if card is not None:
                values["card"] = in_phrase(self.card(card))
                return (
                    n_("%(count)s full %(card)s card", "%(count)s full %(card)s cards", n) % values
                )
            return f"{self.count(n)} × {self.reward(slug)}"
        return self.count(n)

    def amount(self, unit: str, n: int) -> str:
        """So much of a unit held or earned: "12 puntos", "2 sellos", "1,25 € de cashback",
        "Café gratis" (a reward a full card gave)."""
        if unit == "cashback":
            return gettext(self.lang)("%(money)s cashback") % {"money": self.money(n)}
        if unit.startswith("reward."):
            title = self.reward(unit.removeprefix("reward."))
            return title if n == 1 else f"{self.count(n)} × {title}"
        return self.quantity(unit, n)

    def ready(self, unit: str, n: int) -> str:
        """Full cards' rewards held, said as the counter's member panel says them: "1 premio
        listo: Café gratis"; any other unit as `amount` says it."""
        if not unit.startswith("reward."):
            return self.amount(unit, n)
        count = ngettext(self.lang)("%(count)s reward ready", "%(count)s rewards ready", n)
        title = self.reward(unit.removeprefix("reward."))
        return f"{count % {'count': self.count(n)}}: {title}"

    def shortfall(self, unit: str, n: int, held: Mapping[str, int]) -> tuple[str, int]:
        """What is missing, in what a member collects: a full card's reward as the stamps
        still to get ("2 more stamps"), not as "1 more full card"."""
        slug = unit.removeprefix("reward.")
        card = next((c for c, r in self.card_rewards.items() if r == slug), None)
        if n <= 0 or not unit.startswith("reward.") or card is None:
            return unit, n
        stamps = f"stamps.{card}"
        return stamps, max(1, n * self.card_sizes.get(card, 1) - held.get(stamps, 0))

    def missing(self, unit: str, n: int) -> str:
        """What a member still needs: "Te faltan 3 sellos." / "3 stamps to go."."""
        what = self.quantity(unit, n)
        return ngettext(self.lang)("%(what)s to go.", "%(what)s to go.", n) % {"what": what}

    def missing_for(self, unit: str, n: int, reward: str) -> str:
        """The same for a named reward: "Te faltan 3 sellos para Café gratis"."""
        values = {"what": self.quantity(unit, n), "reward": reward}
        return (
            ngettext(self.lang)("%(what)s to go for %(reward)s", "%(what)s to go for %(reward)s", n)
            % values
        )

    def award(self, unit: str, n: int) -> str:
        """What was earned, said whole: "2 sellos en la tarjeta Café", "2 stamps on the Coffee
        card", "12 puntos"."""
        if unit.startswith("stamps."):
            card = in_phrase(self.card(unit.removeprefix("stamps.")))
            values = {"count": self.count(n), "card": card}
            return (
                ngettext(self.lang)(
                    "%(count)s stamp on the %(card)s card",
                    "%(count)s stamps on the %(card)s card",
                    n,
                )
                % values
            )
        return self.amount(unit, n)

    def unit(self, unit: str) -> str:
        """A balance's label: "Puntos", "Tarjeta Café", "Café gratis"."""
        _ = gettext(self.lang)
        labels = {"points": _("Points"), "points.pending": _("Pending points")}
        if self.points_words[1]:
            labels["points"] = self.points_words[1][:1].upper() + self.points_words[1][1:]
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

    def reasons(self, text: str) -> str:
        """An award's recorded reasons ("Rule name: why; ..."), as the rules' titles: the why
        after each name was written by the system in English."""
        said = []
        for part in text.split("; "):
            name = next((n for n in self.written if part == n or part.startswith(n + ": ")), None)
            said.append(self.written[name] if name is not None else part)
        return "; ".join(said)

    def memo(self, memo: str) -> str:
        """A journal entry's memo in the language: a purchase, a refund, a reward or a full card
        the system wrote; what a person wrote (an adjustment's reason) stays as written."""
        _ = gettext(self.lang)
        if found := _PURCHASE.match(memo):
            said = _("Purchase %(receipt)s") % {"receipt": found.group(1)}
            return f"{said}: {self.reasons(found.group(2))}" if found.group(2) else said
        if found := _REFUND.match(memo):
            return _("Refund of purchase %(receipt)s") % {"receipt": found.group(1)}
        if found := _REWARD.match(memo):
            return _("Reward: %(title)s") % {"title": self.reward(found.group(1))}
        if found := _CARD.match(memo):
            card = next((c for c, r in self.card_rewards.items() if r == found.group(3)), None)
            values = {
                "card": in_phrase(self.card(card) if card else found.group(1)),
                "reward": self.amount(f"reward.{found.group(3)}", int(found.group(2))),
            }
            return _("%(card)s card complete: %(reward)s") % values
        return self.reasons(memo)


def _points_words(definition: ProgramDefinition | None, lang: str) -> tuple[str, str]:
    named = definition.points.name if definition is not None else None
    if named is None:
        return ("", "")
    one = getattr(named.one, lang, "") or named.one.en or named.one.es
    many = getattr(named.other, lang, "") or named.other.en or named.other.es
    return (one or many, many or one)
