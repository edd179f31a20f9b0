"""A program as data: the earn rules (earn_rule.py), stamp cards, tiers, cashback and points
policies that a business configures once. Validated here; compiled by rules.compile; stored per
version."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from lealtad.kit.money import RoundingMode
from lealtad.rules.earn_rule import EarnRule, PointsPerUnit, Stamps
from lealtad.rules.program_parts import Compact, Slug, Strict, Titled, Titles


class StampCard(Titled):
    id: Slug
    name: str = Field(min_length=1, max_length=200)
    title: Titles | None = None
    stamps_required: int = Field(ge=1, le=1000)
    reward: Slug = Field(description="the reward a full card gives")


class Tier(Titled):
    id: Slug
    name: str = Field(min_length=1, max_length=100)
    title: Titles | None = None
    threshold: Decimal = Field(
        ge=0,
        le=10**15,
        description="the metric needed to qualify, in the tier policy's metric: spend in minor "
        "units of the business's currency (cents: 50000 is 500.00; the console's editor shows "
        "and takes it in major units), visits as a count, points_earned in points, custom as "
        "the sum of the event's values",
    )
    multiplier: Decimal = Field(default=Decimal(1), ge=1, le=100)
    perks: list[str] = Field(default_factory=list, max_length=50)
    perk_titles: list[Titles] = Field(
        default_factory=list, max_length=50, description="the perks per language, when given"
    )


class TierWindow(Strict):
    kind: Literal["rolling", "calendar"] = "rolling"
    days: int = Field(default=365, ge=1, le=3650, description="for rolling windows")
    period: Literal["month", "quarter", "year"] = Field(default="year", description="calendar")


class TierPolicy(Compact):
    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {
        "crossing_purchase_earns_at": "previous_tier"
    }

    metric: Literal["spend", "visits", "points_earned", "custom"] = Field(
        default="spend",
        description="what the thresholds measure over the window: spend (minor units, net of "
        "refunds), visits (purchases), points_earned, or custom (an event's values summed)",
    )
    custom_event: str | None = Field(default=None, description="the event summed when custom")
    window: TierWindow = Field(default_factory=TierWindow)
    grace_days: int = Field(default=30, ge=0, le=3650)
    levels: list[Tier] = Field(min_length=1, max_length=50)
    crossing_purchase_earns_at: Literal["previous_tier", "new_tier"] = Field(
        default="previous_tier",
        description="the tier a purchase that crosses a threshold earns at: 'previous_tier' "
        "(the tier held before it; the move up counts from the next purchase on) or 'new_tier' "
        "(the tier it qualifies for with this purchase counted, multiplier and tier-only rules "
        "included); 'new_tier' needs the spend or visits metric",
    )

    @model_validator(mode="after")
    def _ordered(self) -> TierPolicy:
        thresholds = [t.threshold for t in self.levels]
        if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
            raise ValueError("tier thresholds must rise strictly, lowest tier first")
        if self.metric == "custom" and not self.custom_event:
            raise ValueError("a custom tier metric names its event")
        if self.crossing_purchase_earns_at == "new_tier" and self.metric not in ("spend", "visits"):
            raise ValueError(
                "crossing_purchase_earns_at 'new_tier' needs the spend or visits metric: "
                "a purchase's own points or events cannot decide the tier it earns at"
            )
        return self


class PointsName(Strict):
    """What the program calls its points, one and many, per language ("estrella"/"estrellas"):
    a stars program says stars to its members, never "points"."""

    one: Titles = Field(default_factory=Titles)
    other: Titles = Field(default_factory=Titles)


Expiry = Literal[
    "never", "days", "months", "months_end", "end_of_month", "end_of_quarter", "end_of_year"
]


class PointsPolicy(Compact):
    LEFT_OUT_AT_DEFAULT: ClassVar[dict[str, object]] = {"expiry_months": None}

    name: PointsName | None = Field(
        default=None, description="what members call the points; 'points' when left out"
    )
    expiry: Expiry = Field(
        default="never",
        description="when earned points expire, in the business's time zone: never; 'days' "
        "after earning (expiry_days); 'months': expiry_months calendar months after earning, "
        "on the same day of the month at the same local time, i.e. on the anniversary of the "
        "earning when the months are a multiple of 12 (2024-01-10 + 24 months = 2026-01-10); "
        "a day the month lacks becomes its last day (31 January + 1 month = 28 or 29 February); "
        "'months_end': at the end of the month expiry_months after the earning's month "
        "(2024-01-10 + 24 = 2026-01-31 23:59:59.999999); or at the end of the month, quarter or "
        "year of the earning",
    )
    expiry_days: int | None = Field(default=None, ge=1, le=36_500)
    expiry_months: int | None = Field(
        default=None, ge=1, le=1200, description="with expiry 'months' or 'months_end'"
    )
    pending_days: int = Field(default=0, ge=0, le=365)
    value_per_point: Decimal = Field(
        default=Decimal(0), ge=0, le=10**6, description="minor units a point is worth at the till"
    )
    pay_min_points: int = Field(default=0, ge=0, le=10**9, description="least points per payment")
    pay_max_points: int | None = Field(
        default=None, ge=1, le=10**9, description="most per purchase"
    )

    @model_validator(mode="after")
    def _days(self) -> PointsPolicy:
        if (self.expiry == "days") != (self.expiry_days is not None):
            raise ValueError("expiry_days goes with expiry 'days', and only with it")
        if (self.expiry in ("months", "months_end")) != (self.expiry_months is not None):
            raise ValueError(
                "expiry_months goes with expiry 'months' or 'months_end', and only with them"
            )
        return self


class CashbackPolicy(Strict):
    redemption_minimum: int = Field(default=0, ge=0, le=10**12, description="minor units")


class ProgramDefinition(Titled):
    name: str = Field(default="Loyalty program", min_length=1, max_length=200)
    title: Titles | None = None
    points: PointsPolicy = Field(default_factory=PointsPolicy)
    cashback: CashbackPolicy = Field(default_factory=CashbackPolicy)
    stamp_cards: list[StampCard] = Field(default_factory=list, max_length=50)
    tiers: TierPolicy | None = None
    rules: list[EarnRule] = Field(default_factory=list, max_length=500)

    @field_validator("rules")
    @classmethod
    def _unique_rules(cls, rules: list[EarnRule]) -> list[EarnRule]:
        ids = [r.id for r in rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rule ids must be unique: {', '.join(duplicates)}")
        return rules

    @model_validator(mode="after")
    def _references(self) -> ProgramDefinition:
        cards = {c.id for c in self.stamp_cards}
        if len(cards) != len(self.stamp_cards):
            raise ValueError("stamp card ids must be unique")
        tiers = {t.id for t in self.tiers.levels} if self.tiers else set()
        if self.tiers and len(tiers) != len(self.tiers.levels):
            raise ValueError("tier ids must be unique")
        for rule in self.rules:
            if isinstance(rule.action, Stamps) and rule.action.card not in cards:
                raise ValueError(f"rule {rule.id}: no stamp card {rule.action.card!r}")
            unknown = set(rule.conditions.tiers) - tiers
            if unknown:
                raise ValueError(f"rule {rule.id}: no tier {', '.join(sorted(unknown))}")
        return self

    def as_json(self) -> dict[str, object]:
        return self.model_dump(mode="json")


def points_per_currency_unit(
    rate: Decimal = Decimal(1), rounding: RoundingMode = "floor"
) -> ProgramDefinition:
    """The simplest program: N points per currency unit on every purchase."""
    return ProgramDefinition(
        rules=[
            EarnRule(
                id="base",
                name="Points per purchase",
                action=PointsPerUnit(rate=rate, rounding=rounding),
            )
        ]
    )
