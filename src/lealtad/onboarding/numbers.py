"""The numbers of a template an owner may change in the set-up, read off the template itself:
each stamp card's size and its reward's title, the points per unit of money, the cashback
percentage, the tiers' thresholds. `apply` writes the chosen values into the program and the
card rewards; nothing else of the template changes."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from pydantic import ValidationError

from lealtad.errors import Invalid
from lealtad.kit.money import minor_exponent
from lealtad.rewards.schemas import RewardIn, Texts
from lealtad.rules.definition import ProgramDefinition
from lealtad.rules.earn_rule import CashbackPercent, PointsPerUnit
from lealtad.rules.names import name_in
from lealtad.rules.templates import Template

TITLE_MAX = 100


@dataclass(frozen=True)
class Number:
    """One field of the numbers step. `kind`: stamps, title, rate, percent, threshold."""

    key: str
    kind: str
    default: str
    low: Decimal = Decimal(0)
    high: Decimal = Decimal(0)
    thing: str = ""  # the card, rule or tier the number belongs to (its id)
    lang: str = ""  # for a reward title: the language of this title
    money: bool = False  # a threshold in money: typed in whole units of the currency


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def numbers_of(template: Template, currency: str) -> list[Number]:
    """The template's numbers; money in whole units of the business's currency."""
    definition = template.build()
    rewards = {r.slug: r for r in template.rewards}
    out: list[Number] = []
    for card in definition.stamp_cards:
        out.append(
            Number(
                f"stamps_{card.id}",
                "stamps",
                str(card.stamps_required),
                Decimal(1),
                Decimal(100),
                thing=card.id,
            )
        )
        reward = rewards.get(card.reward)
        if reward is not None:
            for lang in ("es", "en"):
                title = reward.title.es if lang == "es" else reward.title.en
                out.append(
                    Number(f"reward_{lang}_{card.id}", "title", title, thing=card.id, lang=lang)
                )
    for rule in definition.rules:
        if rule.trigger != "purchase":
            continue
        if isinstance(rule.action, PointsPerUnit):
            out.append(
                Number(
                    f"rate_{rule.id}",
                    "rate",
                    _plain(rule.action.rate),
                    Decimal("0.0001"),
                    Decimal(1000),
                    thing=rule.id,
                )
            )
        elif isinstance(rule.action, CashbackPercent):
            out.append(
                Number(
                    f"percent_{rule.id}",
                    "percent",
                    _plain(rule.action.percent),
                    Decimal("0.1"),
                    Decimal(50),
                    thing=rule.id,
                )
            )
    if definition.tiers is not None:
        money = definition.tiers.metric == "spend"
        for tier in definition.tiers.levels[1:]:
            value = tier.threshold
            if money:
                value = value.scaleb(-minor_exponent(currency))
            out.append(
                Number(
                    f"tier_{tier.id}",
                    "threshold",
                    _plain(Decimal(value)),
                    Decimal(1),
                    Decimal(10**9),
                    thing=tier.id,
                    money=money,
                )
            )
    return out


def label_parts(template: Template, number: Number, lang: str) -> dict[str, str]:
    """What a number's label names: the card's, rule's or tier's title."""
    definition = template.build()
    things = {c.id: name_in(c, lang) for c in definition.stamp_cards}
    things |= {r.id: name_in(r, lang) for r in definition.rules}
    if definition.tiers is not None:
        things |= {t.id: name_in(t, lang) for t in definition.tiers.levels}
    return {"thing": things.get(number.thing, number.thing)}


class NumberRefused(Invalid):
    """A value of the numbers step out of its range; `key` names the field."""

    def __init__(self, key: str, code: str) -> None:
        super().__init__(f"{key}: {code}", code=code, details={"field": key})
        self.key = key


def read(numbers: list[Number], form: dict[str, str]) -> dict[str, str]:
    """The typed values, checked against each number's range; empty fields keep the default."""
    chosen: dict[str, str] = {}
    for number in numbers:
        raw = (form.get(number.key) or "").strip()
        if not raw:
            raw = number.default
        if number.kind == "title":
            if len(raw) > TITLE_MAX:
                raise NumberRefused(number.key, "too_long")
            chosen[number.key] = raw
            continue
        try:
            value = Decimal(raw.replace(",", "."))
        except InvalidOperation:
            raise NumberRefused(number.key, "not_a_number") from None
        if not value.is_finite() or not number.low <= value <= number.high:
            raise NumberRefused(number.key, "out_of_range")
        if number.kind == "stamps" and value != value.to_integral_value():
            raise NumberRefused(number.key, "not_whole")
        if value.as_tuple().exponent < -4:  # type: ignore[operator]
            raise NumberRefused(number.key, "too_precise")
        chosen[number.key] = _plain(value)
    return chosen


def apply(
    template: Template, chosen: dict[str, str], currency: str
) -> tuple[ProgramDefinition, tuple[RewardIn, ...]]:
    """The template's program and rewards with the owner's numbers."""
    data = template.build().model_dump(mode="python")
    rewards = {r.slug: r for r in template.rewards}
    for card in data["stamp_cards"]:
        stamps = chosen.get(f"stamps_{card['id']}")
        if stamps:
            card["stamps_required"] = int(Decimal(stamps))
        es, en = chosen.get(f"reward_es_{card['id']}"), chosen.get(f"reward_en_{card['id']}")
        reward = rewards.get(card["reward"])
        if reward is not None and (es or en):
            title = Texts(es=es or reward.title.es, en=en or reward.title.en)
            rewards[reward.slug] = reward.model_copy(update={"title": title})
    for rule in data["rules"]:
        action = rule["action"]
        if f"rate_{rule['id']}" in chosen and action["type"] == "points_per_unit":
            action["rate"] = Decimal(chosen[f"rate_{rule['id']}"])
        if f"percent_{rule['id']}" in chosen and action["type"] == "cashback_percent":
            action["percent"] = Decimal(chosen[f"percent_{rule['id']}"])
    if data["tiers"] is not None:
        money = data["tiers"]["metric"] == "spend"
        for tier in data["tiers"]["levels"][1:]:
            typed = chosen.get(f"tier_{tier['id']}")
            if typed:
                value = Decimal(typed)
                if money:
                    value = value.scaleb(minor_exponent(currency)).to_integral_value()
                tier["threshold"] = value
    try:
        definition = ProgramDefinition.model_validate(data)
    except ValidationError:
        raise NumberRefused("tiers", "tiers_not_rising") from None
    return definition, tuple(rewards[r.slug] for r in template.rewards)
