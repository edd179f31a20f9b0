"""A program read aloud: each rule as a sentence (when, on what condition, what it gives, up to
what cap), stamp cards, tiers, cashback and the points policy, in the page's language; and the
change log's diff lines in the same words."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal

from babel.dates import get_day_names
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal, get_currency_symbol
from pydantic import ValidationError

from lealtad.kit.catalog import ngettext
from lealtad.kit.money import minor_exponent
from lealtad.rules.definition import PointsPolicy, ProgramDefinition, StampCard, TierPolicy
from lealtad.rules.earn_rule import (
    CashbackFixed,
    CashbackPercent,
    Conditions,
    EarnRule,
    FixedPoints,
    InstantReward,
    Multiplier,
    PointsPerUnit,
    Stamps,
)
from lealtad.rules.names import in_phrase, name_in, perks_in, reward_title

Translate = Callable[[str], str]


class Describer:
    def __init__(
        self,
        _: Translate,
        lang: str,
        currency: str,
        locations: dict[int, str],
        rewards: dict[str, dict[str, str]] | None = None,
    ) -> None:
        self._ = _
        self.lang = lang
        self.currency = currency
        self.exponent = minor_exponent(currency)
        self.locations = locations
        # Catalog titles by slug, and the cards of the program being described, by id.
        self.rewards = rewards or {}
        self.cards: dict[str, str] = {}

    def of(self, definition: ProgramDefinition) -> Describer:
        """The describer for this program: its cards named by their titles."""
        self.cards = {c.id: name_in(c, self.lang) for c in definition.stamp_cards}
        return self

    def reward(self, slug: str) -> str:
        """A reward's catalog title; a slug with no catalog entry is shown as the slug, so the
        owner sees what to add to the catalog."""
        return reward_title(self.rewards.get(slug), self.lang) or slug

    def money(self, minor: int | Decimal) -> str:
        return format_currency(
            Decimal(minor).scaleb(-self.exponent), self.currency, locale=self.lang
        )

    def number(self, value: int | Decimal) -> str:
        return format_decimal(value, locale=self.lang)

    def names(self, values: list[str], style: Literal["standard", "or"] = "standard") -> str:
        return format_list(values, style=style, locale=self.lang) if values else ""

    def when(self, rule: EarnRule) -> str:
        _ = self._
        return {
            "purchase": _("On each purchase"),
            "refund": _("On each refund"),
            "enrolment": _("When a member joins"),
            "birthday": _("On the member's birthday"),
            "anniversary": _("On the anniversary of joining"),
            "referral": _("When a referred friend joins or buys"),
            "profile_completed": _("When a member completes their profile"),
            "survey_answered": _("When a member answers a survey"),
            "review_written": _("When a member writes a review"),
            "training_hours": _("For training hours"),
        }.get(rule.trigger) or _("On the event {event}").format(event=rule.event or "")

    def conditions(self, c: Conditions) -> list[str]:
        _ = self._
        out = []
        if c.min_amount is not None:
            out.append(_("of at least {amount}").format(amount=self.money(c.min_amount)))
        if c.items:
            what = [_("category {name}").format(name=n) for n in c.items.categories]
            what += [_("product {sku}").format(sku=s) for s in c.items.skus]
            what += [_("items tagged {tag}").format(tag=t) for t in c.items.tags]
            out.append(
                ngettext(self.lang)(
                    "with at least {quantity} item of {what}",
                    "with at least {quantity} items of {what}",
                    int(c.items.min_quantity)
                    if c.items.min_quantity == int(c.items.min_quantity)
                    else 2,
                ).format(quantity=self.number(c.items.min_quantity), what=self.names(what, "or"))
            )
        if c.locations:
            places = [self.locations.get(i, f"#{i}") for i in c.locations]
            out.append(_("at {places}").format(places=self.names(places, "or")))
        if c.channels:
            labels = {"counter": _("the counter"), "online": _("online"), "api": _("the API")}
            channels = [labels[ch] for ch in c.channels]
            out.append(_("through {channels}").format(channels=self.names(channels, "or")))
        if c.weekdays:
            days = get_day_names("wide", locale=self.lang)
            listed = [str(days[d]) for d in sorted(c.weekdays)]
            out.append(_("on {days}").format(days=self.names(listed, "or")))
        if c.time_window:
            out.append(
                _("between {start} and {end}").format(
                    start=c.time_window.start.strftime("%H:%M"),
                    end=c.time_window.end.strftime("%H:%M"),
                )
            )
        if c.date_range and (c.date_range.start or c.date_range.end):
            start, end = c.date_range.start, c.date_range.end
            if start and end:
                out.append(_("from {start} to {end}").format(start=start, end=end))
            elif start:
                out.append(_("from {start} on").format(start=start))
            else:
                out.append(_("until {end}").format(end=end))
        if c.tiers:
            out.append(_("for members of tier {tiers}").format(tiers=self.names(c.tiers, "or")))
        if c.tags:
            out.append(_("for members tagged {tags}").format(tags=self.names(c.tags, "or")))
        if c.segments:
            segments = self.names(c.segments, "or")
            out.append(_("for members in segment {segments}").format(segments=segments))
        if c.first_purchase:
            out.append(_("on the member's first purchase"))
        if c.every_nth_visit:
            out.append(_("once every {n} visits").format(n=c.every_nth_visit))
        if c.referral_on:
            stage = {
                "signup": _("when the friend joins"),
                "first_purchase": _("on the friend's first purchase"),
                "every_purchase": _("on every purchase of the friend"),
            }[c.referral_on]
            out.append(stage)
        return out

    def action(self, rule: EarnRule) -> str:
        _ = self._
        a = rule.action
        if isinstance(a, PointsPerUnit):
            rounding = {
                "floor": _("rounded down"),
                "half_up": _("rounded to the nearest point"),
                "ceil": _("rounded up"),
            }[a.rounding]
            unit = get_currency_symbol(self.currency, locale=self.lang)
            whole = a.per == "whole_unit"
            if rule.trigger in ("purchase", "refund", "referral"):
                if whole:
                    text = (
                        _("1 point per whole {unit} spent")
                        if a.rate == 1
                        else _("{rate} points per whole {unit} spent")
                    )
                else:
                    text = (
                        _("1 point per {unit} spent")
                        if a.rate == 1
                        else _("{rate} points per {unit} spent")
                    )
                text = text.format(rate=self.number(a.rate), unit=unit)
                if a.per_item:
                    text += " " + _("on the matching items")
            elif a.event_property:
                text = (
                    _("{rate} points per whole unit of the event's {property}")
                    if whole
                    else _("{rate} points per unit of the event's {property}")
                ).format(rate=self.number(a.rate), property=a.event_property)
            else:
                text = (
                    _("{rate} points per whole unit of the event's value")
                    if whole
                    else _("{rate} points per unit of the event's value")
                ).format(rate=self.number(a.rate))
            return f"{text} ({rounding})"
        if isinstance(a, FixedPoints):
            return _("{points} bonus points").format(points=self.number(a.points))
        if isinstance(a, Multiplier):
            return _("the purchase's points multiplied by {factor}").format(
                factor=self.number(a.factor)
            )
        if isinstance(a, Stamps):
            n_ = ngettext(self.lang)
            text = (
                n_("{n} stamp per matching item", "{n} stamps per matching item", a.stamps)
                if a.per_item
                else n_("{n} stamp", "{n} stamps", a.stamps)
            )
            card = in_phrase(self.cards.get(a.card, a.card))
            return (text + " " + _("on the {card} card")).format(n=a.stamps, card=card)
        if isinstance(a, CashbackPercent):
            return _("{percent}% back as cashback").format(percent=self.number(a.percent))
        if isinstance(a, CashbackFixed):
            return _("{amount} of cashback for every {per} spent").format(
                amount=self.money(a.amount), per=self.money(a.per)
            )
        assert isinstance(a, InstantReward)
        return _("the reward {reward} ({n})").format(reward=self.reward(a.reward), n=a.quantity)

    def limits(self, rule: EarnRule) -> list[str]:
        _ = self._
        out = []
        periods = {
            "day": _("per day"),
            "week": _("per week"),
            "month": _("per month"),
            "year": _("per year"),
            "lifetime": _("in total"),
        }
        for cap in rule.caps:
            out.append(
                _("at most {n} per member {period}").format(
                    n=self.number(cap.max_units), period=periods[cap.period]
                )
            )
        if rule.budget is not None:
            out.append(_("while a budget of {n} lasts").format(n=self.number(rule.budget)))
        if rule.award_to == "referrer":
            out.append(_("given to the friend who invited"))
        elif rule.award_to == "both":
            out.append(_("given to both friends"))
        if rule.stacking == "exclusive":
            out.append(_("only when no earlier rule applied, and then alone"))
        if rule.stop_after:
            out.append(_("no later rule applies after it"))
        return out

    def rule(self, rule: EarnRule) -> str:
        head = self.when(rule)
        conditions = self.conditions(rule.conditions)
        if conditions:
            head += " " + ", ".join(conditions)
        text = f"{head}: {self.action(rule)}"
        limits = self.limits(rule)
        if limits:
            text += "; " + "; ".join(limits)
        text += "."
        if not rule.active:
            text += " " + self._("(paused)")
        return text

    def stamp_card(self, card: StampCard) -> str:
        text = ngettext(self.lang)(
            "{name}: {n} stamp fills the card, which gives the reward {reward}.",
            "{name}: {n} stamps fill the card, which gives the reward {reward}.",
            card.stamps_required,
        )
        return text.format(
            name=name_in(card, self.lang), n=card.stamps_required, reward=self.reward(card.reward)
        )

    def threshold(self, policy: TierPolicy, value: Decimal) -> str:
        if policy.metric == "spend":
            return self.money(value)
        units = {
            "visits": self._("visits"),
            "points_earned": self._("points earned"),
            "custom": policy.custom_event or "",
        }
        return f"{self.number(value)} {units[policy.metric]}"

    def tiers(self, policy: TierPolicy) -> list[str]:
        _ = self._
        metric = {
            "spend": _("spend"),
            "visits": _("visits"),
            "points_earned": _("points earned"),
            "custom": _("the event {event}").format(event=policy.custom_event or ""),
        }[policy.metric]
        if policy.window.kind == "rolling":
            window = _("the last {days} days").format(days=policy.window.days)
        else:
            window = {
                "month": _("the calendar month"),
                "quarter": _("the calendar quarter"),
                "year": _("the calendar year"),
            }[policy.window.period]
        lines = [
            _("Tiers by {metric} over {window}; {grace} days of grace before moving down.").format(
                metric=metric, window=window, grace=policy.grace_days
            ),
            _("A purchase that reaches a higher tier earns at the tier it reaches.")
            if policy.crossing_purchase_earns_at == "new_tier"
            else _("A purchase that reaches a higher tier earns at the tier held before it."),
        ]
        for level in policy.levels:
            line = _("{name}: from {threshold}").format(
                name=name_in(level, self.lang), threshold=self.threshold(policy, level.threshold)
            )
            if level.multiplier > 1:
                line += ", " + _("points ×{factor}").format(factor=self.number(level.multiplier))
            if level.perks or level.perk_titles:
                perks = self.names(perks_in(level, self.lang))
                line += "; " + _("perks: {perks}").format(perks=perks)
            lines.append(line)
        return lines

    def cashback(self, definition: ProgramDefinition) -> list[str]:
        _ = self._
        rates = [self.action(r) for r in definition.rules if _gives_cashback(r)]
        minimum = definition.cashback.redemption_minimum
        lines = [_("Cashback earned: {rates}.").format(rates=self.names(rates))] if rates else []
        if rates or minimum:
            lines.append(
                _("Cashback can be spent once it reaches {amount}.").format(
                    amount=self.money(minimum)
                )
                if minimum
                else _("Cashback can be spent from any amount.")
            )
        return lines

    def points(self, policy: PointsPolicy) -> list[str]:
        _ = self._
        lines = [
            {
                "never": _("Points never expire."),
                "days": _("Points expire {days} days after they are earned."),
                "months": _(
                    "Points expire {months} months after they are earned, on the same day "
                    "of the month (the month's last day when it has no such day)."
                ),
                "months_end": _(
                    "Points expire at the end of the month {months} months after the month "
                    "they were earned in."
                ),
                "end_of_month": _("Points expire at the end of the month they were earned in."),
                "end_of_quarter": _("Points expire at the end of the quarter they were earned in."),
                "end_of_year": _("Points expire at the end of the year they were earned in."),
            }[policy.expiry].format(days=policy.expiry_days, months=policy.expiry_months)
        ]
        if policy.pending_days:
            lines.append(
                _("New points can be used after {days} days.").format(days=policy.pending_days)
            )
        if policy.value_per_point:
            lines.append(
                _("Each point is worth {amount} at the till.").format(
                    amount=self.money(policy.value_per_point)
                )
            )
        return lines

    def change(self, change: dict[str, Any]) -> tuple[str, str, str]:
        """(kind, path, what): an added or removed rule reads as its sentence."""
        _ = self._
        kind = {"added": _("added"), "removed": _("removed"), "changed": _("changed")}[
            change["change"]
        ]
        path = str(change["path"])
        if change["change"] == "changed":
            what = _("{before} → {after}").format(
                before=_compact(change.get("before")), after=_compact(change.get("after"))
            )
            return kind, path, what
        value = change.get("after" if change["change"] == "added" else "before")
        if path.startswith("rules.") and path.count(".") == 1 and isinstance(value, dict):
            try:
                return kind, path, self.rule(EarnRule.model_validate(value))
            except ValidationError:
                pass
        return kind, path, _compact(value)


def _gives_cashback(rule: EarnRule) -> bool:
    return isinstance(rule.action, CashbackPercent | CashbackFixed)


def _compact(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= 400 else text[:399] + "…"
